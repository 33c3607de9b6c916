// Small statistics and reporting helpers shared by the benchmarks.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';

export interface Summary {
  n: number;
  median_ms: number;
  p90_ms: number;
  p99_ms: number;
}

export function summarize(samplesNs: number[]): Summary {
  const s = [...samplesNs].sort((a, b) => a - b);
  // Nearest rank: the smallest sample with at least p of all samples at or below it.
  const q = (p: number) => (s.length ? s[Math.max(0, Math.ceil(p * s.length) - 1)]! / 1e6 : NaN);
  return { n: s.length, median_ms: q(0.5), p90_ms: q(0.9), p99_ms: q(0.99) };
}

export const now = (): number => Number(process.hrtime.bigint());

export function machine(): { date: string; kernel: string; cpus: number; cpu: string; node: string } {
  return { date: new Date().toISOString(), kernel: release(), cpus: cpus().length, cpu: cpus()[0]?.model ?? '?', node: process.version };
}

export function writeResult(name: string, data: unknown): string {
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL(name, dir);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file.pathname;
}

export function table(rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? (Number.isInteger(c) ? String(c) : c.toFixed(3)) : c)));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r, k) => {
    const line = `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
    return k === 0 ? `${line}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|` : line;
  }).join('\n');
}
