// The address manager, on libnetwork's default IPAM model: address spaces
// hold pools, pools hand out addresses. It keeps no state of its own on disk:
// the controller replays pools and endpoint addresses from its store on start.
import { InvalidInputError } from '../errors.js';
import {
  bitsOf, formatIP, formatPrefix, parseIP, parsePrefix, prefixContains, prefixesOverlap, prefixLast, prefixSize,
  type Family, type IP, type Prefix,
} from '../ip/addr.js';
import { newAddrSet, type AddrSet } from './addrset.js';
import { candidates, checkPoolSpecs, DOCKER_DEFAULT_POOLS, DOCKER_GLOBAL_POOLS, type PoolSpec } from './default-pools.js';
import {
  errAddressInUse, errNoAvailableIps, errNoMoreSubnets, errOutOfRange, errPoolOverlap, IpamCode, IpamError,
} from './errors.js';

export type AddressSpace = 'local' | 'global';
const SPACE_NAME: Record<AddressSpace, string> = { local: 'LocalDefault', global: 'GlobalDefault' };

export const DEFAULT_V6_POOLS: readonly PoolSpec[] = [{ base: 'fd4e:736e:6574::/48', size: 64 }];

export interface IpamOptions {
  /** Local default pools (Docker's `default-address-pools`); IPv4 and IPv6 entries may be mixed. */
  localPools?: readonly PoolSpec[];
  globalPools?: readonly PoolSpec[];
}

export interface PoolRequest {
  addressSpace?: AddressSpace;
  /** A given subnet; omitted: the next free one from the default pools. */
  pool?: string;
  /** IPRange: dynamic allocations are restricted to it. */
  subPool?: string;
  v6?: boolean;
  /** Subnets an automatic choice must not overlap (the host's routes and addresses). */
  exclude?: readonly string[];
}

export interface AllocatedPool {
  poolId: string;
  pool: string;
  subPool?: string;
}

export interface AddressRequest {
  /** A specific address; omitted: the next free one. */
  address?: string;
  /** Round-robin: continue after the last pick so a just-released address isn't reused at once (Docker's default). */
  serial?: boolean;
  /** A gateway takes the first free address of the whole pool, ignoring the sub-range. */
  gateway?: boolean;
}

export interface Allocation {
  ip: IP;
  address: string;
  /** "address/prefix-length of the pool" */
  cidr: string;
}

class Pool {
  readonly set: AddrSet;
  readonly lo: bigint;  // dynamic range, offsets [lo, hi)
  readonly hi: bigint;
  readonly first: bigint; // usable offsets [first, last]
  readonly last: bigint;

  constructor(readonly id: string, readonly space: AddressSpace, readonly prefix: Prefix, readonly range?: Prefix) {
    const size = prefixSize(prefix);
    this.set = newAddrSet(size);
    const f = prefix.ip.family;
    // IPv4 keeps the network and broadcast addresses out (not on /31, /32);
    // IPv6 keeps the subnet-router anycast address out.
    this.first = (f === 4 && prefix.bits <= 30) || (f === 6 && prefix.bits <= 126) ? 1n : 0n;
    this.last = f === 4 && prefix.bits <= 30 ? size - 2n : size - 1n;
    if (range) {
      this.lo = range.ip.value - prefix.ip.value;
      this.hi = this.lo + prefixSize(range);
    } else {
      this.lo = 0n;
      this.hi = size;
    }
    if (this.first > this.lo) this.lo = this.first;
    if (this.last + 1n < this.hi) this.hi = this.last + 1n;
  }

  get name(): string {
    return formatPrefix(this.prefix);
  }

  offsetOf(ip: IP): bigint {
    if (!prefixContains(this.prefix, ip) || ip.value - this.prefix.ip.value < this.first || ip.value - this.prefix.ip.value > this.last)
      throw errOutOfRange(formatIP(ip), this.name);
    return ip.value - this.prefix.ip.value;
  }

  ipAt(off: bigint): IP {
    return { family: this.prefix.ip.family, value: this.prefix.ip.value + off };
  }
}

export class Ipam {
  private readonly pools = new Map<string, Pool>();
  private readonly specs: Record<AddressSpace, readonly PoolSpec[]>;

  constructor(opts: IpamOptions = {}) {
    const local = [...(opts.localPools ?? DOCKER_DEFAULT_POOLS)];
    if (!local.some((s) => s.base.includes(':'))) local.push(...DEFAULT_V6_POOLS);
    const global = opts.globalPools ?? DOCKER_GLOBAL_POOLS;
    checkPoolSpecs(local);
    checkPoolSpecs(global);
    this.specs = { local, global };
  }

  requestPool(req: PoolRequest = {}): AllocatedPool {
    const space = req.addressSpace ?? 'local';
    if (space !== 'local' && space !== 'global') throw new IpamError(IpamCode.InvalidAddressSpace, `invalid address space '${String(space)}'`);
    const family: Family = req.v6 ? 6 : 4;
    let prefix: Prefix;
    if (req.pool !== undefined) {
      prefix = parsePrefix(req.pool);
      if (prefix.ip.family !== family)
        throw new IpamError(IpamCode.InvalidPool, `pool ${req.pool} is not an IPv${family} subnet`);
      for (const p of this.pools.values())
        if (p.space === space && prefixesOverlap(p.prefix, prefix)) throw errPoolOverlap(formatPrefix(prefix), p.name);
    } else {
      if (req.subPool !== undefined) throw new IpamError(IpamCode.InvalidSubpool, 'a sub-pool needs an explicit pool');
      prefix = this.pickDefault(space, family, (req.exclude ?? []).map((e) => parsePrefix(e, true)));
    }
    let range: Prefix | undefined;
    if (req.subPool !== undefined) {
      range = parsePrefix(req.subPool);
      if (range.ip.family !== family || !prefixContains(prefix, range.ip) || prefixLast(range) > prefixLast(prefix))
        throw new IpamError(IpamCode.InvalidSubpool, `sub-pool ${req.subPool} is not inside pool ${formatPrefix(prefix)}`);
    }
    const id = `${SPACE_NAME[space]}/${formatPrefix(prefix)}${range ? `/${formatPrefix(range)}` : ''}`;
    const pool = new Pool(id, space, prefix, range);
    this.pools.set(id, pool);
    const out: AllocatedPool = { poolId: id, pool: pool.name };
    if (range) out.subPool = formatPrefix(range);
    return out;
  }

  private pickDefault(space: AddressSpace, family: Family, exclude: Prefix[]): Prefix {
    const taken = [...this.pools.values()].filter((p) => p.space === space).map((p) => p.prefix);
    for (const c of candidates(this.specs[space], family)) {
      if (taken.some((t) => prefixesOverlap(t, c))) continue;
      if (exclude.some((e) => prefixesOverlap(e, c))) continue;
      return c;
    }
    throw errNoMoreSubnets(family);
  }

  releasePool(poolId: string): void {
    if (!this.pools.delete(poolId)) throw new IpamError(IpamCode.PoolNotFound, `pool ${poolId} not found`);
  }

  private poolOf(poolId: string): Pool {
    const p = this.pools.get(poolId);
    if (!p) throw new IpamError(IpamCode.PoolNotFound, `pool ${poolId} not found`);
    return p;
  }

  requestAddress(poolId: string, req: AddressRequest = {}): Allocation {
    const p = this.poolOf(poolId);
    let off: bigint;
    if (req.address !== undefined) {
      const ip = parseIP(req.address);
      off = p.offsetOf(ip);
      if (!p.set.add(off)) throw errAddressInUse(req.address);
    } else {
      const [lo, hi] = req.gateway ? [p.first, p.last + 1n] : [p.lo, p.hi];
      const got = p.set.addAny(lo, hi, !req.gateway && (req.serial ?? true));
      if (got === undefined) throw errNoAvailableIps(p.name);
      off = got;
    }
    const ip = p.ipAt(off);
    const address = formatIP(ip);
    return { ip, address, cidr: `${address}/${p.prefix.bits}` };
  }

  releaseAddress(poolId: string, address: string): void {
    const p = this.poolOf(poolId);
    const off = p.offsetOf(parseIP(address));
    if (!p.set.remove(off)) throw new IpamError(IpamCode.IpOutOfRange, `address ${address} is not allocated in pool ${p.name}`);
  }

  /** releaseAddress for a parsed address (the churn path: no string parsing). */
  releaseIP(poolId: string, ip: IP): void {
    const p = this.poolOf(poolId);
    if (!p.set.remove(p.offsetOf(ip))) throw new IpamError(IpamCode.IpOutOfRange, `address ${formatIP(ip)} is not allocated in pool ${p.name}`);
  }

  isAllocated(poolId: string, address: string): boolean {
    const p = this.poolOf(poolId);
    return p.set.has(p.offsetOf(parseIP(address)));
  }

  /** Allocated count and usable size of a pool. */
  usage(poolId: string): { allocated: bigint; usable: bigint; bytes: number } {
    const p = this.poolOf(poolId);
    return { allocated: p.set.count, usable: p.last - p.first + 1n, bytes: p.set.bytes };
  }

  /** The serial cursor, persisted by the controller so a rebuilt pool continues where it was. */
  cursor(poolId: string): string {
    return this.poolOf(poolId).set.cursor.toString();
  }

  setCursor(poolId: string, cursor: string): void {
    const p = this.poolOf(poolId);
    const v = BigInt(cursor);
    if (v < 0n || v > prefixSize(p.prefix)) throw new InvalidInputError(`bad cursor ${cursor}`);
    p.set.cursor = v;
  }

  /** Every allocated address of a pool, ascending (replay tests and diagnostics). */
  allocated(poolId: string): string[] {
    const p = this.poolOf(poolId);
    const out: string[] = [];
    for (let off = p.first; off <= p.last && BigInt(out.length) < p.set.count; off++) if (p.set.has(off)) out.push(formatIP(p.ipAt(off)));
    return out;
  }

  poolIds(): string[] {
    return [...this.pools.keys()];
  }
}

export { bitsOf };
