// Start-up reconciliation (libnetwork's reservePools + sandboxRestore +
// cleanupLocalEndpoints + networkCleanup): rebuild IPAM from the store, keep
// the sandboxes the caller names as active if their kernel objects are still
// there, remove the rest, and remove kernel objects nsnet made that the store
// no longer knows.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { hostNamespacePath } from './host-namespace.js';
import {
  addrList, isKernelError, linkDel, linkGet, linkList, linkSetOp, batch, netnsDelete, netnsOpen, Netns,
} from '../netlink/index.js';
import { normCidr } from '../ip/addr.js';
import { defaultRouteOps } from '../driver-api/default-route.js';
import { holdsDefaultRoute, type Driver, type EndpointRecord, type NetworkRecord, type Ownership, type SandboxRecord } from '../driver-api/index.js';
import type { Ipam } from '../ipam/index.js';
import type { Store } from '../store/store.js';
import { replayPools } from './ipam-config.js';
import type { LinkReaper } from './reaper.js';
import type { LiveSandbox } from './state.js';

/** What restore needs of the controller, and no more. */
export interface RestoreHost {
  readonly store: Store;
  readonly ipam: Ipam;
  readonly ownership: Ownership;
  readonly reaper: LinkReaper;
  readonly runDir: string;
  readonly drivers: ReadonlyMap<string, Driver>;
  readonly nets: Map<string, NetworkRecord>;
  readonly eps: Map<string, EndpointRecord>;
  readonly sbs: Map<string, LiveSandbox>;
  driver(type: string): Driver;
  destroyLocked(s: LiveSandbox): Promise<void>;
  deleteEndpoint(id: string): Promise<void>;
}

export interface RestoreReport {
  keptSandboxes: string[];
  removedSandboxes: string[];
  removedEndpoints: string[];
  sweptLinks: string[];
  sweptNamespaces: string[];
  errors: string[];
}

export async function restoreController(c: RestoreHost, active: Set<string>): Promise<RestoreReport> {
  const report: RestoreReport = { keptSandboxes: [], removedSandboxes: [], removedEndpoints: [], sweptLinks: [], sweptNamespaces: [], errors: [] };
  const note = (what: string, e: unknown) => report.errors.push(`${what}: ${(e as Error).message}`);

  // 1. Networks: pools, gateways, aux addresses, serial cursors; kernel objects.
  const cursors = new Map(c.store.all<{ poolId?: string; cursor: string }>('cursor').map((x) => [x.poolId, x.cursor]));
  for (const net of c.store.all<NetworkRecord>('network')) {
    try {
      replayPools(c.ipam, net.pools4, false);
      replayPools(c.ipam, net.pools6, true);
      for (const p of [...net.pools4, ...net.pools6]) {
        const cur = cursors.get(p.poolId);
        if (cur) c.ipam.setCursor(p.poolId, cur);
      }
      c.nets.set(net.id, net);
      await c.driver(net.driver).restoreNetwork(net);
    } catch (e) {
      note(`network ${net.name}`, e);
    }
  }

  // 2. Endpoints: their addresses.
  for (const ep of c.store.all<EndpointRecord>('endpoint')) {
    try {
      if (ep.poolId4 && ep.ipv4) c.ipam.requestAddress(ep.poolId4, { address: ep.ipv4.split('/')[0]! });
      if (ep.poolId6 && ep.ipv6) c.ipam.requestAddress(ep.poolId6, { address: ep.ipv6.split('/')[0]! });
      c.eps.set(ep.id, ep);
    } catch (e) {
      note(`endpoint ${ep.name}`, e);
      c.store.delete('endpoint', ep.id);
    }
  }

  // 3. Sandboxes: keep the live active ones, remove the rest.
  for (const rec of c.store.all<SandboxRecord>('sandbox')) {
    const live: LiveSandbox = { rec, ns: undefined, lock: Promise.resolve() };
    if (!rec.host && rec.key) live.ns = new Netns(rec.key, rec.ino);
    // A host sandbox's key named the process that made it (records from before hostNamespacePath).
    if (rec.host) rec.key = hostNamespacePath();
    c.sbs.set(rec.id, live);
    const wanted = active.has(rec.id) || active.has(rec.containerId);
    if (wanted && (await sandboxIntact(c, rec))) {
      report.keptSandboxes.push(rec.id);
      continue;
    }
    try {
      await c.destroyLocked(live);
    } catch (e) {
      note(`stale sandbox ${rec.id.slice(0, 12)}`, e);
      c.sbs.delete(rec.id);
      c.store.delete('sandbox', rec.id);
    }
    report.removedSandboxes.push(rec.id);
  }

  // 4. Endpoints not joined to a kept sandbox go (libnetwork's cleanupLocalEndpoints).
  for (const ep of [...c.eps.values()]) {
    if (ep.sandboxId && c.sbs.has(ep.sandboxId)) continue;
    delete ep.sandboxId;
    await c.deleteEndpoint(ep.id).catch((e: unknown) => note(`endpoint ${ep.name}`, e));
    report.removedEndpoints.push(ep.id);
  }

  // 5. Kernel objects nsnet made that the store does not know.
  await sweepKernel(c, report).catch((e: unknown) => note('kernel sweep', e));

  // 6. Default routes, as the records have them. A crash between a connect's
  // route move and its record leaves the route on an interface the steps
  // above deleted (the endpoint was never recorded as joined): the holders
  // the records name get theirs back. Added only where none is (EEXIST is
  // fine): a route the container set itself (a VPN's, say) stays. Every
  // kept sandbox's in one crossing.
  const routes = report.keptSandboxes.flatMap((id) => {
    const s = c.sbs.get(id);
    if (!s || s.rec.host) return [];
    return s.rec.endpoints.flatMap((epId) => {
      const ep = c.eps.get(epId);
      const net = ep && c.nets.get(ep.networkId);
      if (!ep || !net || ep.peerIndex === undefined) return [];
      return defaultRouteOps(net, s.ns, ep.peerIndex, { v4: holdsDefaultRoute(ep, 4), v6: holdsDefaultRoute(ep, 6) }).map((op) => ({ id, op }));
    });
  });
  if (routes.length) {
    for (const [k, r] of (await batch(routes.map((x) => x.op))).entries()) {
      if (!r.ok && !isKernelError(r.error, 'EEXIST')) note(`default route of sandbox ${routes[k]!.id.slice(0, 12)}`, r.error);
    }
  }

  // 7. State that spans networks (the bridge's firewall, which overlay
  // networks share), rebuilt from the records: each driver picks the
  // networks it serves. A firewall that cannot be rebuilt fails the start:
  // running on with rules nsnet cannot vouch for would be failing open.
  const nets = [...c.nets.values()];
  const joined = [...c.eps.values()].filter((e) => e.sandboxId);
  for (const d of c.drivers.values())
    await d.restored?.(nets, joined)
      .catch((e: unknown) => {
        if ((e as { code?: unknown }).code === 'EFIREWALL') throw e;
        note(`${d.type} driver`, e);
      });
  return report;
}

async function sandboxIntact(c: RestoreHost, rec: SandboxRecord): Promise<boolean> {
  try {
    if (rec.host) return true;
    const ns = await netnsOpen(rec.key);
    if (ns.ino !== rec.ino) return false;
    for (const id of rec.endpoints) {
      const ep = c.eps.get(id);
      if (!ep) return false;
      const net = c.nets.get(ep.networkId);
      if (!net || !['bridge', 'overlay', 'macvlan'].includes(net.driver)) continue;
      const inside = await linkGet(ns, ep.peerIndex ?? ep.ifname!);
      if (inside.name !== ep.ifname) return false;
      // Down and without its address: a leave the crash cut short. Down
      // alone may be the container's own doing, and is left to it.
      if (!inside.up && (ep.ipv4 || ep.ipv6)) {
        const have = new Set((await addrList(ns, { index: inside.index })).map((a) => normCidr(a.cidr)));
        if ((ep.ipv4 && !have.has(normCidr(ep.ipv4))) || (ep.ipv6 && !have.has(normCidr(ep.ipv6)))) return false;
      }
      // A macvlan has no host end: its container end is all there is.
      if (net.driver === 'macvlan') continue;
      if (!ep.hostIfname) return false;
      // A crash between a leave's kernel work and its store write leaves the
      // host end in the dead group, which the sweep below deletes: such a
      // sandbox is not intact, whatever its record says.
      if ((await linkGet(undefined, ep.hostIfname)).group !== c.ownership.live) return false;
    }
    return true;
  } catch {
    return false;
  }
}

async function sweepKernel(c: RestoreHost, report: RestoreReport): Promise<void> {
  const own = c.ownership;
  const knownHostEnds = new Set([...c.eps.values()].map((e) => e.hostIfname).filter(Boolean));
  const knownNets = new Set(c.nets.keys());
  const links = await linkList(undefined);
  const strays = links.filter((l) => l.group === own.live && !knownHostEnds.has(l.name));
  if (strays.length) {
    await batch(strays.map((l) => linkSetOp(undefined, l.index, { up: false, group: own.dead })));
    report.sweptLinks.push(...strays.map((l) => l.name));
  }
  // Dead links of this controller, from now or from before a crash.
  if (strays.length || links.some((l) => l.group === own.dead)) {
    c.reaper.bury();
    await c.reaper.flush().catch((e: unknown) => {
      if (!(isKernelError(e) && e.code === 'ENODEV')) throw e;
    });
  }
  for (const l of links) {
    const netId = own.parseBridgeAlias(l.alias);
    // Made here and never marked (a crash between its creation and its alias): no network has it.
    const unmarked = l.group === own.made && !l.alias;
    if (unmarked || (netId && !knownNets.has(netId))) {
      await linkDel(undefined, l.index).catch(() => undefined);
      report.sweptLinks.push(l.name);
    }
  }
  const keys = new Set([...c.sbs.values()].map((s) => s.rec.key));
  let entries: string[] = [];
  try { entries = readdirSync(c.runDir); } catch { /* no run dir yet */ }
  for (const name of entries) {
    const path = join(c.runDir, name);
    if (!name.startsWith(own.netnsPrefix) || keys.has(path)) continue;
    try {
      await netnsDelete(await netnsOpen(path));
    } catch {
      // A file whose namespace is already gone: just unmount-less unlink it via delete with no inode check.
      await netnsDelete(new Netns(path, 0)).catch(() => undefined);
    }
    report.sweptNamespaces.push(name);
  }
}
