// Addresses, named after `ip addr` verbs. IPv4 and IPv6.
import { InvalidInputError } from '../errors.js';
import { formatIP, ipFromBytes, maskOf, parseCIDR, type IP } from '../ip/addr.js';
import { AF, IFA, IFA_F, NLM_F, RT_SCOPE, RTM } from './constants.js';
import { attrs, attrString, attrU32, MessageBuilder, messages } from './message.js';
import type { Netns } from './netns.js';
import { ack, rtnlOp, run, type Op } from './request.js';
import { checkU32 } from './validate.js';

export interface Address {
  index: number;
  family: 4 | 6;
  address: string;
  prefixLen: number;
  /** "10.0.0.5/24" */
  cidr: string;
  scope: number;
  flags: number;
  label?: string;
}

export interface AddrOptions {
  /** IPv6: skip duplicate address detection (the address is usable at once). */
  noDad?: boolean;
  /** Don't add the prefix route for this address. */
  noPrefixRoute?: boolean;
  label?: string;
}

function ifaddr(m: MessageBuilder, ip: IP, bits: number, index: number, flags: number, scope: number): MessageBuilder {
  return m.struct(8, (b, at) => {
    b.writeUInt8(ip.family === 4 ? AF.INET : AF.INET6, at);
    b.writeUInt8(bits, at + 1);
    b.writeUInt8(flags & 0xff, at + 2);
    b.writeUInt8(scope, at + 3);
    b.writeUInt32LE(index, at + 4);
  });
}

function addrMessage(type: number, flags: number, index: number, cidr: string, o: AddrOptions): MessageBuilder {
  checkU32('ifindex', index);
  if (!index) throw new InvalidInputError('address operations need an ifindex');
  const { ip, bits } = parseCIDR(cidr);
  let f = IFA_F.PERMANENT;
  if (o.noDad) f |= IFA_F.NODAD;
  if (o.noPrefixRoute) f |= IFA_F.NOPREFIXROUTE;
  const m = ifaddr(new MessageBuilder(type, flags), ip, bits, index, f, RT_SCOPE.UNIVERSE);
  m.ip(IFA.LOCAL, ip).ip(IFA.ADDRESS, ip).u32(IFA.FLAGS, f);
  if (ip.family === 4 && bits < 31) m.ip(IFA.BROADCAST, { family: 4, value: ip.value | (maskOf(4, bits) ^ 0xffffffffn) });
  if (o.label !== undefined) m.str(IFA.LABEL, o.label);
  return m;
}

export const addrAddOp = (ns: Netns | undefined, index: number, cidr: string, o: AddrOptions = {}): Op<undefined> =>
  rtnlOp(`addrAdd ${cidr}`, ns, addrMessage(RTM.NEWADDR, NLM_F.CREATE | NLM_F.EXCL, index, cidr, o), ack);

export const addrDelOp = (ns: Netns | undefined, index: number, cidr: string): Op<undefined> =>
  rtnlOp(`addrDel ${cidr}`, ns, addrMessage(RTM.DELADDR, 0, index, cidr, {}), ack);

export function parseAddress(body: Buffer): Address {
  const family = body.readUInt8(0) === AF.INET ? 4 : 6;
  const prefixLen = body.readUInt8(1);
  const a = attrs(body, 8);
  const raw = a.get(IFA.LOCAL) ?? a.get(IFA.ADDRESS) ?? Buffer.alloc(family === 4 ? 4 : 16);
  const address = formatIP(ipFromBytes(raw));
  const out: Address = {
    index: body.readUInt32LE(4),
    family,
    address,
    prefixLen,
    cidr: `${address}/${prefixLen}`,
    scope: body.readUInt8(3),
    flags: attrU32(a.get(IFA.FLAGS)) ?? body.readUInt8(2),
  };
  const label = attrString(a.get(IFA.LABEL));
  if (label) out.label = label;
  return out;
}

/** Addresses in `ns`, optionally of one link and one family. */
export function addrListOp(ns: Netns | undefined, filter: { index?: number; family?: 4 | 6 } = {}): Op<Address[]> {
  const fam = filter.family === 4 ? AF.INET : filter.family === 6 ? AF.INET6 : AF.UNSPEC;
  const m = new MessageBuilder(RTM.GETADDR, NLM_F.DUMP).struct(8, (b, at) => {
    b.writeUInt8(fam, at);
    b.writeUInt32LE(filter.index ?? 0, at + 4);
  });
  return rtnlOp('addrList', ns, m, (b) =>
    [...messages(b)]
      .filter((x) => x.type === RTM.NEWADDR)
      .map((x) => parseAddress(x.body))
      .filter((x) => filter.index === undefined || x.index === filter.index));
}

export const addrAdd = async (ns: Netns | undefined, index: number, cidr: string, o?: AddrOptions) => run(addrAddOp(ns, index, cidr, o));
export const addrDel = async (ns: Netns | undefined, index: number, cidr: string) => run(addrDelOp(ns, index, cidr));
export const addrList = async (ns: Netns | undefined, filter?: { index?: number; family?: 4 | 6 }) => run(addrListOp(ns, filter));
