// Routes, named after `ip route` verbs.
import { InvalidInputError } from '../errors.js';
import { formatIP, ipFromBytes, parseIP, parsePrefix, type Family } from '../ip/addr.js';
import { AF, NLM_F, RT_SCOPE, RT_TABLE_MAIN, RTA, RTM, RTN_UNICAST, RTNH_F_ONLINK, RTPROT } from './constants.js';
import { attrs, attrU32, MessageBuilder, messages } from './message.js';
import type { Netns } from './netns.js';
import { ack, rtnlOp, run, type Op } from './request.js';
import { checkU32 } from './validate.js';

export interface RouteSpec {
  /** "default" or a prefix like "10.1.0.0/16". */
  dst: string;
  /** IPv4 or IPv6 family for "default" when no gateway says it (default 4). */
  family?: Family;
  gateway?: string;
  /** Output interface index. */
  dev?: number;
  onlink?: boolean;
  metric?: number;
  table?: number;
  src?: string;
  /** Scope; defaults to link for a gateway-less device route, universe otherwise. */
  scope?: number;
}

export interface Route {
  family: Family;
  dst: string;
  gateway?: string;
  dev?: number;
  metric?: number;
  table: number;
  protocol: number;
  scope: number;
  onlink: boolean;
  src?: string;
}

function rtMessage(type: number, flags: number, r: RouteSpec): MessageBuilder {
  const gw = r.gateway !== undefined ? parseIP(r.gateway) : undefined;
  const isDefault = r.dst === 'default';
  const dst = isDefault ? undefined : parsePrefix(r.dst, true);
  const family: Family = dst?.ip.family ?? gw?.family ?? r.family ?? 4;
  if (gw && gw.family !== family) throw new InvalidInputError(`route ${r.dst}: gateway ${r.gateway} is of another family`);
  if (!gw && r.dev === undefined) throw new InvalidInputError(`route ${r.dst}: needs a gateway or a device`);
  const table = r.table ?? RT_TABLE_MAIN;
  checkU32('table', table);
  // Deletion matches any scope (RT_SCOPE_NOWHERE), as `ip route del` does.
  const scope = r.scope ?? (type === RTM.DELROUTE ? RT_SCOPE.NOWHERE : gw ? RT_SCOPE.UNIVERSE : RT_SCOPE.LINK);
  const m = new MessageBuilder(type, flags).struct(12, (b, at) => {
    b.writeUInt8(family === 4 ? AF.INET : AF.INET6, at);
    b.writeUInt8(dst?.bits ?? 0, at + 1);
    b.writeUInt8(table < 256 ? table : 0, at + 4);
    b.writeUInt8(type === RTM.DELROUTE ? 0 : RTPROT.STATIC, at + 5);
    b.writeUInt8(scope, at + 6);
    b.writeUInt8(type === RTM.DELROUTE ? 0 : RTN_UNICAST, at + 7);
    b.writeUInt32LE(r.onlink ? RTNH_F_ONLINK : 0, at + 8);
  });
  if (dst) m.ip(RTA.DST, dst.ip);
  if (gw) m.ip(RTA.GATEWAY, gw);
  if (r.dev !== undefined) m.u32(RTA.OIF, checkU32('ifindex', r.dev));
  if (r.metric !== undefined) m.u32(RTA.PRIORITY, checkU32('metric', r.metric));
  if (table >= 256) m.u32(RTA.TABLE, table);
  if (r.src) m.ip(RTA.PREFSRC, parseIP(r.src));
  return m;
}

export const routeAddOp = (ns: Netns | undefined, r: RouteSpec): Op<undefined> =>
  rtnlOp(`routeAdd ${r.dst}`, ns, rtMessage(RTM.NEWROUTE, NLM_F.CREATE | NLM_F.EXCL, r), ack);
export const routeReplaceOp = (ns: Netns | undefined, r: RouteSpec): Op<undefined> =>
  rtnlOp(`routeReplace ${r.dst}`, ns, rtMessage(RTM.NEWROUTE, NLM_F.CREATE | NLM_F.REPLACE, r), ack);
export const routeDelOp = (ns: Netns | undefined, r: RouteSpec): Op<undefined> =>
  rtnlOp(`routeDel ${r.dst}`, ns, rtMessage(RTM.DELROUTE, 0, r), ack);

export function parseRoute(body: Buffer): Route {
  const family: Family = body.readUInt8(0) === AF.INET ? 4 : 6;
  const dstLen = body.readUInt8(1);
  const a = attrs(body, 12);
  const dstRaw = a.get(RTA.DST);
  const gw = a.get(RTA.GATEWAY);
  const src = a.get(RTA.PREFSRC);
  const route: Route = {
    family,
    dst: dstRaw ? `${formatIP(ipFromBytes(dstRaw))}/${dstLen}` : 'default',
    table: attrU32(a.get(RTA.TABLE)) ?? body.readUInt8(4),
    protocol: body.readUInt8(5),
    scope: body.readUInt8(6),
    onlink: (body.readUInt32LE(8) & RTNH_F_ONLINK) !== 0,
  };
  if (gw) route.gateway = formatIP(ipFromBytes(gw));
  const oif = attrU32(a.get(RTA.OIF));
  if (oif !== undefined) route.dev = oif;
  const metric = attrU32(a.get(RTA.PRIORITY));
  if (metric !== undefined) route.metric = metric;
  if (src) route.src = formatIP(ipFromBytes(src));
  return route;
}

/** Routes of one family in `ns` (main table unless `table` is given; 0 = all tables). */
export function routeListOp(ns: Netns | undefined, family: Family = 4, table: number = RT_TABLE_MAIN): Op<Route[]> {
  const m = new MessageBuilder(RTM.GETROUTE, NLM_F.DUMP).struct(12, (b, at) => {
    b.writeUInt8(family === 4 ? AF.INET : AF.INET6, at);
  });
  return rtnlOp('routeList', ns, m, (b) =>
    [...messages(b)]
      .filter((x) => x.type === RTM.NEWROUTE)
      .map((x) => parseRoute(x.body))
      .filter((r) => table === 0 || r.table === table));
}

export const routeAdd = async (ns: Netns | undefined, r: RouteSpec) => run(routeAddOp(ns, r));
export const routeReplace = async (ns: Netns | undefined, r: RouteSpec) => run(routeReplaceOp(ns, r));
export const routeDel = async (ns: Netns | undefined, r: RouteSpec) => run(routeDelOp(ns, r));
export const routeList = async (ns: Netns | undefined, family?: Family, table?: number) => run(routeListOp(ns, family, table));
