// Choices made before a compare-and-swap: which subnet a new global network
// gets, which address an endpoint gets. Pure: etcd decides whether a choice
// holds (another host may have taken it meanwhile, and the caller retries).
import { InvalidInputError } from '../errors.js';
import { candidates, errNoAvailableIps, errNoMoreSubnets, errPoolOverlap, type PoolSpec } from '../ipam/index.js';
import { formatIP, formatPrefix, parseIP, parsePrefix, prefixContains, prefixesOverlap, prefixLast, type Prefix } from '../ip/addr.js';

export interface SubnetUse {
  subnet: string;
  network: string;
}

/** The first subnet of the pools that overlaps none in use (nor any of `avoid`, e.g. this host's own routes). */
export function pickSubnet(pools: readonly PoolSpec[], used: readonly SubnetUse[], avoid: readonly string[] = []): string {
  const busy = [...used.map((u) => u.subnet), ...avoid].map((s) => parsePrefix(s, true)).filter((p) => p.ip.family === 4);
  for (const c of candidates(pools, 4)) if (!busy.some((b) => prefixesOverlap(b, c))) return formatPrefix(c);
  throw errNoMoreSubnets(4);
}

/** An explicit subnet: refused when it overlaps one in use, with the IPAM's words. */
export function checkSubnetFree(subnet: string, used: readonly SubnetUse[]): void {
  const p = parsePrefix(subnet);
  for (const u of used) if (prefixesOverlap(p, parsePrefix(u.subnet, true))) throw errPoolOverlap(subnet, u.subnet);
}

/** The gateway: as given (checked to be inside), else the subnet's first host address. */
export function gatewayOf(subnet: string, gateway?: string): string {
  const p = parsePrefix(subnet);
  if (p.ip.family !== 4 || p.bits > 30) throw new InvalidInputError(`invalid subnet ${subnet} for an overlay network: an IPv4 subnet of at most /30`);
  if (gateway) {
    const g = parseIP(gateway);
    if (!prefixContains(p, g) || g.value === p.ip.value || g.value === prefixLast(p))
      throw new InvalidInputError(`invalid gateway ${gateway}: it should be a host address of subnet ${subnet}`);
    return formatIP(g);
  }
  return formatIP({ family: 4, value: p.ip.value + 1n });
}

/**
 * The lowest address of the range (the subnet unless an ip-range is given)
 * that is neither the network's, the broadcast, the gateway nor taken.
 */
export function pickAddress(subnet: string, gateway: string, ipRange: string | undefined, taken: ReadonlySet<string>): string {
  const p = parsePrefix(subnet);
  const r: Prefix = ipRange ? parsePrefix(ipRange) : p;
  const gw = parseIP(gateway).value;
  for (let v = r.ip.value; v <= prefixLast(r); v++) {
    if (v === p.ip.value || v === prefixLast(p) || v === gw) continue;
    const ip = formatIP({ family: 4, value: v });
    if (!taken.has(ip)) return ip;
  }
  throw errNoAvailableIps(ipRange ?? subnet);
}

/** An explicit address: inside the subnet, not the gateway nor the network's or broadcast address. */
export function checkAddress(subnet: string, gateway: string, address: string): string {
  const p = parsePrefix(subnet);
  let ip;
  try { ip = parseIP(address); } catch { throw new InvalidInputError(`invalid IPv4 address: ${address}`); }
  if (ip.family !== 4 || !prefixContains(p, ip))
    throw new InvalidInputError(`no configured subnet or ip-range contain the IP address ${address}`);
  if (ip.value === p.ip.value || ip.value === prefixLast(p) || ip.value === parseIP(gateway).value)
    throw new InvalidInputError(`address ${address} is reserved in subnet ${subnet}`);
  return formatIP(ip);
}
