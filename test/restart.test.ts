import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { Controller } from '../src/controller/controller.js';
import { ownershipFor } from '../src/driver-api/ownership.js';
import { gate, ipLinks, ipNetnsList, nsName, tcpEcho, tempDir, uniq } from './helpers.js';

describe.skipIf(!gate.ok)(`restart after a crash ${gate.why}`, () => {
  const dir = tempDir('restart');
  afterAll(() => dir.remove());

  it('keeps the active sandboxes passing traffic, removes the rest with their links, frees their addresses, leaves nothing unknown', async () => {
    const prefix = uniq('').slice(0, 8);
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/restart-child.ts', dir.path, prefix], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        if (buf.includes('\n')) resolve(buf.split('\n')[0]!);
      });
      child.once('exit', (code) => reject(new Error(`child exited ${code} before reporting`)));
    });
    const made = JSON.parse(line) as { container: string; sandbox: string; key: string; ip: string }[];
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    const own = ownershipFor(dir.path);
    const keep = made.filter((m) => m.container.endsWith('keep1') || m.container.endsWith('keep2'));
    const drop = made.filter((m) => !keep.includes(m));
    const c = await Controller.start({ dataDir: dir.path, activeSandboxes: [keep[0]!.sandbox, keep[1]!.container] });
    try {
      expect(c.sandboxes().map((s) => s.id).sort()).toEqual(keep.map((k) => k.sandbox).sort());
      // The kept ones still talk to each other.
      expect(await tcpEcho(nsName(keep[1]!.key), keep[1]!.ip, nsName(keep[0]!.key), 'still here')).toBe('echo:still here');
      // The dropped ones are gone, with their namespaces and host links.
      for (const d of drop) expect(ipNetnsList()).not.toContain(nsName(d.key));
      const live = ipLinks().filter((l) => l.group === String(own.live));
      expect(live).toHaveLength(2);
      expect(ipLinks().filter((l) => l.group === String(own.dead))).toHaveLength(0);
      expect(ipNetnsList().filter((n) => n.startsWith(own.netnsPrefix)).sort()).toEqual(keep.map((k) => nsName(k.key)).sort());
      // Their addresses can be allocated again.
      const net = c.networkByName(`${prefix}net`)!;
      for (const d of drop) {
        const ep = net.createEndpoint(uniq('re'), { ipv4Address: d.ip });
        await ep.delete();
      }
      expect(() => net.createEndpoint(uniq('re'), { ipv4Address: keep[0]!.ip })).toThrow(/Address already in use/);
      expect(c.stats().endpoints).toBe(2);
    } finally {
      for (const s of c.sandboxes()) await s.destroy();
      for (const n of c.networks()) await n.delete();
      await c.stop();
    }
    expect(ipLinks().filter((l) => l.group === String(own.live) || l.group === String(own.dead))).toHaveLength(0);
  });
});
