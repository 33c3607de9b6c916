// How the CLI reaches a daemon: HTTP over its unix socket. Every client run
// loads this file, so it stays free of the daemon (see local-client.ts).
import { exchange } from './http1.js';
import type { ApiResponse } from '../api/router.js';

export interface Client {
  call(method: string, path: string, body?: unknown): Promise<ApiResponse>;
  close(): Promise<void>;
}

export function socketClient(socketPath: string): Client {
  return {
    call: async (method, path, body) => {
      let res;
      try {
        res = await exchange(socketPath, method, `/v1.50${path}`, body === undefined ? undefined : JSON.stringify(body));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ECONNREFUSED')
          throw new Error(`Cannot connect to the nsnet daemon at unix://${socketPath}. Is the daemon running? (or use --local)`);
        throw e;
      }
      const text = res.body.toString('utf8');
      const json = res.headers['content-type'] === 'application/json' && text ? JSON.parse(text) as unknown : undefined;
      return { status: res.status, ...(json !== undefined ? { body: json } : { text }) };
    },
    close: async () => undefined,
  };
}
