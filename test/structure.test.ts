// The source tree's rules, read from the code itself: imports run one way
// (api/cli → daemon → controller → drivers → driver-api → firewall / ipam /
// store → netlink → ip → errors), no file imports itself through a cycle,
// and every error code nsnet raises has an HTTP status.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STATUS_BY_CODE } from '../src/api/status.js';
import { IpamCode } from '../src/ipam/errors.js';

const SRC = resolve('src');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

const all = files(SRC);
const source = new Map(all.map((f) => [f, readFileSync(f, 'utf8')]));

/** Relative imports (static, dynamic and re-exports), resolved to .ts files. */
function importsOf(file: string): string[] {
  const text = source.get(file)!;
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g))
    out.push(resolve(dirname(file), m[1]!).replace(/\.js$/, '.ts'));
  return out;
}

// Rank of each top-level part of src/: a file may import only from a
// higher rank, or from its own folder.
const RANK: Record<string, number> = {
  'index.ts': 0, 'demo.ts': 0, cli: 1, api: 2, daemon: 3, cni: 3, dns: 3.5, cluster: 3.7, controller: 4, drivers: 5, 'driver-api': 6,
  firewall: 7, ipam: 7, store: 7, netlink: 8, ip: 9, 'errors.ts': 10, 'random.ts': 10,
};
const part = (f: string): string => relative(SRC, f).split('/')[0]!;

describe('source structure', () => {
  it('every part of src/ has a rank', () => {
    expect(all.length).toBeGreaterThan(40);
    for (const f of all) expect(RANK[part(f)], relative(SRC, f)).toBeTypeOf('number');
  });

  it('imports run one way: down the layers, never up or sideways', () => {
    const bad: string[] = [];
    for (const f of all) {
      for (const target of importsOf(f)) {
        expect(source.has(target), `${relative(SRC, f)} imports a missing ${relative(SRC, target)}`).toBe(true);
        const [a, b] = [part(f), part(target)];
        if (a !== b && !(RANK[a]! < RANK[b]!)) bad.push(`${relative(SRC, f)} -> ${relative(SRC, target)}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('no module under drivers/, firewall/, netlink/ or ipam/ imports from controller/, daemon/ or api/', () => {
    const low = all.filter((f) => ['drivers', 'driver-api', 'firewall', 'netlink', 'ipam'].includes(part(f)));
    const bad = low.flatMap((f) => importsOf(f).filter((t) => ['controller', 'daemon', 'api', 'cli'].includes(part(t)))
      .map((t) => `${relative(SRC, f)} -> ${relative(SRC, t)}`));
    expect(low.length).toBeGreaterThan(15);
    expect(bad).toEqual([]);
  });

  it('no import cycles between files', () => {
    const graph = new Map(all.map((f) => [f, importsOf(f)]));
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, path: string[]): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...path.slice(path.indexOf(f)), f].map((x) => relative(SRC, x)).join(' -> '));
        return;
      }
      state.set(f, 'open');
      for (const t of graph.get(f) ?? []) visit(t, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of all) visit(f, []);
    expect(cycles).toEqual([]);
  });
});

describe('error codes', () => {
  // Codes appear as the first argument of NsnetError, a subclass's super(),
  // a code argument after the message, a default parameter, or IpamCode.
  const raised = new Set<string>(Object.values(IpamCode));
  for (const text of source.values()) {
    for (const re of [/super\('([A-Z][A-Z_]+)'/g, /new NsnetError\('([A-Z][A-Z_]+)'/g, /Error\([^;]*?, '(E[A-Z_]+)'\)/g, /code = '([A-Z][A-Z_]+)'/g]) {
      for (const m of text.matchAll(re)) raised.add(m[1]!);
    }
  }
  // Kernel errno names passed to helpers that ignore them are not nsnet's codes.
  for (const errno of ['ENODEV', 'EEXIST', 'ESTALE', 'ENOENT', 'EBUSY', 'EADDRNOTAVAIL', 'ENOSPC']) raised.delete(errno);

  it('every code nsnet raises has an HTTP status, and the table lists nothing else', () => {
    expect(raised.size).toBeGreaterThan(30);
    const missing = [...raised].filter((c) => STATUS_BY_CODE[c] === undefined);
    expect(missing).toEqual([]);
    const unused = Object.keys(STATUS_BY_CODE).filter((c) => !raised.has(c));
    expect(unused).toEqual([]);
  });
});
