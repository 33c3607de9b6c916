// --local: an in-process daemon driven through the API's router, for use when
// no daemon runs on that data dir. Loaded only on demand: it brings in the
// whole daemon (controller, store, native addon).
import { respond } from '../api/server.js';
import { buildRouter } from '../api/routes.js';
import type { DaemonConfig } from '../daemon/config.js';
import { Daemon } from '../daemon/daemon.js';
import { CliError } from './args.js';
import type { Client } from './client.js';

export async function localClient(config: DaemonConfig): Promise<Client> {
  const d = await Daemon.start(config).catch((e: unknown) => {
    if ((e as { code?: unknown }).code !== 'EDATADIRLOCKED') throw e;
    throw new CliError(`${(e as Error).message}: talk to its daemon (-H/--socket) instead of --local`);
  });
  const router = buildRouter(d);
  return {
    call: (method, path, body) => {
      const url = new URL(path, 'http://local');
      return respond(router, { method, path: url.pathname, query: url.searchParams, body }, (fn) => d.durably(fn));
    },
    close: () => d.stop(),
  };
}
