// Links, named after `ip link` verbs. Any operation can target any namespace.
import { InvalidInputError } from '../errors.js';
import {
  AF, IFF_UP, IFLA, IFLA_BR_MCAST_SNOOPING, IFLA_INET6_ADDR_GEN_MODE, IFLA_INFO, IFLA_MACVLAN_MODE, IN6_ADDR_GEN_MODE_NONE, IFLA_VXLAN, MACVLAN_MODE, NLM_F, RTEXT_FILTER_SKIP_STATS, RTM, VETH_INFO_PEER,
} from './constants.js';
import { attrs, attrString, attrU32, MessageBuilder, messages } from './message.js';
import { Lane } from './native.js';
import type { Netns } from './netns.js';
import { ack, rtnlOp, run, type Op } from './request.js';
import { checkIfName, checkMtu, checkU32, formatMac, parseMac } from './validate.js';
import { formatIP, ipBytes, ipFromBytes, parseIP } from '../ip/addr.js';

export interface Link {
  index: number;
  name: string;
  kind?: string;
  mtu: number;
  mac?: string;
  up: boolean;
  flags: number;
  master?: number;
  group: number;
  alias?: string;
  /** For a veth: the peer's ifindex (in its own namespace). */
  link?: number;
  linkNetnsId?: number;
  vxlan?: VxlanInfo;
  /** A bridge's multicast snooping, as the kernel reports it. */
  multicastSnooping?: boolean;
}

/** Attributes common to every new link. */
export interface LinkAttrs {
  name: string;
  mtu?: number;
  mac?: string;
  up?: boolean;
  group?: number;
  /** ifindex of the bridge to enslave to. */
  master?: number;
  /** Ask for this ifindex (a veth's peer then gets the one given in VethPeer, or any). */
  index?: number;
  /**
   * Transmit and receive queues to allocate (IFLA_NUM_TX/RX_QUEUES); creation
   * only. A veth given none gets one per CPU, then cuts the active ones to
   * one, and each cut waits for an expedited RCU grace period under RTNL.
   */
  queues?: number;
  // No alias here: the kernel ignores IFLA_IFALIAS on creation; use linkSet.
}

/** Which link: by index, or by name. */
export type LinkRef = number | string;

function ifinfo(m: MessageBuilder, index: number, flags = 0, change = 0, family: number = AF.UNSPEC): MessageBuilder {
  return m.struct(16, (b, at) => {
    b.writeUInt8(family, at);
    b.writeInt32LE(index, at + 4);
    b.writeUInt32LE(flags, at + 8);
    b.writeUInt32LE(change, at + 12);
  });
}

function commonAttrs(m: MessageBuilder, a: LinkAttrs): void {
  m.str(IFLA.IFNAME, checkIfName(a.name));
  if (a.mtu !== undefined) m.u32(IFLA.MTU, checkMtu(a.mtu));
  if (a.mac !== undefined) m.attr(IFLA.ADDRESS, parseMac(a.mac));
  if (a.group !== undefined) m.u32(IFLA.GROUP, checkU32('group', a.group));
  if (a.master !== undefined) m.u32(IFLA.MASTER, checkU32('master ifindex', a.master));
}

function queueAttrs(m: MessageBuilder, queues: number | undefined): void {
  if (queues === undefined) return;
  if (!Number.isInteger(queues) || queues < 1 || queues > 4096) throw new InvalidInputError(`invalid queue count ${queues}`);
  m.u32(IFLA.NUM_TX_QUEUES, queues);
  m.u32(IFLA.NUM_RX_QUEUES, queues);
}

function newLink(a: LinkAttrs, echo: boolean): MessageBuilder {
  const m = new MessageBuilder(RTM.NEWLINK, NLM_F.CREATE | NLM_F.EXCL | (echo ? NLM_F.ECHO : 0));
  ifinfo(m, a.index === undefined ? 0 : checkU32('ifindex', a.index), a.up ? IFF_UP : 0, a.up ? IFF_UP : 0);
  commonAttrs(m, a);
  queueAttrs(m, a.queues);
  return m;
}

export function parseLink(body: Buffer): Link {
  const a = attrs(body, 16);
  const flags = body.readUInt32LE(8);
  const info = a.get(IFLA.LINKINFO) && attrs(a.get(IFLA.LINKINFO)!);
  const kind = attrString(info?.get(IFLA_INFO.KIND));
  const mac = a.get(IFLA.ADDRESS);
  const link: Link = {
    index: body.readInt32LE(4),
    name: attrString(a.get(IFLA.IFNAME)) ?? '',
    mtu: attrU32(a.get(IFLA.MTU)) ?? 0,
    up: (flags & IFF_UP) !== 0,
    flags,
    group: attrU32(a.get(IFLA.GROUP)) ?? 0,
  };
  if (kind) link.kind = kind;
  if (mac && mac.length === 6) link.mac = formatMac(mac);
  const master = attrU32(a.get(IFLA.MASTER));
  if (master) link.master = master;
  const alias = attrString(a.get(IFLA.IFALIAS));
  if (alias) link.alias = alias;
  const peer = attrU32(a.get(IFLA.LINK));
  if (peer !== undefined) link.link = peer;
  const nsid = a.get(IFLA.LINK_NETNSID);
  if (nsid) link.linkNetnsId = nsid.readInt32LE(0);
  const data = info?.get(IFLA_INFO.DATA);
  if (kind === 'vxlan' && data) link.vxlan = parseVxlan(data);
  const snooping = kind === 'bridge' && data ? attrs(data).get(IFLA_BR_MCAST_SNOOPING) : undefined;
  if (snooping?.length) link.multicastSnooping = snooping.readUInt8(0) !== 0;
  return link;
}

function parseVxlan(data: Buffer): VxlanInfo {
  const d = attrs(data);
  const flag = (t: number) => (d.get(t)?.readUInt8(0) ?? 0) !== 0;
  const ip = (v4: number, v6: number) => {
    const raw = d.get(v4) ?? d.get(v6);
    if (!raw || (raw.length !== 4 && raw.length !== 16)) return undefined;
    const v = ipFromBytes(raw);
    return v.value === 0n ? undefined : formatIP(v);
  };
  const port = d.get(IFLA_VXLAN.PORT);
  const out: VxlanInfo = {
    vni: attrU32(d.get(IFLA_VXLAN.ID)) ?? 0,
    port: port && port.length >= 2 ? port.readUInt16BE(0) : 0,
    learning: flag(IFLA_VXLAN.LEARNING),
    proxy: flag(IFLA_VXLAN.PROXY),
    l2miss: flag(IFLA_VXLAN.L2MISS),
    l3miss: flag(IFLA_VXLAN.L3MISS),
  };
  const local = ip(IFLA_VXLAN.LOCAL, IFLA_VXLAN.LOCAL6);
  if (local) out.local = local;
  const remote = ip(IFLA_VXLAN.GROUP, IFLA_VXLAN.GROUP6);
  if (remote) out.remote = remote;
  return out;
}

/**
 * The ifindex in the first RTM_NEWLINK of an echoed answer, read from its
 * header alone: a veth's echo carries some fifty attributes, and a join
 * needs none of them.
 */
export function echoedIndex(b: Buffer): number | undefined {
  for (const msg of messages(b)) {
    if (msg.type !== RTM.NEWLINK) continue;
    const index = msg.body.length >= 16 ? msg.body.readInt32LE(4) : 0;
    return index > 0 ? index : undefined;
  }
  return undefined;
}

/** `op` (a create with echo) answering only the new link's index. */
export const indexOfEcho = (op: Op<unknown>): Op<number | undefined> => ({ request: op.request, decode: (raw) => echoedIndex(raw as Buffer) });

const firstLink = (b: Buffer): Link | undefined => {
  for (const msg of messages(b)) if (msg.type === RTM.NEWLINK) return parseLink(msg.body);
  return undefined;
};

// ---- create ---------------------------------------------------------------

export interface BridgeAttrs extends LinkAttrs {
  /** IGMP/MLD snooping (`ip link ... type bridge mcast_snooping`); the kernel's default is on. */
  multicastSnooping?: boolean;
}

export const linkAddBridgeOp = (ns: Netns | undefined, a: BridgeAttrs): Op<undefined> => {
  const m = newLink(a, false);
  m.nest(IFLA.LINKINFO, (n) => {
    n.str(IFLA_INFO.KIND, 'bridge');
    if (a.multicastSnooping !== undefined) n.nest(IFLA_INFO.DATA, (d) => d.u8(IFLA_BR_MCAST_SNOOPING, a.multicastSnooping ? 1 : 0));
  });
  return rtnlOp(`linkAdd bridge ${a.name}`, ns, m, ack);
};

export interface VethPeer {
  name: string;
  /** The namespace the peer is born in (never created on the host and moved: that costs ~18 ms). */
  ns?: Netns;
  mtu?: number;
  mac?: string;
  group?: number;
  /** As LinkAttrs.queues, for the peer. */
  queues?: number;
}

/**
 * `ip link add NAME [master M] [up] type veth peer name P netns NS`, in one
 * request. With `echo`, resolves to the host end as created (its `link` is the
 * peer's ifindex inside the peer namespace).
 */
export function linkAddVethOp(ns: Netns | undefined, a: LinkAttrs, peer: VethPeer, echo = false): Op<Link | undefined> {
  const m = newLink(a, echo);
  m.nest(IFLA.LINKINFO, (n) => {
    n.str(IFLA_INFO.KIND, 'veth');
    n.nest(IFLA_INFO.DATA, (d) => {
      d.nest(VETH_INFO_PEER, (p) => {
        // No IFF_UP here: veth_open() refuses (ENOTCONN) until both ends are paired.
        ifinfo(p, 0);
        p.str(IFLA.IFNAME, checkIfName(peer.name));
        if (peer.mtu !== undefined) p.u32(IFLA.MTU, checkMtu(peer.mtu));
        if (peer.mac !== undefined) p.attr(IFLA.ADDRESS, parseMac(peer.mac));
        if (peer.group !== undefined) p.u32(IFLA.GROUP, checkU32('group', peer.group));
        queueAttrs(p, peer.queues);
        if (peer.ns) p.nsFd(IFLA.NET_NS_FD);
      });
    });
  });
  return rtnlOp(`linkAdd veth ${a.name}`, ns, m, (b) => (echo ? firstLink(b) : undefined), peer.ns ? [peer.ns] : []);
}

export interface MacvlanAttrs extends LinkAttrs {
  /** The parent's ifindex in `ns` (the namespace the request is sent to). */
  parent: number;
  mode?: keyof typeof MACVLAN_MODE;
  /**
   * The namespace the link is born in (IFLA_NET_NS_FD), the parent staying
   * where it is; `index` and `name` then apply inside that namespace.
   */
  netns?: Netns;
}

export function linkAddMacvlanOp(ns: Netns | undefined, a: MacvlanAttrs): Op<undefined> {
  const m = newLink(a, false);
  m.u32(IFLA.LINK, checkU32('parent ifindex', a.parent));
  if (a.netns) m.nsFd(IFLA.NET_NS_FD);
  m.nest(IFLA.LINKINFO, (n) => {
    n.str(IFLA_INFO.KIND, 'macvlan');
    n.nest(IFLA_INFO.DATA, (d) => d.u32(IFLA_MACVLAN_MODE, MACVLAN_MODE[a.mode ?? 'bridge']));
  });
  return rtnlOp(`linkAdd macvlan ${a.name}`, ns, m, ack, a.netns ? [a.netns] : []);
}

export interface VxlanAttrs extends LinkAttrs {
  vni: number;
  /** UDP destination port (default 4789, IANA's). */
  port?: number;
  local?: string;
  /** Remote VTEP or multicast group. */
  remote?: string;
  parent?: number;
  /** Learn remote MACs from received frames (default on, as `ip link`). */
  learning?: boolean;
  /** Answer ARP/NDP from the device's neighbour table instead of sending them (default off). */
  proxy?: boolean;
  /** Tell user space of unknown destination MACs / IPs (default off). */
  l2miss?: boolean;
  l3miss?: boolean;
}

/** A VXLAN device's settings as the kernel reports them (IFLA_INFO_DATA). */
export interface VxlanInfo {
  vni: number;
  port: number;
  local?: string;
  remote?: string;
  learning: boolean;
  proxy: boolean;
  l2miss: boolean;
  l3miss: boolean;
}

export function linkAddVxlanOp(ns: Netns | undefined, a: VxlanAttrs): Op<undefined> {
  if (!Number.isInteger(a.vni) || a.vni < 0 || a.vni > 0xffffff) throw new InvalidInputError(`invalid VNI ${a.vni}`);
  const m = newLink(a, false);
  m.nest(IFLA.LINKINFO, (n) => {
    n.str(IFLA_INFO.KIND, 'vxlan');
    n.nest(IFLA_INFO.DATA, (d) => {
      d.u32(IFLA_VXLAN.ID, a.vni);
      d.u16be(IFLA_VXLAN.PORT, a.port ?? 4789);
      if (a.parent !== undefined) d.u32(IFLA_VXLAN.LINK, a.parent);
      if (a.local) { const ip = parseIP(a.local); d.attr(ip.family === 4 ? IFLA_VXLAN.LOCAL : IFLA_VXLAN.LOCAL6, ipBytes(ip)); }
      if (a.remote) { const ip = parseIP(a.remote); d.attr(ip.family === 4 ? IFLA_VXLAN.GROUP : IFLA_VXLAN.GROUP6, ipBytes(ip)); }
      d.u8(IFLA_VXLAN.LEARNING, a.learning === false ? 0 : 1);
      if (a.proxy !== undefined) d.u8(IFLA_VXLAN.PROXY, a.proxy ? 1 : 0);
      if (a.l2miss !== undefined) d.u8(IFLA_VXLAN.L2MISS, a.l2miss ? 1 : 0);
      if (a.l3miss !== undefined) d.u8(IFLA_VXLAN.L3MISS, a.l3miss ? 1 : 0);
    });
  });
  return rtnlOp(`linkAdd vxlan ${a.name}`, ns, m, ack);
}

// ---- delete ---------------------------------------------------------------

function target(m: MessageBuilder, ref: LinkRef, flags = 0, change = 0): MessageBuilder {
  if (typeof ref === 'number') return ifinfo(m, checkU32('ifindex', ref), flags, change);
  ifinfo(m, 0, flags, change);
  return m.str(IFLA.IFNAME, checkIfName(ref));
}

export const linkDelOp = (ns: Netns | undefined, ref: LinkRef): Op<undefined> =>
  rtnlOp(`linkDel ${ref}`, ns, target(new MessageBuilder(RTM.DELLINK, 0), ref), ack);

/** Deletes every link in interface group `group` with one RTM_DELLINK (one RCU wait for all). */
export function linkDelGroupOp(ns: Netns | undefined, group: number): Op<undefined> {
  if (!group) throw new InvalidInputError('refusing to delete group 0 (the default group holds every link)');
  const m = ifinfo(new MessageBuilder(RTM.DELLINK, 0), 0).u32(IFLA.GROUP, checkU32('group', group));
  return rtnlOp(`linkDelGroup ${group}`, ns, m, ack);
}

// ---- set ------------------------------------------------------------------

export interface LinkChanges {
  up?: boolean;
  /** ifindex of a bridge, or null for nomaster. */
  master?: number | null;
  mtu?: number;
  mac?: string;
  /** New name; the link must be given by index. */
  name?: string;
  group?: number;
  /** New alias; "" removes it. */
  alias?: string;
  /**
   * IPv6 address generation off (IFLA_INET6_ADDR_GEN_MODE none): no
   * link-local address, so no DAD or router solicitation timers. The link
   * keeps the rest of IPv6 (its multicast route in the table); to have none
   * at all takes the disable_ipv6 sysctl, as the bridge's host ends do.
   */
  noIpv6AddrGen?: boolean;
}

export function linkSetOp(ns: Netns | undefined, ref: LinkRef, c: LinkChanges): Op<undefined> {
  if (c.name !== undefined && typeof ref !== 'number') throw new InvalidInputError('linkSet: renaming needs the link by index');
  const m = new MessageBuilder(RTM.NEWLINK, 0);
  const flag = c.up === undefined ? 0 : IFF_UP;
  target(m, ref, c.up ? IFF_UP : 0, flag);
  if (c.name !== undefined) m.str(IFLA.IFNAME, checkIfName(c.name));
  if (c.master !== undefined) m.u32(IFLA.MASTER, c.master === null ? 0 : checkU32('master ifindex', c.master));
  if (c.mtu !== undefined) m.u32(IFLA.MTU, checkMtu(c.mtu));
  if (c.mac !== undefined) m.attr(IFLA.ADDRESS, parseMac(c.mac));
  if (c.group !== undefined) m.u32(IFLA.GROUP, checkU32('group', c.group));
  if (c.alias !== undefined) m.str(IFLA.IFALIAS, c.alias);
  if (c.noIpv6AddrGen) m.nest(IFLA.AF_SPEC, (a) => a.nest(AF.INET6, (i) => i.u8(IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE)));
  return rtnlOp(`linkSet ${ref}`, ns, m, ack);
}

// ---- get / list ----------------------------------------------------------

export function linkGetOp(ns: Netns | undefined, ref: LinkRef): Op<Link> {
  const m = target(new MessageBuilder(RTM.GETLINK, 0), ref).u32(IFLA.EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  return rtnlOp(`linkGet ${ref}`, ns, m, (b) => {
    const l = firstLink(b);
    if (!l) throw new InvalidInputError(`linkGet ${ref}: empty reply`);
    return l;
  });
}

export function linkListOp(ns: Netns | undefined): Op<Link[]> {
  const m = ifinfo(new MessageBuilder(RTM.GETLINK, NLM_F.DUMP), 0).u32(IFLA.EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  return rtnlOp('linkList', ns, m, (b) => [...messages(b)].filter((x) => x.type === RTM.NEWLINK).map((x) => parseLink(x.body)));
}

// ---- promise forms --------------------------------------------------------

export const linkAddBridge = async (ns: Netns | undefined, a: BridgeAttrs) => run(linkAddBridgeOp(ns, a));
export const linkAddVeth = async (ns: Netns | undefined, a: LinkAttrs, peer: VethPeer, echo = false) => run(linkAddVethOp(ns, a, peer, echo));
export const linkAddMacvlan = async (ns: Netns | undefined, a: MacvlanAttrs) => run(linkAddMacvlanOp(ns, a));
export const linkAddVxlan = async (ns: Netns | undefined, a: VxlanAttrs) => run(linkAddVxlanOp(ns, a));
/** Link deletion waits ~20 ms in the kernel; it runs on the slow lane so it never blocks the endpoint path. */
export const linkDel = async (ns: Netns | undefined, ref: LinkRef) => run(linkDelOp(ns, ref), Lane.Slow);
export const linkDelGroup = async (ns: Netns | undefined, group: number) => run(linkDelGroupOp(ns, group), Lane.Slow);
export const linkSet = async (ns: Netns | undefined, ref: LinkRef, c: LinkChanges) => run(linkSetOp(ns, ref, c));
export const linkGet = async (ns: Netns | undefined, ref: LinkRef) => run(linkGetOp(ns, ref));
export const linkList = async (ns: Netns | undefined) => run(linkListOp(ns));
