// The default route through a network's gateway, as every driver with
// addresses programs it: added with the join, moved by the gateway election
// and on failover; one family at a time where the families' gateways differ.
import { routeAdd, routeAddOp, routeDel, routeReplace, type Netns, type Op } from '../netlink/index.js';
import type { RouteChange, RouteFamilies } from './driver.js';
import type { EndpointRecord, NetworkRecord } from './records.js';

export const NO_ROUTES: RouteFamilies = { v4: false, v6: false };

const gateways = (net: NetworkRecord) => ({ gw4: net.pools4[0]?.gateway, gw6: net.pools6[0]?.gateway });

/** The gateways a join's default routes of `families` go through: none on an internal network. */
export function defaultGateways(net: NetworkRecord, families: RouteFamilies): { gw4?: string; gw6?: string } {
  if (net.internal) return {};
  const { gw4, gw6 } = gateways(net);
  return { ...(gw4 && families.v4 ? { gw4 } : {}), ...(gw6 && families.v6 ? { gw6 } : {}) };
}

/** Requests adding the default route(s) of `families` via `dev` inside `ns`; none on an internal network. */
export function defaultRouteOps(net: NetworkRecord, ns: Netns | undefined, dev: number, families: RouteFamilies): Op<unknown>[] {
  const { gw4, gw6 } = defaultGateways(net, families);
  const ops: Op<unknown>[] = [];
  if (gw4) ops.push(routeAddOp(ns, { dst: 'default', gateway: gw4, dev }));
  if (gw6) ops.push(routeAddOp(ns, { dst: 'default', family: 6, gateway: gw6, dev }));
  return ops;
}

const routeChanges = { replace: routeReplace, add: routeAdd, remove: routeDel } as const;

/**
 * Moves the sandbox's default route(s) of `families` onto this endpoint's
 * interface (`change`, see RouteChange): a replace, so the route leaves its
 * old holder in the same request; an add, which the kernel refuses (EEXIST)
 * where the sandbox already has a default route of the same metric, e.g. one
 * the container set; or the removal of the route through this endpoint.
 */
export async function moveDefaultRoute(net: NetworkRecord, ep: EndpointRecord, ns: Netns | undefined, families: RouteFamilies, change: RouteChange = 'replace'): Promise<void> {
  if (net.internal || ep.peerIndex === undefined) return;
  const dev = ep.peerIndex;
  const { gw4, gw6 } = gateways(net);
  const set = routeChanges[change];
  if (gw4 && families.v4) await set(ns, { dst: 'default', gateway: gw4, dev });
  if (gw6 && families.v6) await set(ns, { dst: 'default', family: 6, gateway: gw6, dev });
}
