// The nsnet network a CNI configuration names: an existing one by name, or
// one created on first use from the configuration (bridge keys mapped to
// Docker's option names, inline or host-local style IPAM to nsnet's pools).
import type { Controller, Network, NetworkInfo } from '../controller/controller.js';
import type { NetworkCreateOptions } from '../controller/options.js';
import type { IpamConf } from '../driver-api/records.js';
import { BridgeOption } from '../driver-api/options.js';
import { bitsOf, formatPrefix, parseIP, parsePrefix, prefixLast, type IP } from '../ip/addr.js';
import { CniCode, CniError } from './errors.js';
import type { IpamRange, NetConf } from './config.js';

export const CNI_LABEL = 'nsnet.cni';

function invalid(msg: string): CniError {
  return new CniError(CniCode.InvalidConfig, msg);
}

/**
 * nsnet's IPAM hands out addresses from a prefix (Docker's IPRange), so a
 * rangeStart/rangeEnd pair becomes the largest aligned prefix inside it:
 * never an address outside the range, possibly fewer addresses than it.
 */
export function largestPrefixWithin(start: IP, end: IP): string {
  const total = bitsOf(start.family);
  let best: { value: bigint; bits: number } | undefined;
  for (let bits = 0; bits <= total; bits++) {
    const size = 1n << BigInt(total - bits);
    const first = ((start.value + size - 1n) / size) * size;
    if (first + size - 1n <= end.value) {
      best = { value: first, bits };
      break;
    }
  }
  if (!best) throw invalid('ipam: rangeEnd is before rangeStart');
  return formatPrefix({ ip: { family: start.family, value: best.value }, bits: best.bits });
}

function ipamConfOf(r: IpamRange, at: string): IpamConf {
  if (!r.subnet) {
    if (r.rangeStart || r.rangeEnd || r.gateway || r.ipRange) throw invalid(`${at}: a range needs its subnet`);
    return {};
  }
  let subnet;
  try {
    subnet = parsePrefix(r.subnet, true);
  } catch {
    throw invalid(`${at}: invalid subnet "${r.subnet}"`);
  }
  const conf: IpamConf = { Subnet: formatPrefix(subnet) };
  const ip = (text: string, what: string): IP => {
    try {
      const v = parseIP(text);
      if (v.family !== subnet.ip.family || v.value < subnet.ip.value || v.value > prefixLast(subnet)) throw new Error();
      return v;
    } catch {
      throw invalid(`${at}: ${what} "${text}" is not an address of ${conf.Subnet}`);
    }
  };
  if (r.gateway) {
    ip(r.gateway, 'gateway');
    conf.Gateway = r.gateway;
  }
  if (r.ipRange) conf.IPRange = r.ipRange;
  else if (r.rangeStart || r.rangeEnd) {
    const start = r.rangeStart ? ip(r.rangeStart, 'rangeStart') : { family: subnet.ip.family, value: subnet.ip.value + 1n };
    const end = r.rangeEnd ? ip(r.rangeEnd, 'rangeEnd') : { family: subnet.ip.family, value: prefixLast(subnet) };
    conf.IPRange = largestPrefixWithin(start, end);
  }
  return conf;
}

export function createOptions(conf: NetConf): NetworkCreateOptions {
  const options: Record<string, string> = { ...(conf.options ?? {}) };
  if (conf.bridge) options[BridgeOption.Name] = conf.bridge;
  if (conf.mtu) options[BridgeOption.Mtu] = String(conf.mtu);
  // The reference bridge plugin masquerades only when asked.
  options[BridgeOption.EnableIPMasquerade] ??= String(conf.ipMasq ?? false);
  // One range set per family: nsnet's networks have one pool list per family.
  const config = conf.ranges.map((set, i) => {
    if (set.length > 1) throw new CniError(CniCode.UnsupportedField, `ipam.ranges[${i}]: nsnet takes one range per range set`);
    return ipamConfOf(set[0]!, `ipam.ranges[${i}]`);
  }).filter((c) => c.Subnet);
  const v6 = config.some((c) => c.Subnet!.includes(':'));
  return {
    name: conf.name,
    driver: 'bridge',
    options,
    labels: { [CNI_LABEL]: 'true' },
    ...(v6 ? { enableIPv6: true, enableIPv4: config.some((c) => !c.Subnet!.includes(':')) } : {}),
    ipam: { driver: 'default', config },
  };
}

/**
 * A configuration that names an existing network must not ask for another
 * bridge or another subnet: nsnet does not change a network in use, and
 * using it silently would hand out addresses the configuration does not
 * allow. What the configuration leaves out is the network's.
 */
function sameConfiguration(n: NetworkInfo, conf: NetConf): void {
  const bridge = typeof n.driverState['bridge'] === 'string' ? n.driverState['bridge'] : n.options[BridgeOption.Name];
  if (conf.bridge && conf.bridge !== bridge)
    throw invalid(`network ${conf.name} exists on bridge ${bridge ?? '(none)'}, not ${conf.bridge}: delete the network or give the configuration another name`);
  const have = [...n.pools4, ...n.pools6].map((p) => p.subnet);
  for (const c of createOptions(conf).ipam?.config ?? []) {
    if (c.Subnet && !have.includes(c.Subnet))
      throw invalid(`network ${conf.name} exists with subnet ${have.join(', ') || '(none)'}, not ${c.Subnet}: delete the network or give the configuration another name`);
    // Within the subnet, the gateway and the range it hands addresses from.
    const pool = [...n.pools4, ...n.pools6].find((p) => p.subnet === c.Subnet);
    const asked = n.ipam.config.find((x) => x.Subnet === c.Subnet);
    if (c.Gateway && (!pool?.gateway || parseIP(pool.gateway).value !== parseIP(c.Gateway).value))
      throw invalid(`network ${conf.name} has gateway ${pool?.gateway ?? '(none)'} in ${c.Subnet}, not ${c.Gateway}: delete the network or give the configuration another name`);
    if (c.IPRange && formatPrefix(parsePrefix(asked?.IPRange ?? c.Subnet!, true)) !== formatPrefix(parsePrefix(c.IPRange, true)))
      throw invalid(`network ${conf.name} hands out ${asked?.IPRange ?? c.Subnet}, not ${c.IPRange}: delete the network or give the configuration another name`);
  }
}

/** Networks being created, so concurrent first ADDs of one network share the creation. */
const creating = new WeakMap<Controller, Map<string, Promise<Network>>>();

/** The network, and whether this call created it (so a failed first ADD can take it back). */
export async function ensureNetwork(c: Controller, conf: NetConf): Promise<{ net: Network; created: boolean }> {
  const existing = c.networkByName(conf.name);
  if (existing) {
    if (existing.type !== 'bridge') throw invalid(`network ${conf.name} is a ${existing.type} network: CNI attachments need a bridge network`);
    sameConfiguration(existing.info(), conf);
    return { net: existing, created: false };
  }
  let pending = creating.get(c);
  if (!pending) creating.set(c, (pending = new Map()));
  const inFlight = pending.get(conf.name);
  if (inFlight) return { net: await inFlight, created: false };
  const p = c.newNetwork(createOptions(conf));
  pending.set(conf.name, p);
  try {
    return { net: await p, created: true };
  } finally {
    pending.delete(conf.name);
  }
}
