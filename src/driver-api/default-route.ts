// The default route through a network's gateway, as every driver with
// addresses programs it: added with the join, moved on gateway failover.
import { routeAddOp, routeDel, routeReplace, type Netns, type Op } from '../netlink/index.js';
import type { RouteFamilies } from './driver.js';
import type { EndpointRecord, NetworkRecord } from './records.js';

const BOTH: RouteFamilies = { v4: true, v6: true };

const gateways = (net: NetworkRecord) => ({ gw4: net.pools4[0]?.gateway, gw6: net.pools6[0]?.gateway });

/** Requests adding the default route(s) of `families` via `dev` inside `ns`; none on an internal network. */
export function defaultRouteOps(net: NetworkRecord, ns: Netns | undefined, dev: number, families: RouteFamilies = BOTH): Op<unknown>[] {
  if (net.internal) return [];
  const { gw4, gw6 } = gateways(net);
  const ops: Op<unknown>[] = [];
  if (gw4 && families.v4) ops.push(routeAddOp(ns, { dst: 'default', gateway: gw4, dev }));
  if (gw6 && families.v6) ops.push(routeAddOp(ns, { dst: 'default', family: 6, gateway: gw6, dev }));
  return ops;
}

/** Moves the sandbox's default route(s) of `families` onto (or off) this endpoint's interface. */
export async function setDefaultRoute(net: NetworkRecord, ep: EndpointRecord, ns: Netns | undefined, on: boolean,
  families: RouteFamilies = BOTH): Promise<void> {
  if (net.internal || ep.peerIndex === undefined) return;
  const dev = ep.peerIndex;
  const { gw4: g4, gw6: g6 } = gateways(net);
  const [gw4, gw6] = [families.v4 ? g4 : undefined, families.v6 ? g6 : undefined];
  if (on) {
    if (gw4) await routeReplace(ns, { dst: 'default', gateway: gw4, dev });
    if (gw6) await routeReplace(ns, { dst: 'default', family: 6, gateway: gw6, dev });
  } else {
    if (gw4) await routeDel(ns, { dst: 'default', gateway: gw4, dev }).catch(() => undefined);
    if (gw6) await routeDel(ns, { dst: 'default', family: 6, gateway: gw6, dev }).catch(() => undefined);
  }
}
