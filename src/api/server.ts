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

/**
 * The JSON body of an upgrade request: Content-Length bytes, part of which
 * may already be in `head`; undefined when the connection went first.
 */
async function readUpgradeBody(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<{ value: unknown } | undefined> {
  const want = Math.min(Number(req.headers['content-length'] ?? 0) || 0, MAX_BODY_BYTES);
  let got = head;
  while (got.length < want) {
    const chunk = await new Promise<Buffer | undefined>((resolve) => {
      const onData = (c: Buffer) => { cleanup(); resolve(c); };
      const onEnd = () => { cleanup(); resolve(undefined); };
      const cleanup = () => {
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.off('error', onEnd);
        socket.off('close', onEnd);
        socket.pause();
      };
      socket.on('data', onData);
      socket.once('end', onEnd);
      socket.once('error', onEnd);
      socket.once('close', onEnd);
      socket.resume();
    });
    if (!chunk) return undefined;
    got = Buffer.concat([got, chunk]);
  }
  const text = got.subarray(0, want).toString('utf8');
  if (!text.trim()) return { value: undefined };
  try { return { value: JSON.parse(text) }; } catch { return { value: 'invalid JSON' }; }
}

/** The request target, or undefined for one that is no URL path (Go's server answers 400). */
function target(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://nsnet');
  } catch {
    return undefined;
  }
}

const BAD_TARGET: ApiResponse = { status: 400, body: { message: 'invalid request target' } };

/** Hands a stream answer the raw connection; what its run returns runs once the connection closes. */
function streamTo(socket: Duplex, attach: NonNullable<ApiResponse['attach']>): void {
  const gone = attach.run((b) => { if (!socket.destroyed) socket.write(b); }, () => socket.end());
  if (gone) socket.once('close', gone);
}

/** An answer written on a connection the HTTP server has handed over (an upgrade request), then closed. */
function sendRaw(socket: Duplex, out: ApiResponse, head: boolean): void {
  if (socket.destroyed) return;
  const headers: Record<string, string> = { ...COMMON_HEADERS, ...(out.headers ?? {}), Connection: 'close' };
  const line = (status: number) => `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
  const fields = () => Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  if (out.attach) {
    // A stream that is not taken over: a plain body, ended by closing the connection.
    headers['Content-Type'] = out.attach.contentType;
    socket.write(`${line(out.status)}${fields()}\r\n`);
    return streamTo(socket, out.attach);
  }
  const payload = bodyOf(out, head, headers);
  socket.end(`${line(out.status)}${fields()}\r\n${payload}`);
  // Sockets handed over stay half-open: a client that never closes its side is not kept past this.
  const linger = setTimeout(() => socket.destroy(), 5_000);
  socket.once('close', () => clearTimeout(linger));
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
  const payload = bodyOf(out, head, headers);
  res.writeHead(out.status, headers);
  res.end(payload || undefined);
}

/** The bytes of a non-stream answer (none for HEAD, 204 and 304), its Content-Type and Content-Length set in `headers`. */
function bodyOf(out: ApiResponse, head: boolean, headers: Record<string, string>): string {
  let payload = '';
  if (out.text !== undefined) {
    payload = out.text;
    headers['Content-Type'] = 'text/plain; charset=utf-8';
  } else if (out.body !== undefined) {
    payload = `${JSON.stringify(out.body)}\n`;
    headers['Content-Type'] = 'application/json';
  }
  if (head || out.status === 204 || out.status === 304) payload = '';
  headers['Content-Length'] = String(Buffer.byteLength(payload));
  return payload;
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
      const url = target(req);
      if (!url) return send(res, BAD_TARGET, false);
      const body = await readBody(req);
      if (!body.ok) return send(res, body.out, req.method === 'HEAD');
      const out = await respond(router, { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, body: body.value }, durably);
      send(res, out, req.method === 'HEAD');
    })().catch((e: unknown) => {
      if (!res.headersSent) send(res, internalError(e), false);
    });
  });
  // A client that asks to upgrade gets 101 and the raw socket from a route
  // that takes the connection over (docker exec's); any other route answers
  // as it would without the upgrade (as Go's server does), then closes.
  // Connections handed over: the server no longer closes them, close() does.
  const handedOver = new Set<Duplex>();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    handedOver.add(socket);
    socket.once('close', () => handedOver.delete(socket));
    // A client gone before its answer is written must not take the daemon with it.
    socket.on('error', () => socket.destroy());
    // The server's own timeouts no longer reach a socket handed over here: its body still arrives within requestTimeout.
    const late = setTimeout(() => socket.destroy(), timeouts.requestTimeout);
    socket.once('close', () => clearTimeout(late));
    void (async () => {
      const url = target(req);
      if (!url) return sendRaw(socket, BAD_TARGET, false);
      const body = await readUpgradeBody(req, socket, head);
      clearTimeout(late);
      // The client left (its half of the connection is closed; the server keeps sockets half-open): close ours.
      if (!body) return void socket.destroy();
      const out = await respond(router, { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, body: body.value }, durably);
      if (!out.attach?.hijack) return sendRaw(socket, out, req.method === 'HEAD');
      const hdr = { ...COMMON_HEADERS, 'Content-Type': out.attach.contentType, Connection: 'Upgrade', Upgrade: 'tcp' };
      socket.write(`HTTP/1.1 101 UPGRADED\r\n${Object.entries(hdr).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
      streamTo(socket, out.attach);
    })().catch((e: unknown) => {
      clearTimeout(late);
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
      // A quiet exec stream (docker exec c sleep 1000) would otherwise hold the shutdown.
      for (const sock of handedOver) sock.destroy();
    }),
  };
}
