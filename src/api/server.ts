// The HTTP side: a unix socket, owner-only, with the headers and error body
// shape the docker CLI checks (`Content-Type: application/json` exactly).
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Daemon } from '../daemon/daemon.js';
import { buildRouter, VERSION } from './routes.js';
import { API_VERSION, type ApiRequest, type ApiResponse, type Router } from './router.js';
import { statusOf } from './status.js';

const COMMON_HEADERS = {
  'Api-Version': API_VERSION,
  Ostype: 'linux',
  Server: `nsnet/${VERSION} (linux)`,
  'Docker-Experimental': 'false',
};

/** Runs one request through the router, turning thrown errors into Docker's error body. */
export async function respond(router: Router, req: ApiRequest): Promise<ApiResponse> {
  try {
    return await router.dispatch(req);
  } catch (e) {
    const status = statusOf(e);
    return { status, body: { message: (e as Error).message ?? String(e) } };
  }
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  if (!chunks.length) return undefined;
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return Symbol.for('invalid-json');
  }
}

function send(res: ServerResponse, out: ApiResponse, head: boolean): void {
  const headers: Record<string, string> = { ...COMMON_HEADERS, ...(out.headers ?? {}) };
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

export async function serve(d: Daemon, socketPath: string): Promise<ApiServer> {
  const router = buildRouter(d);
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://nsnet');
      const raw = await readBody(req);
      let out: ApiResponse;
      if (raw === Symbol.for('invalid-json')) out = { status: 400, body: { message: 'invalid JSON body' } };
      else out = await respond(router, { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, body: raw });
      send(res, out, req.method === 'HEAD');
    })().catch((e: unknown) => {
      if (!res.headersSent) send(res, { status: 500, body: { message: String(e) } }, false);
    });
  });
  if (existsSync(socketPath)) unlinkSync(socketPath);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  chmodSync(socketPath, 0o600);
  return {
    server,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      try { unlinkSync(socketPath); } catch { /* gone */ }
    }),
  };
}
