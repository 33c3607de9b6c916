// Shared test plumbing: privilege gate, unique names, `ip -j` readers, fds.
import { execFileSync, spawn } from 'node:child_process';
import type { Controller } from '../src/index.js';
import { request } from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';

function capabilityGate(): { ok: boolean; why: string } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const eff = BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(status)?.[1] ?? '0'}`);
  const netAdmin = (eff >> 12n) & 1n;
  const sysAdmin = (eff >> 21n) & 1n;
  if (netAdmin && sysAdmin) return { ok: true, why: '' };
  return { ok: false, why: `needs CAP_NET_ADMIN+CAP_SYS_ADMIN (uid ${process.getuid?.()}, CapEff ${eff.toString(16)})` };
}

export const gate = capabilityGate();
export const canNetAdmin = gate.ok;

/** Every kernel object tests make starts with this, so the leak check can find strays. */
export const TEST_PREFIX = 'nt';
let counter = 0;
const tag = (process.pid % 46656).toString(36).padStart(3, '0');
/** A unique name of at most 15 bytes: nt + pid tag + counter + short hint. */
export const uniq = (hint = ''): string => `${TEST_PREFIX}${tag}${(counter++).toString(36)}${hint}`.slice(0, 15);

export function ipJson<T = unknown>(args: string[]): T {
  return JSON.parse(execFileSync('ip', ['-j', ...args], { encoding: 'utf8' }) || '[]') as T;
}

export interface IpLink { ifname: string; ifindex: number; mtu: number; flags: string[]; master?: string; address?: string; group?: string; ifalias?: string; linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> } }
export const ipLinks = (ns?: string): IpLink[] => ipJson<IpLink[]>([...(ns ? ['-n', ns] : []), '-d', 'link', 'show']);
export const ipLink = (name: string, ns?: string): IpLink | undefined => ipLinks(ns).find((l) => l.ifname === name);
export const ipAddrs = (ns: string | undefined, dev: string): string[] =>
  ipJson<{ addr_info: { local: string; prefixlen: number; scope: string }[] }[]>([...(ns ? ['-n', ns] : []), 'addr', 'show', 'dev', dev])
    .flatMap((l) => l.addr_info.filter((a) => a.scope !== 'link').map((a) => `${a.local}/${a.prefixlen}`));
export const ipNetnsList = (): string[] => ipJson<{ name: string }[]>(['netns', 'list']).map((n) => n.name);

export const openFds = (): number => readdirSync('/proc/self/fd').length;

export function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8' });
}

/** The command prefix that runs a program in a namespace: a name under /run/netns, or a path (nsenter). */
const inNetns = (ns: string): [string, string[]] =>
  ns.startsWith('/') ? ['nsenter', [`--net=${ns}`]] : ['ip', ['netns', 'exec', ns]];

/**
 * A one-shot TCP echo: a server in `serverNs` answers `payload` sent by a
 * client in `clientNs` (names under /run/netns, or namespace paths). Uses
 * python3; traffic stays in the namespaces and bridges the test made.
 */
export async function tcpEcho(serverNs: string, serverIp: string, clientNs: string, payload: string, port = 7777): Promise<string> {
  const [srvCmd, srvPre] = inNetns(serverNs);
  const server = spawn(srvCmd, [...srvPre, 'python3', '-c', `
import socket
s = socket.socket(socket.AF_INET6 if ':' in '${serverIp}' else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('${serverIp}', ${port})); s.listen(1); print('ready', flush=True)
s.settimeout(10)
c, _ = s.accept(); d = c.recv(65536); c.sendall(b'echo:' + d); c.close()
`], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    server.stdout.once('data', () => resolve());
    server.once('exit', (code) => reject(new Error(`echo server exited ${code}`)));
  });
  try {
    const [cliCmd, cliPre] = inNetns(clientNs);
    return execFileSync(cliCmd, [...cliPre, 'python3', '-c', `
import socket, sys
s = socket.create_connection(('${serverIp}', ${port}), timeout=5)
s.sendall(sys.argv[1].encode()); print(s.recv(65536).decode(), end='')
`, payload], { encoding: 'utf8', timeout: 10_000 });
  } finally {
    server.kill();
  }
}

/**
 * Whether `ip` answers at all from `clientNs`, by a TCP connect to a port
 * nobody listens on: 'refused' (a reset came back: reachable) or 'timeout'
 * (nothing came back within `seconds`).
 */
export function tcpProbe(clientNs: string, ip: string, seconds = 2, port = 7): 'refused' | 'timeout' | 'connected' {
  const [cmd, pre] = inNetns(clientNs);
  return execFileSync(cmd, [...pre, 'python3', '-c', `
import socket
try:
    socket.create_connection(('${ip}', ${port}), timeout=${seconds}); print('connected', end='')
except ConnectionRefusedError: print('refused', end='')
except (socket.timeout, OSError): print('timeout', end='')
`], { encoding: 'utf8', timeout: (seconds + 5) * 1000 }) as 'refused' | 'timeout' | 'connected';
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(hint: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `nsnet-${hint}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export const nsName = (key: string): string => key.split('/').pop()!;

export const bridgeOpt = (name: string): Record<string, string> => ({ 'com.docker.network.bridge.name': name });

/** Removes everything a controller holds (sandboxes, endpoints, networks), then stops it. */
export async function removeAllAndStop(c: Controller): Promise<void> {
  for (const s of c.sandboxes()) await s.destroy();
  for (const n of c.networks()) {
    for (const e of n.endpoints()) await e.delete(true);
    await n.delete();
  }
  await c.stop();
}

/** One raw HTTP exchange on a unix socket (bodies of any size, any headers). */
export function rawRequest(socket: string, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method, path, headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
    });
    // The server may answer and close before the whole body is sent.
    req.on('error', (e) => reject(e));
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

/** One JSON request to a daemon's socket: the answer's body parsed when it is JSON, else its text. */
export async function apiJson(socket: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const r = await rawRequest(socket, method, path, body === undefined ? undefined : JSON.stringify(body));
  let parsed: unknown = r.text;
  try { parsed = r.text ? JSON.parse(r.text) : undefined; } catch { /* plain text */ }
  return { status: r.status, body: parsed };
}
