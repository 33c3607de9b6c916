// How the CLI reaches a daemon: HTTP over its unix socket. Every client run
// loads this file, so it stays free of the daemon (see local-client.ts).
import { request } from 'node:http';
import type { ApiResponse } from '../api/router.js';

export interface Client {
  call(method: string, path: string, body?: unknown): Promise<ApiResponse>;
  close(): Promise<void>;
}

export function socketClient(socketPath: string): Client {
  return {
    call: (method, path, body) => new Promise<ApiResponse>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request({
        socketPath, method, path: `/v1.50${path}`,
        headers: payload ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {},
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const json = res.headers['content-type'] === 'application/json' && text ? JSON.parse(text) as unknown : undefined;
          resolve({ status: res.statusCode ?? 500, ...(json !== undefined ? { body: json } : { text }) });
        });
      });
      req.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' || e.code === 'ECONNREFUSED'
        ? new Error(`Cannot connect to the nsnet daemon at unix://${socketPath}. Is the daemon running? (or use --local)`) : e));
      if (payload) req.write(payload);
      req.end();
    }),
    close: async () => undefined,
  };
}
