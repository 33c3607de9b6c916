// A bridge join's kernel work as one request: the addon builds the five
// messages itself (native/veth_join.h) from a 40-byte block, where building
// them here cost about 35 µs a join on a cold cache, in a joinMany of 32.
// What it stands for, in order, stopping at the first failure:
//   ip link add NAME netns NS [address MAC] [mtu M] [up] numtxqueues 1 numrxqueues 1
//      type veth peer HOST address HOSTMAC group G [mtu M] numtxqueues 1 numrxqueues 1   (echoed)
//   sysctl net.ipv6.conf.HOST.disable_ipv6=1                       (hostIpv6Off)
//   ip link set HOST master BRIDGE up
//   ip -n NS addr add ADDRESS4 dev NAME                             (address4)
//   ip -n NS route add default via GATEWAY4 dev NAME                (gateway4)
// The same requests as linkAddVethOp, sysctlSetOp, linkSetOp, addrAddOp and
// routeAddOp make, byte for byte (test/wire.test.ts checks it).
import { InvalidInputError } from '../errors.js';
import { parseCIDR, parseIP, writeIP } from '../ip/addr.js';
import { put32 } from './message.js';
import { isKernelError } from './native.js';
import type { Netns } from './netns.js';
import { nsIno, nsPath, type Op } from './request.js';
import { checkIfName, checkMtu, checkU32, writeMac } from './validate.js';
import { encodeRequest, Kind } from './wire.js';

/** The parameter block's layout: native/veth_join.h, checked against the addon's `protocol.vethJoin`. */
export const VETH_JOIN = {
  size: 40,
  fields: { flags: 0, mtu: 4, group: 8, master: 12, mac: 16, hostMac: 22, address4: 28, prefix4: 32, gateway4: 36 },
  flags: { up: 1, mac: 2, mtu: 4, hostIpv6Off: 8, address4: 16, gateway4: 32 },
} as const;

export interface VethJoin {
  /** The container end, born in the sandbox under this name. */
  name: string;
  up: boolean;
  mac?: string;
  /** Both ends'. */
  mtu?: number;
  /** The host end, born in the host. */
  host: { name: string; mac: string; group: number; master: number; ipv6Off: boolean };
  /** The container end's IPv4 address (CIDR), and the default route's gateway (needs the address). */
  address4?: string;
  gateway4?: string;
}

const opName = (name: string): string => `vethJoin ${name}`;

/** Answers the container end's index (from the veth's echo); fails with the failing step's own error and `op`. */
export function vethJoinOp(ns: Netns, j: VethJoin): Op<number | undefined> {
  const { fields: at, flags: F } = VETH_JOIN;
  const b = Buffer.allocUnsafe(VETH_JOIN.size).fill(0);
  let flags = j.up ? F.up : 0;
  if (j.mtu !== undefined) {
    flags |= F.mtu;
    put32(b, at.mtu, checkMtu(j.mtu));
  }
  if (j.mac !== undefined) {
    flags |= F.mac;
    writeMac(b, at.mac, j.mac);
  }
  writeMac(b, at.hostMac, j.host.mac);
  put32(b, at.group, checkU32('group', j.host.group));
  put32(b, at.master, checkU32('master ifindex', j.host.master));
  if (j.host.ipv6Off) flags |= F.hostIpv6Off;
  if (j.address4 !== undefined) {
    const { ip, bits } = parseCIDR(j.address4);
    if (ip.family !== 4) throw new InvalidInputError(`vethJoin: ${j.address4} is not an IPv4 address`);
    flags |= F.address4;
    writeIP(b, at.address4, ip);
    put32(b, at.prefix4, bits);
  }
  if (j.gateway4 !== undefined) {
    if (j.address4 === undefined) throw new InvalidInputError('vethJoin: a default route needs the address');
    const gw = parseIP(j.gateway4);
    if (gw.family !== 4) throw new InvalidInputError(`vethJoin: gateway ${j.gateway4} is not an IPv4 address`);
    flags |= F.gateway4;
    writeIP(b, at.gateway4, gw);
  }
  put32(b, at.flags, flags);
  return {
    request: encodeRequest({
      kind: Kind.VethJoin, op: opName(j.name), ns: nsPath(ns), nsIno: nsIno(ns), msg: b,
      arg1: checkIfName(j.name), arg2: checkIfName(j.host.name),
    }),
    decode: (raw) => ((raw as number) > 0 ? (raw as number) : undefined),
  };
}

/**
 * Whether a vethJoinOp that failed with `error` (for container end `name`)
 * had made the veth: it failed in a later step, which names itself in the
 * error's `op`. Not when the block was refused, or the veth's own request failed.
 */
export function vethJoinMadeVeth(error: Error, name: string): boolean {
  if (!isKernelError(error)) return false;
  return error.op !== opName(name) && error.op !== `linkAdd veth ${name}`;
}
