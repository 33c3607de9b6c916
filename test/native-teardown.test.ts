// Worker threads that load the addon and are terminated with operations in
// flight must not take the process down (NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS,
// cleanup hooks joining the lane threads).
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import * as nl from '../src/netlink/index.js';

describe('addon teardown', () => {
  it('terminating workers with thousands of requests in flight leaves the process working', async () => {
    const code = `
      const { createRequire } = require('node:module');
      const req = createRequire(${JSON.stringify(new URL('../package.json', import.meta.url).pathname)});
      const addon = req('./build/Release/nsnet.node');
      const { parentPort } = require('node:worker_threads');
      // The first on the slow lane: with a job pending, the rest queue instead of running inline.
      for (let i = 0; i < 5000; i++) Promise.resolve(addon.submit(i === 0 ? 1 : 0, [[0, 'noop', '', 0]])).catch(() => {});
      parentPort.postMessage('queued');
    `;
    const workers = Array.from({ length: 8 }, () => new Worker(code, { eval: true }));
    await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))));
    const codes = await Promise.all(workers.map((w) => w.terminate()));
    expect(codes).toHaveLength(8);
    // The main thread's own engine still answers.
    await expect(nl.run(nl.noop())).resolves.toBeUndefined();
    expect(nl.nativeStats().threads).toBeGreaterThanOrEqual(2);
  });
});
