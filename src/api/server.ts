// The HTTP side: a unix socket, owner-only (socket.ts), with the headers and
// error body shape the docker CLI checks (`Content-Type: application/json`
// exactly). An answer is sent once the store writes it reports are durable.
import { randomBytes } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Daemon } from '../daemon/daemon.js';
import { buildRouter, VERSION } from './routes.js';
import { withCniRoutes } from './cni-routes.js';
import { API_VERSION, type ApiRequest, type ApiResponse, type Router } from './router.js';
import { listenOwnerOnly } from './socket.js';
import { knownStatusOf } from './status.js';

/**
 * Largest request body read. dockerd has no limit; nsnet's largest real
 * body (a container create) is a few KiB, and the daemon runs as root, so
 * 1 MiB leaves room for big label sets while bounding what one connection
 * can make it buffer.
 */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Server timeouts: a client must send its headers, and its whole request, in bounded time. */
export interface Timeouts { headersTimeout: number; requestTimeout: number; keepAliveTimeout: number }
export const TIMEOUTS: Readonly<Timeouts> = { headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5_000 };

const COMMON_HEADERS = {
  'Api-Version': API_VERSION,
  Ostype: 'linux',
  Server: `nsnet/${VERSION} (linux)`,
  'Docker-Experimental': 'false',
};

/** Runs a request and settles once its store writes are durable (Daemon.durably). */
export type Durably = <T>(fn: () => Promise<T>) => Promise<T>;

/**
 * Runs one request through the router, turning thrown errors into Docker's
 * error body. It settles only once the request's store writes are committed;
 * one that could not be (disk full, I/O error) makes it a 500 (ESTORE).
 */
export async function respond(router: Router, req: ApiRequest, durably: Durably = (fn) => fn()): Promise<ApiResponse> {
  try {
    return await durably(() => router.dispatch(req));
  } catch (e) {
    const status = knownStatusOf(e);
    if (status !== undefined) return { status, body: { message: (e as Error).message } };
    return internalError(e);
  }
}

/** An unexpected failure: the details go to stderr under an ID, the client gets only the ID. */
export function internalError(e: unknown): ApiResponse {
  const id = randomBytes(6).toString('hex');
  console.error(`nsnet: internal error ${id}:`, e instanceof Error ? e.stack ?? e.message : e);
  return { status: 500, body: { message: `internal error (id ${id})` } };
}

/** Reads at most MAX_BODY_BYTES; refuses a declared or streamed larger body without buffering it. */
async function readBody(req: IncomingMessage): Promise<{ ok: true; value: unknown } | { ok: false; out: ApiResponse }> {
  const tooLarge = {
    ok: false as const,
    // The rest of a refused body is never read: the connection cannot carry another request.
    out: { status: 413, body: { message: `request body is too large: the limit is ${MAX_BODY_BYTES} bytes` }, headers: { Connection: 'close' } },
  };
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return tooLarge;
  // Events, not async iteration: leaving an iterator early destroys the socket before the 413 is sent.
  const chunks = await new Promise<Buffer[] | undefined>((resolve, reject) => {
    const got: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) return void got.push(c);
      req.off('data', onData);
      req.pause();
      resolve(undefined);
    };
    req.on('data', onData);
    req.once('end', () => resolve(got));
    req.once('error', reject);
  });
  if (!chunks) return tooLarge;
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, out: { status: 400, body: { message: `invalid JSON: ${(e as Error).message}` } } };
  }
}

/** The JSON body of an upgrade request: Content-Length bytes, part of which may already be in `head`. */
async function readUpgradeBody(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<unknown> {
  const want = Math.min(Number(req.headers['content-length'] ?? 0) || 0, MAX_BODY_BYTES);
  let got = head;
  while (got.length < want) {
    const chunk = await new Promise<Buffer | undefined>((resolve) => {
      const onData = (c: Buffer) => { cleanup(); resolve(c); };
      const onEnd = () => { cleanup(); resolve(undefined); };
      const cleanup = () => { socket.off('data', onData); socket.off('end', onEnd); socket.off('error', onEnd); socket.pause(); };
      socket.on('data', onData);
      socket.once('end', onEnd);
      socket.once('error', onEnd);
      socket.resume();
    });
    if (!chunk) break;
    got = Buffer.concat([got, chunk]);
  }
  const text = got.subarray(0, want).toString('utf8');
  if (!text.trim()) return undefined;
  try { return JSON.parse(text); } catch { return 'invalid JSON'; }
}

function send(res: ServerResponse, out: ApiResponse, head: boolean): void {
  const headers: Record<string, string> = { ...COMMON_HEADERS, ...(out.headers ?? {}) };
  if (out.attach) {
    // Not upgraded: the same stream as a plain response body.
    res.writeHead(out.status, { ...headers, 'Content-Type': out.attach.contentType });
    // Sent now: a client waiting on a quiet stream (events, wait) knows it has begun.
    res.flushHeaders();
    const gone = out.attach.run((b) => { if (!res.destroyed) res.write(b); }, () => res.end());
    if (gone) res.once('close', gone);
    return;
  }
  let payload = '';
  if (out.text !== undefined) {
    payload = out.text;
    headers['Content-Type'] = 'text/plain; charset=utf-8';
  } else if (out.body !== undefined) {
    payload = `${JSON.stringify(out.body)}\n`;
    headers['Content-Type'] = 'application/json';
  }
  headers['Content-Length'] = String(head ? 0 : Buffer.byteLength(payload));
  res.writeHead(out.status, headers);
  res.end(head || out.status === 204 || out.status === 304 ? undefined : payload);
}

export interface ApiServer {
  server: Server;
  close(): Promise<void>;
}

export async function serve(d: Daemon, socketPath: string, timeouts: Readonly<Timeouts> = TIMEOUTS): Promise<ApiServer> {
  const router = withCniRoutes(buildRouter(d), d);
  const durably: Durably = (fn) => d.durably(fn);
  // connectionsCheckingInterval: how often the timeouts below are enforced.
  const server = createServer({ connectionsCheckingInterval: 1000, ...timeouts }, (req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://nsnet');
      const body = await readBody(req);
      if (!body.ok) return send(res, body.out, req.method === 'HEAD');
      const out = await respond(router, { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, body: body.value }, durably);
      send(res, out, req.method === 'HEAD');
    })().catch((e: unknown) => {
      if (!res.headersSent) send(res, internalError(e), false);
    });
  });
  // A client that asks to upgrade (docker exec's hijacked connection) gets
  // 101 and the raw socket; every other route refuses an upgrade.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://nsnet');
      const body = await readUpgradeBody(req, socket, head);
      let out = await respond(router, { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, body }, durably);
      if (!out.attach && out.status < 300) out = { status: 400, body: { message: 'this endpoint does not upgrade' } };
      if (!out.attach) {
        const text = `${JSON.stringify(out.body ?? {})}\n`;
        socket.end(`HTTP/1.1 ${out.status} ${STATUS_CODES[out.status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
        return;
      }
      const hdr = { ...COMMON_HEADERS, 'Content-Type': out.attach.contentType, Connection: 'Upgrade', Upgrade: 'tcp' };
      socket.write(`HTTP/1.1 101 UPGRADED\r\n${Object.entries(hdr).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
      socket.on('error', () => socket.destroy());
      const gone = out.attach.run((b) => { if (!socket.destroyed) socket.write(b); }, () => socket.end());
      if (gone) socket.once('close', gone);
    })().catch((e: unknown) => {
      internalError(e);
      socket.destroy();
    });
  });
  server.headersTimeout = timeouts.headersTimeout;
  server.requestTimeout = timeouts.requestTimeout;
  server.keepAliveTimeout = timeouts.keepAliveTimeout;
  const socket = await listenOwnerOnly(server, socketPath);
  return {
    server,
    close: () => new Promise<void>((resolve) => {
      socket.release();
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
