// IPAM throughput: allocate+release pairs per second on pools at a given
// fill level, against a naive Set-and-scan allocator run in the same process.
import { Ipam } from '../dist/ipam/index.js';
import { formatIP, parsePrefix } from '../dist/ip/addr.js';
import { machine, now, table, writeResult } from './stats.js';

const QUICK = process.env.NSNET_BENCH_QUICK === '1';

/** The baseline: what one writes without thinking (a Set and a linear scan from a cursor). */
class NaiveAllocator {
  private taken = new Set<number>();
  private cursor = 1;
  constructor(private readonly size: number) {}
  take(i: number): void { this.taken.add(i); }
  allocate(): number {
    for (let k = 0; k < this.size; k++) {
      const i = 1 + ((this.cursor - 1 + k) % (this.size - 2));
      if (!this.taken.has(i)) { this.taken.add(i); this.cursor = i + 1; return i; }
    }
    throw new Error('full');
  }
  release(i: number): void { this.taken.delete(i); }
}

function fill(ipam: Ipam, poolId: string, base: bigint, usable: number, fraction: number, family: 4 | 6): void {
  // Scatter the taken addresses so searches cannot ride one long run.
  const target = Math.floor(usable * fraction);
  const stride = 7919; // prime, coprime with the pool sizes used here
  let k = 0;
  for (let n = 0; n < target; n++) {
    k = (k + stride) % usable;
    const addr = formatIP({ family, value: base + 1n + BigInt(k) });
    try { ipam.requestAddress(poolId, { address: addr }); } catch { n--; k++; }
  }
}

function pairsPerSec(run: (n: number) => void, budgetMs: number): number {
  let n = 1000;
  for (;;) {
    const t = now();
    run(n);
    const ms = (now() - t) / 1e6;
    if (ms >= budgetMs) return (n / ms) * 1000;
    n *= 2;
  }
}

const budget = QUICK ? 150 : 600;
const rows: (string | number)[][] = [['pool', 'fill', 'nsnet pairs/s', 'naive pairs/s', 'ratio', 'pool bytes']];
const results: Record<string, unknown> = {};

const cases: { prefix: string; fill: number; v6?: boolean }[] = [
  { prefix: '10.0.0.0/24', fill: 0.9 },
  { prefix: '10.0.0.0/16', fill: 0.1 },
  { prefix: '10.0.0.0/16', fill: 0.9 },
  { prefix: '10.0.0.0/16', fill: 0.99 },
  { prefix: '10.0.0.0/8', fill: 0.9 },
  { prefix: 'fd00::/64', fill: 0, v6: true },
];

for (const c of cases) {
  if (QUICK && c.prefix.endsWith('/8')) continue;
  const p = parsePrefix(c.prefix);
  const usable = c.v6 ? 200_000 : Number((1n << BigInt(32 - p.bits)) - 2n);
  const ipam = new Ipam();
  const id = ipam.requestPool({ pool: c.prefix, v6: !!c.v6 }).poolId;
  if (c.v6) for (let i = 0; i < 100_000; i++) ipam.requestAddress(id); // some residents
  else fill(ipam, id, p.ip.value, usable, c.fill, 4);
  const nsnet = pairsPerSec((n) => {
    for (let i = 0; i < n; i++) ipam.releaseIP(id, ipam.requestAddress(id).ip);
  }, budget);
  let naive = NaN;
  if (!c.v6 && usable <= 70_000) {
    const base = new NaiveAllocator(usable + 2);
    let k = 0;
    for (let n = 0; n < Math.floor(usable * c.fill); n++) { k = (k + 7919) % usable; base.take(1 + k); }
    naive = pairsPerSec((n) => { for (let i = 0; i < n; i++) base.release(base.allocate()); }, budget);
  }
  const bytes = ipam.usage(id).bytes;
  rows.push([c.prefix, `${Math.round(c.fill * 100)}%`, Math.round(nsnet), Number.isNaN(naive) ? 'n/a' : Math.round(naive),
    Number.isNaN(naive) ? 'n/a' : `${(nsnet / naive).toFixed(1)}x`, bytes]);
  results[`${c.prefix}@${c.fill}`] = { pairsPerSec: Math.round(nsnet), naivePairsPerSec: Number.isNaN(naive) ? null : Math.round(naive), bytes };
}

const slow = (results['10.0.0.0/16@0.1'] as { pairsPerSec: number }).pairsPerSec / (results['10.0.0.0/16@0.99'] as { pairsPerSec: number }).pairsPerSec;
console.log(table(rows));
console.log(`\n/16 slowdown from 10% to 99% full: ${slow.toFixed(2)}x (target <= 2x)`);
const file = writeResult('ipam.json', { ...machine(), quick: QUICK, results, slowdown16_10to99: slow });
console.log(`written ${file}`);
