// Turns a network's IPAM configuration into allocated pools, and back
// (replay on restart). Validation follows Docker's: gateway, IP range and
// auxiliary addresses must lie inside their subnet.
import { InvalidInputError } from '../errors.js';
import { formatPrefix, parseIP, parsePrefix, prefixContains, prefixLast } from '../ip/addr.js';
import type { Ipam } from '../ipam/index.js';
import type { IpamConf, NetworkRecord, PoolState } from '../driver-api/records.js';
import type { Undo } from '../driver-api/undo.js';

const isV6 = (c: IpamConf): boolean => (c.Subnet ?? c.Gateway ?? c.IPRange ?? '').includes(':');

export function validateIpamConfig(config: readonly IpamConf[]): void {
  for (const c of config) {
    if (!c.Subnet) {
      if (c.IPRange || c.Gateway || (c.AuxiliaryAddresses && Object.keys(c.AuxiliaryAddresses).length))
        throw new InvalidInputError('invalid IPAM configuration: ip-range, gateway and auxiliary addresses need a subnet');
      continue;
    }
    // dockerd's words (api/types/network ValidateIPAM), which SDK users match on.
    let subnet;
    try {
      subnet = parsePrefix(c.Subnet, true);
    } catch {
      throw new InvalidInputError(`invalid subnet ${c.Subnet}: invalid CIDR block notation`);
    }
    if (parseIP(c.Subnet.split('/')[0]!).value !== subnet.ip.value)
      throw new InvalidInputError(`invalid subnet ${c.Subnet}: it should be ${formatPrefix(subnet)}`);
    if (c.IPRange) {
      let r;
      try { r = parsePrefix(c.IPRange); } catch (e) { throw new InvalidInputError(`invalid ip-range ${c.IPRange}: ${(e as Error).message}`); }
      if (r.ip.family !== subnet.ip.family || !prefixContains(subnet, r.ip) || prefixLast(r) > prefixLast(subnet))
        throw new InvalidInputError(`invalid ip-range ${c.IPRange}: it should be within subnet ${c.Subnet}`);
    }
    if (c.Gateway) {
      const g = parseIP(c.Gateway);
      if (!prefixContains(subnet, g)) throw new InvalidInputError(`invalid gateway ${c.Gateway}: it should be within subnet ${c.Subnet}`);
    }
    for (const [name, a] of Object.entries(c.AuxiliaryAddresses ?? {})) {
      const ip = parseIP(a);
      if (!prefixContains(subnet, ip)) throw new InvalidInputError(`invalid auxiliary address ${name} (${a}): it should be within subnet ${c.Subnet}`);
    }
  }
  const subnets = config.filter((c) => c.Subnet).map((c) => parsePrefix(c.Subnet!));
  for (let i = 0; i < subnets.length; i++)
    for (let j = i + 1; j < subnets.length; j++)
      if (subnets[i]!.ip.family === subnets[j]!.ip.family && (prefixContains(subnets[i]!, subnets[j]!.ip) || prefixContains(subnets[j]!, subnets[i]!.ip)))
        throw new InvalidInputError(`invalid IPAM configuration: subnets ${formatPrefix(subnets[i]!)} and ${formatPrefix(subnets[j]!)} overlap`);
}

/** Requests the pools, gateways and aux addresses of one family; registers undos. */
export function allocatePools(ipam: Ipam, net: NetworkRecord, v6: boolean, exclude: string[], undo: Undo, withGateway: boolean): PoolState[] {
  const confs = net.ipam.config.filter((c) => isV6(c) === v6);
  const list = confs.length ? confs : [{} as IpamConf];
  const out: PoolState[] = [];
  for (const c of list) {
    const req = c.Subnet
      ? { pool: c.Subnet, v6, ...(c.IPRange ? { subPool: c.IPRange } : {}) }
      : { v6, exclude };
    const pool = ipam.requestPool(req);
    undo.push(`release pool ${pool.poolId}`, () => ipam.releasePool(pool.poolId));
    const st: PoolState = { poolId: pool.poolId, subnet: pool.pool, aux: {} };
    if (pool.subPool) st.ipRange = pool.subPool;
    if (withGateway) {
      st.gateway = ipam.requestAddress(pool.poolId, c.Gateway ? { address: c.Gateway } : { gateway: true }).address;
    }
    for (const [name, a] of Object.entries(c.AuxiliaryAddresses ?? {})) {
      ipam.requestAddress(pool.poolId, { address: a });
      st.aux[name] = a;
    }
    out.push(st);
  }
  return out;
}

/** Restart: re-request a network's pools exactly as they were. */
export function replayPools(ipam: Ipam, pools: readonly PoolState[], v6: boolean): void {
  for (const p of pools) {
    ipam.requestPool({ pool: p.subnet, v6, ...(p.ipRange ? { subPool: p.ipRange } : {}) });
    if (p.gateway) ipam.requestAddress(p.poolId, { address: p.gateway });
    for (const a of Object.values(p.aux)) ipam.requestAddress(p.poolId, { address: a });
  }
}
