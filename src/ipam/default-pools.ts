// Docker's predefined local address pools, and the expansion of
// `default-address-pools`-style {base, size} entries into candidate subnets.
import { InvalidInputError } from '../errors.js';
import { bitsOf, formatPrefix, parsePrefix, prefixSize, type Prefix } from '../ip/addr.js';

export interface PoolSpec {
  base: string;
  /** Prefix length of each subnet carved from `base`. */
  size: number;
}

export const DOCKER_DEFAULT_POOLS: readonly PoolSpec[] = [
  { base: '172.17.0.0/16', size: 16 },
  { base: '172.18.0.0/16', size: 16 },
  { base: '172.19.0.0/16', size: 16 },
  { base: '172.20.0.0/14', size: 16 },
  { base: '172.24.0.0/14', size: 16 },
  { base: '172.28.0.0/14', size: 16 },
  { base: '192.168.0.0/16', size: 20 },
];

export const DOCKER_GLOBAL_POOLS: readonly PoolSpec[] = [{ base: '10.0.0.0/8', size: 24 }];

export function checkPoolSpecs(specs: readonly PoolSpec[]): void {
  for (const s of specs) {
    const p = parsePrefix(s.base);
    if (!Number.isInteger(s.size) || s.size < p.bits || s.size > bitsOf(p.ip.family))
      throw new InvalidInputError(`invalid default address pool ${s.base} size ${s.size}: size must be between ${p.bits} and ${bitsOf(p.ip.family)}`);
  }
}

/** Candidate subnets in order: each base split into subnets of `size`. */
export function* candidates(specs: readonly PoolSpec[], family: 4 | 6): Generator<Prefix> {
  for (const s of specs) {
    const base = parsePrefix(s.base);
    if (base.ip.family !== family) continue;
    const step = prefixSize({ ip: base.ip, bits: s.size });
    const end = base.ip.value + prefixSize(base);
    for (let v = base.ip.value; v < end; v += step) yield { ip: { family, value: v }, bits: s.size };
  }
}

export const countCandidates = (specs: readonly PoolSpec[], family: 4 | 6): number => {
  let n = 0;
  for (const _ of candidates(specs, family)) n++;
  return n;
};

export { formatPrefix };
