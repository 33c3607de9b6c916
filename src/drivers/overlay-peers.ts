// The remote endpoints of overlay networks: per network, what the caller fed
// (kept in memory only) and its kernel form on the network's VXLAN device,
// one neighbour entry (IP → MAC, which the device's ARP proxy answers) and
// one FDB entry (MAC → the peer host's VTEP) per peer. Changes to one
// network run one at a time, so the table and the kernel never disagree
// across an await.
import { InvalidInputError } from '../errors.js';
import {
  batch, fdbDelOp, fdbList, fdbSetOp, isKernelError, neighDelOp, neighList, neighSetOp, NTF, NUD, type Op, type Settled,
} from '../netlink/index.js';
import type { NetworkRecord, OverlayPeer } from '../driver-api/records.js';
import { checkMac, checkText } from '../driver-api/validate.js';
import { cidrContains, formatIP, parseIP } from '../ip/addr.js';

const gone = (e: unknown): boolean => isKernelError(e, 'ENOENT', 'ENODEV');

function firstError(res: readonly Settled<unknown>[], ignore: (e: unknown) => boolean = () => false): Error | undefined {
  for (const r of res) if (!r.ok && !ignore(r.error)) return r.error;
  return undefined;
}

function ipv4(what: string, v: unknown): string {
  if (typeof v !== 'string') throw new InvalidInputError(`invalid ${what}: ${JSON.stringify(v) ?? String(v)} is not a string`);
  let ip;
  try {
    ip = parseIP(v);
  } catch {
    throw new InvalidInputError(`invalid ${what} ${JSON.stringify(v)}: not an IP address`);
  }
  if (ip.family !== 4) throw new InvalidInputError(`invalid ${what} ${v}: IPv6 peers are not supported (overlay networks carry IPv4)`);
  return formatIP(ip);
}

/**
 * A peer as given, checked and in one spelling; refused (InvalidInputError)
 * when the kernel entries it asks for would be wrong on this network: an
 * address outside its subnets or its gateway's (the proxy would answer for
 * the local gateway), or this host's own VTEP (a local endpoint).
 */
export function checkPeer(net: NetworkRecord, peer: unknown, local: string | undefined): OverlayPeer {
  const p = peer as Partial<Record<keyof OverlayPeer, unknown>> | null;
  if (!p || typeof p !== 'object') throw new InvalidInputError('invalid peer: not an object');
  const endpointId = checkText('peer endpointId', p.endpointId);
  if (!endpointId) throw new InvalidInputError('invalid peer: empty endpointId');
  const ip = ipv4(`address of peer ${endpointId}`, p.ip);
  const vtep = ipv4(`vtep of peer ${endpointId}`, p.vtep);
  const mac = checkMac(p.mac).toLowerCase();
  if (!net.pools4.some((pool) => cidrContains(pool.subnet, ip)))
    throw new InvalidInputError(`peer ${endpointId}: ${ip} is not in the subnets of network ${net.name}`);
  if (net.pools4.some((pool) => pool.gateway === ip))
    throw new InvalidInputError(`peer ${endpointId}: ${ip} is the gateway address of network ${net.name}, which every host holds itself`);
  if (vtep === local) throw new InvalidInputError(`peer ${endpointId}: its vtep ${vtep} is this host's advertise address (a local endpoint is no peer)`);
  const out: OverlayPeer = { endpointId, ip, mac, vtep };
  if (p.name !== undefined) out.name = checkText(`name of peer ${endpointId}`, p.name);
  return out;
}

export class OverlayPeers {
  /** Per network: peers by endpoint ID. No two share an IP or a MAC. */
  private readonly tables = new Map<string, Map<string, OverlayPeer>>();
  private readonly queues = new Map<string, Promise<unknown>>();

  private table(netId: string): Map<string, OverlayPeer> {
    let t = this.tables.get(netId);
    if (!t) this.tables.set(netId, (t = new Map()));
    return t;
  }

  /** One change at a time per network. */
  private serial<T>(netId: string, fn: () => Promise<T>): Promise<T> {
    const next = (this.queues.get(netId) ?? Promise.resolve()).then(fn, fn);
    const tail = next.then(() => undefined, () => undefined);
    this.queues.set(netId, tail);
    void tail.then(() => {
      if (this.queues.get(netId) === tail) this.queues.delete(netId);
    });
    return next;
  }

  list(netId: string): OverlayPeer[] {
    return [...(this.tables.get(netId)?.values() ?? [])].map((p) => ({ ...p }));
  }

  forget(netId: string): void {
    this.tables.delete(netId);
  }

  /**
   * Programs `p` on device `dev`, replacing what was programmed for its
   * endpoint ID and for any other endpoint on its IP or MAC: the newest word
   * wins, so a late removal of an address's previous holder changes nothing.
   * On failure the kernel is put back as it was.
   */
  add(netId: string, dev: number, p: OverlayPeer): Promise<void> {
    return this.serial(netId, async () => {
      const table = this.table(netId);
      const displaced = [...table.values()].filter((o) => o.endpointId === p.endpointId || o.ip === p.ip || o.mac === p.mac);
      const res = await batch([neighSetOp(undefined, dev, p.ip, p.mac), fdbSetOp(undefined, dev, p.mac, { dst: p.vtep })]);
      const failed = firstError(res);
      if (failed) {
        const was = { ip: displaced.find((o) => o.ip === p.ip), mac: displaced.find((o) => o.mac === p.mac) };
        const back: Op<unknown>[] = [];
        if (res[0]?.ok) back.push(was.ip ? neighSetOp(undefined, dev, was.ip.ip, was.ip.mac) : neighDelOp(undefined, dev, p.ip));
        if (res[1]?.ok) back.push(was.mac ? fdbSetOp(undefined, dev, was.mac.mac, { dst: was.mac.vtep }) : fdbDelOp(undefined, dev, p.mac));
        await batch(back);
        throw failed;
      }
      // What the displaced peers had that `p` did not overwrite.
      const stale: Op<unknown>[] = [];
      for (const o of displaced) {
        if (o.ip !== p.ip) stale.push(neighDelOp(undefined, dev, o.ip));
        if (o.mac !== p.mac) stale.push(fdbDelOp(undefined, dev, o.mac));
        table.delete(o.endpointId);
      }
      table.set(p.endpointId, { ...p });
      if (stale.length) {
        const e = firstError(await batch(stale), gone);
        if (e) throw e;
      }
    });
  }

  /** Unprograms the peer with this endpoint ID, if any; `dev` undefined: the device is gone, only forget it. */
  delete(netId: string, dev: number | undefined, endpointId: string): Promise<void> {
    return this.serial(netId, async () => {
      const table = this.table(netId);
      const o = table.get(endpointId);
      if (!o) return;
      if (dev !== undefined) {
        const e = firstError(await batch([neighDelOp(undefined, dev, o.ip), fdbDelOp(undefined, dev, o.mac)]), gone);
        if (e) throw e;
      }
      table.delete(endpointId);
    });
  }

  /**
   * Makes device `dev`'s static entries exactly the table's: after a
   * restart the table is empty until the caller feeds it again, and entries
   * of peers that left meanwhile must not linger.
   */
  converge(netId: string, dev: number): Promise<void> {
    return this.serial(netId, async () => {
      const peers = [...this.table(netId).values()];
      const wantMac = new Map(peers.map((p) => [p.ip, p.mac]));
      const wantDst = new Map(peers.map((p) => [p.mac, p.vtep]));
      const [neighs, fdb] = await Promise.all([neighList(undefined, { index: dev }), fdbList(undefined, dev)]);
      const remotes = new Map<string, string[]>();
      for (const e of fdb) if (e.flags & NTF.SELF) remotes.set(e.mac, [...(remotes.get(e.mac) ?? []), e.dst ?? '']);
      const ops: Op<unknown>[] = [
        ...neighs.filter((n) => n.state & NUD.PERMANENT && n.ip && wantMac.get(n.ip) !== n.mac).map((n) => neighDelOp(undefined, dev, n.ip)),
        ...[...remotes].filter(([mac, dsts]) => !(dsts.length === 1 && dsts[0] === wantDst.get(mac))).map(([mac]) => fdbDelOp(undefined, dev, mac)),
        ...peers.flatMap((p) => [neighSetOp(undefined, dev, p.ip, p.mac), fdbSetOp(undefined, dev, p.mac, { dst: p.vtep })]),
      ];
      if (!ops.length) return;
      const e = firstError(await batch(ops), gone);
      if (e) throw e;
    });
  }
}
