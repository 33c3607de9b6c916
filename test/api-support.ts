// Shared plumbing for the API tests: an in-process daemon driven through the
// router (as --local does) or over a real socket, and its full cleanup.
import { spawnSync } from 'node:child_process';
import { buildRouter } from '../src/api/routes.js';
import { respond, serve, TIMEOUTS, type ApiServer, type Timeouts } from '../src/api/server.js';
import type { ApiResponse } from '../src/api/router.js';
import { daemonConfig } from '../src/daemon/config.js';
import { Daemon } from '../src/daemon/daemon.js';
import { ownershipFor } from '../src/driver-api/ownership.js';
import { releaseForwardingClaims } from '../src/firewall/firewall.js';
import { tableName } from '../src/firewall/ruleset.js';
import { tempDir, uniq } from './helpers.js';

export interface TestDaemon {
  d: Daemon;
  dataDir: string;
  bridge: string;
  call(method: string, path: string, body?: unknown): Promise<ApiResponse>;
  /** Serves the API on a socket in this process. */
  listen(timeouts?: Readonly<Timeouts>): Promise<{ socket: string; server: ApiServer }>;
  close(): Promise<void>;
}

/** A daemon whose default bridge and default pools live in `prefix` (e.g. '10.47'). */
export async function startTestDaemon(hint: string, prefix: string): Promise<TestDaemon> {
  const dir = tempDir(hint);
  const bridge = uniq('db');
  const dataDir = `${dir.path}/data`;
  const d = await Daemon.start(daemonConfig({
    dataDir,
    socket: `${dir.path}/s.sock`,
    bridge: { name: bridge, subnet: `${prefix}.0.0/24` },
    // Networks created without a subnet stay in the test's range, away from the host's.
    defaultPools: [{ base: `${prefix}.128.0/17`, size: 24 }],
  }));
  const router = buildRouter(d);
  let served: ApiServer | undefined;
  return {
    d,
    dataDir,
    bridge,
    call: (method, path, body) => {
      const url = new URL(path, 'http://local');
      return respond(router, { method, path: url.pathname, query: url.searchParams, body });
    },
    async listen(timeouts = TIMEOUTS) {
      const socket = `${dir.path}/api.sock`;
      served = await serve(d, socket, timeouts);
      return { socket, server: served };
    },
    async close() {
      await served?.close();
      for (const c of [...d.containers.values()]) await d.removeContainer(c.Id, true).catch(() => undefined);
      // A request the server was still answering (a prune, a delete) may remove networks meanwhile.
      for (const n of d.controller.networks()) {
        let type: string | undefined;
        try { type = n.type; } catch { continue; }
        if (type === 'bridge') await n.delete().catch(() => undefined);
      }
      await d.stop();
      cleanupDaemonLeftovers(dataDir, [bridge]);
      await releaseForwardingClaims(ownershipFor(dataDir).tag);
      dir.remove();
    },
  };
}

/** What a stopped daemon keeps on purpose (default bridge, nft table), removed. */
export function cleanupDaemonLeftovers(dataDir: string, bridges: string[]): void {
  for (const b of bridges) spawnSync('ip', ['link', 'del', b]);
  spawnSync('nft', ['delete', 'table', 'inet', tableName(ownershipFor(dataDir).tag)]);
}

