// Plumbing for the chaos test: a seeded random source, a daemon child that
// can be SIGKILLed and restarted on its data dir, and a reader of what the
// kernel and the store hold that a daemon's API does not say.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import Database from 'better-sqlite3';
import Docker from 'dockerode';
import { ipJson } from './helpers.js';

/** mulberry32: small, seedable, good enough to pick operations and moments. */
export function rng(seed: number): { next(): number; int(n: number): number; pick<T>(xs: readonly T[]): T } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: (xs) => xs[int(xs.length)]! };
}

export interface DaemonChild { proc: ChildProcess; docker: Docker }

/** Starts `nsnet daemon` and waits until it answers (a killed one leaves its socket file behind). */
export async function startDaemonChild(args: string[], socket: string): Promise<DaemonChild> {
  const proc = spawn(process.execPath, ['bin/nsnet.js', 'daemon', '--socket', socket, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
  const docker = new Docker({ socketPath: socket });
  for (let i = 0; i < 150; i++) {
    if (proc.exitCode !== null) throw new Error(`daemon exited ${proc.exitCode}: ${err}`);
    if (await docker.ping().then(() => true, () => false)) return { proc, docker };
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill('SIGKILL');
  throw new Error(`daemon did not answer: ${err}`);
}

export async function stopDaemonChild(d: DaemonChild, signal: NodeJS.Signals): Promise<void> {
  if (d.proc.exitCode !== null || d.proc.signalCode !== null) return;
  const gone = new Promise((r) => d.proc.once('exit', r));
  d.proc.kill(signal);
  await gone;
}

/** Host veth ends enslaved to each of `bridges`. */
export function vethsOn(bridges: readonly string[]): Map<string, string[]> {
  const links = ipJson<{ ifname: string; master?: string; linkinfo?: { info_kind?: string } }[]>(['-d', 'link', 'show']);
  return new Map(bridges.map((b) => [b, links.filter((l) => l.master === b && l.linkinfo?.info_kind === 'veth').map((l) => l.ifname)]));
}

/** Links in the controller's interface groups (live or dead), wherever they are. */
export function linksInGroups(groups: readonly number[]): string[] {
  const links = ipJson<{ ifname: string; group?: string }[]>(['-d', 'link', 'show']);
  return links.filter((l) => groups.some((g) => l.group === String(g) || l.group === `0x${g.toString(16)}`)).map((l) => l.ifname);
}

export const namespacesWith = (runDir: string, prefix: string): string[] =>
  readdirSync(runDir).filter((n) => n.startsWith(prefix));

/** Published-port elements in the daemon's table: `<proto> . <port>` keys of the ports maps. */
export function publishedElements(table: string): string[] {
  let out: string;
  try {
    out = execFileSync('nft', ['-j', 'list', 'table', 'inet', table], { encoding: 'utf8' });
  } catch {
    return [];
  }
  const items = (JSON.parse(out) as { nftables: { map?: { name: string; elem?: unknown[] } }[] }).nftables;
  return items.flatMap((i) => (i.map && /^ports[46]/.test(i.map.name) ? (i.map.elem ?? []).map((e) => JSON.stringify(e)) : []));
}

/** The store's rows by kind, read beside the live daemon (SQLite readers do not block the writer). */
export function storeRows(dataDir: string): Map<string, { id: string; json: Record<string, unknown> }[]> {
  const db = new Database(`${dataDir}/nsnet.db`, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT kind, id, json FROM objects').all() as { kind: string; id: string; json: string }[];
    const m = new Map<string, { id: string; json: Record<string, unknown> }[]>();
    for (const r of rows) {
      const list = m.get(r.kind) ?? [];
      list.push({ id: r.id, json: JSON.parse(r.json) as Record<string, unknown> });
      m.set(r.kind, list);
    }
    return m;
  } finally {
    db.close();
  }
}
