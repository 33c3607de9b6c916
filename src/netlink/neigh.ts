// Neighbour entries (`ip neigh`) and a device's own forwarding database
// (`bridge fdb … self`), both RTM_*NEIGH messages: the first in the IPv4/IPv6
// neighbour tables, the second in family AF_BRIDGE. What an overlay's VXLAN
// device needs per remote endpoint: IP → MAC (answered by its ARP proxy) and
// MAC → remote VTEP.
import { InvalidInputError } from '../errors.js';
import { formatIP, ipBytes, ipFromBytes, parseIP } from '../ip/addr.js';
import { AF, NDA, NLM_F, NTF, NUD, RTM } from './constants.js';
import { attrs, attrU32, MessageBuilder, messages } from './message.js';
import type { Netns } from './netns.js';
import { ack, rtnlOp, run, type Op } from './request.js';
import { checkU32, formatMac, parseMac } from './validate.js';

/** The state and flag bits Neigh and FdbEntry report. */
export { NTF, NUD } from './constants.js';

export interface Neigh {
  index: number;
  family: 4 | 6;
  ip: string;
  mac?: string;
  /** NUD_* bits (NUD.PERMANENT for static entries). */
  state: number;
  /** NTF_* bits. */
  flags: number;
}

export interface FdbEntry {
  index: number;
  mac: string;
  /** The remote (VTEP) a VXLAN device sends this MAC's frames to. */
  dst?: string;
  state: number;
  /** NTF_* bits: NTF.SELF for the device's own table, NTF.MASTER for its bridge's. */
  flags: number;
  /** The bridge, for entries of the bridge's table. */
  master?: number;
  vni?: number;
}

/** struct ndmsg: family, pad, ifindex, state, flags, type (12 bytes). */
function ndmsg(m: MessageBuilder, family: number, index: number, state = 0, flags = 0): MessageBuilder {
  return m.struct(12, (b, at) => {
    b.writeUInt8(family, at);
    b.writeInt32LE(index, at + 4);
    b.writeUInt16LE(state, at + 8);
    b.writeUInt8(flags, at + 10);
  });
}

function deviceIndex(index: number): number {
  checkU32('ifindex', index);
  if (!index) throw new InvalidInputError('neighbour and fdb operations need an ifindex');
  return index;
}

/** The address of a neighbour or a remote VTEP, as the kernel takes it. */
function ipAttr(text: string): { family: number; raw: Buffer } {
  const ip = parseIP(text);
  return { family: ip.family === 4 ? AF.INET : AF.INET6, raw: ipBytes(ip) };
}

// ---- neighbours -------------------------------------------------------------

/** `ip neigh replace IP lladdr MAC dev DEV nud permanent`: creates or replaces the entry. */
export function neighSetOp(ns: Netns | undefined, index: number, ip: string, mac: string): Op<undefined> {
  const dst = ipAttr(ip);
  const m = ndmsg(new MessageBuilder(RTM.NEWNEIGH, NLM_F.CREATE | NLM_F.REPLACE), dst.family, deviceIndex(index), NUD.PERMANENT);
  m.attr(NDA.DST, dst.raw).attr(NDA.LLADDR, parseMac(mac));
  return rtnlOp(`neighSet ${ip}`, ns, m, ack);
}

/** `ip neigh del IP dev DEV` (ENOENT when there is none). */
export function neighDelOp(ns: Netns | undefined, index: number, ip: string): Op<undefined> {
  const dst = ipAttr(ip);
  const m = ndmsg(new MessageBuilder(RTM.DELNEIGH, 0), dst.family, deviceIndex(index)).attr(NDA.DST, dst.raw);
  return rtnlOp(`neighDel ${ip}`, ns, m, ack);
}

/** The ndmsg header and attributes of a neighbour or fdb message. */
function ndmOf(body: Buffer) {
  return { a: attrs(body, 12), family: body.readUInt8(0), index: body.readInt32LE(4), state: body.readUInt16LE(8), flags: body.readUInt8(10) };
}
const addrOf = (raw: Buffer | undefined): string | undefined => (raw && (raw.length === 4 || raw.length === 16) ? formatIP(ipFromBytes(raw)) : undefined);
const macOf = (raw: Buffer | undefined): string | undefined => (raw && raw.length === 6 ? formatMac(raw) : undefined);

export function parseNeigh(body: Buffer): Neigh {
  const { a, family, index, state, flags } = ndmOf(body);
  const n: Neigh = { index, family: family === AF.INET6 ? 6 : 4, ip: addrOf(a.get(NDA.DST)) ?? '', state, flags };
  const mac = macOf(a.get(NDA.LLADDR));
  if (mac) n.mac = mac;
  return n;
}

/** `ip neigh show [dev DEV]` for one family (default IPv4). */
export function neighListOp(ns: Netns | undefined, filter: { index?: number; family?: 4 | 6 } = {}): Op<Neigh[]> {
  const family = filter.family === 6 ? AF.INET6 : AF.INET;
  const m = ndmsg(new MessageBuilder(RTM.GETNEIGH, NLM_F.DUMP), family, 0);
  if (filter.index !== undefined) m.u32(NDA.IFINDEX, deviceIndex(filter.index));
  return rtnlOp('neighList', ns, m, (b) =>
    [...messages(b)]
      .filter((x) => x.type === RTM.NEWNEIGH && x.body.readUInt8(0) === family)
      .map((x) => parseNeigh(x.body))
      .filter((x) => filter.index === undefined || x.index === filter.index));
}

// ---- forwarding database ------------------------------------------------------

export interface FdbOptions {
  /** The remote VTEP (a VXLAN device's NDA_DST). */
  dst?: string;
  /** Add one more remote to the MAC (`bridge fdb append`) instead of replacing its remote. */
  append?: boolean;
}

/**
 * `bridge fdb replace MAC dev DEV [dst IP] self permanent` (or `append`): an
 * entry in the device's own table (NTF_SELF), not in its bridge's.
 */
export function fdbSetOp(ns: Netns | undefined, index: number, mac: string, o: FdbOptions = {}): Op<undefined> {
  const flags = NLM_F.CREATE | (o.append ? NLM_F.APPEND : NLM_F.REPLACE);
  const m = ndmsg(new MessageBuilder(RTM.NEWNEIGH, flags), AF.BRIDGE, deviceIndex(index), NUD.PERMANENT, NTF.SELF);
  m.attr(NDA.LLADDR, parseMac(mac));
  if (o.dst !== undefined) m.attr(NDA.DST, ipAttr(o.dst).raw);
  return rtnlOp(`fdbSet ${mac}`, ns, m, ack);
}

/** `bridge fdb del MAC dev DEV [dst IP] self`: without dst, the MAC's entry with all its remotes (ENOENT when there is none). */
export function fdbDelOp(ns: Netns | undefined, index: number, mac: string, o: { dst?: string } = {}): Op<undefined> {
  const m = ndmsg(new MessageBuilder(RTM.DELNEIGH, 0), AF.BRIDGE, deviceIndex(index), 0, NTF.SELF);
  m.attr(NDA.LLADDR, parseMac(mac));
  if (o.dst !== undefined) m.attr(NDA.DST, ipAttr(o.dst).raw);
  return rtnlOp(`fdbDel ${mac}`, ns, m, ack);
}

export function parseFdb(body: Buffer): FdbEntry {
  const { a, index, state, flags } = ndmOf(body);
  const e: FdbEntry = { index, mac: macOf(a.get(NDA.LLADDR)) ?? '', state, flags };
  const dst = addrOf(a.get(NDA.DST));
  if (dst) e.dst = dst;
  const master = attrU32(a.get(NDA.MASTER));
  if (master) e.master = master;
  const vni = attrU32(a.get(NDA.VNI));
  if (vni !== undefined) e.vni = vni;
  return e;
}

/**
 * `bridge fdb show dev DEV`: the device's own entries (flags NTF.SELF) and,
 * for a bridge port, its bridge's entries for it (NTF.MASTER). A VXLAN device
 * lists one entry per remote of a MAC.
 */
export function fdbListOp(ns: Netns | undefined, index: number): Op<FdbEntry[]> {
  const m = ndmsg(new MessageBuilder(RTM.GETNEIGH, NLM_F.DUMP), AF.BRIDGE, deviceIndex(index));
  return rtnlOp('fdbList', ns, m, (b) =>
    [...messages(b)]
      .filter((x) => x.type === RTM.NEWNEIGH)
      .map((x) => parseFdb(x.body))
      .filter((x) => x.index === index));
}

// ---- promise forms --------------------------------------------------------

export const neighSet = async (ns: Netns | undefined, index: number, ip: string, mac: string) => run(neighSetOp(ns, index, ip, mac));
export const neighDel = async (ns: Netns | undefined, index: number, ip: string) => run(neighDelOp(ns, index, ip));
export const neighList = async (ns: Netns | undefined, filter?: { index?: number; family?: 4 | 6 }) => run(neighListOp(ns, filter));
export const fdbSet = async (ns: Netns | undefined, index: number, mac: string, o?: FdbOptions) => run(fdbSetOp(ns, index, mac, o));
export const fdbDel = async (ns: Netns | undefined, index: number, mac: string, o?: { dst?: string }) => run(fdbDelOp(ns, index, mac, o));
export const fdbList = async (ns: Netns | undefined, index: number) => run(fdbListOp(ns, index));
