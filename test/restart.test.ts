import { execFileSync, spawn } from 'node:child_process';
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

  it('a bridge made but not yet marked (crash between its creation and its alias) is deleted on the next start; other bridges are not', async () => {
    const d2 = tempDir('restart-unmarked');
    let c = await Controller.start({ dataDir: d2.path });
    const made = c.marks().madeGroup;
    const net = await c.newNetwork({ name: uniq('um'), options: { 'com.docker.network.bridge.name': uniq('umb') }, ipam: { config: [{ Subnet: '10.48.7.0/24' }] } });
    const bridge = net.info().driverState['bridge'] as string;
    // nsnet's own bridge is born in the made group and carries its alias.
    expect(ipLinks().find((l) => l.ifname === bridge)).toMatchObject({ group: String(made) });
    await c.stop();
    // What a crash right after the creating request leaves: a bridge of the made group with no alias.
    const stray = uniq('umx');
    const user = uniq('umu');
    execFileSync('ip', ['link', 'add', stray, 'group', String(made), 'type', 'bridge']);
    execFileSync('ip', ['link', 'add', user, 'type', 'bridge']);
    try {
      c = await Controller.start({ dataDir: d2.path });
      const names = ipLinks().map((l) => l.ifname);
      expect(names).not.toContain(stray);
      expect(names).toContain(user);
      expect(names).toContain(bridge);
      await c.network(net.id).delete();
      await c.stop();
    } finally {
      execFileSync('ip', ['link', 'del', user]);
      if (ipLinks().some((l) => l.ifname === stray)) execFileSync('ip', ['link', 'del', stray]);
      d2.remove();
    }
  });

  it('a sandbox whose host end was already left (crash before the leave was stored) is not kept as running', async () => {
    const d = tempDir('restart-left');
    const own = ownershipFor(d.path);
    const bridge = uniq('rl');
    let c = await Controller.start({ dataDir: d.path, firewall: 'none' });
    const net = await c.newNetwork({ name: uniq('rln'), options: { 'com.docker.network.bridge.name': bridge }, ipam: { config: [{ Subnet: '10.48.250.0/24' }] } });
    const made: { sb: string; host: string; ip: string }[] = [];
    for (const name of ['left', 'kept']) {
      const sb = await c.newSandbox(uniq(name));
      const ep = net.createEndpoint(uniq(name));
      await ep.join(sb);
      made.push({ sb: sb.id, host: ep.info().hostIfname!, ip: ep.info().ipv4!.split('/')[0]! });
    }
    await c.stop();
    // What a stop's leave does in the kernel before its records are written.
    execFileSync('ip', ['link', 'set', 'dev', made[0]!.host, 'down', 'group', String(own.dead)]);
    c = await Controller.start({ dataDir: d.path, firewall: 'none', activeSandboxes: made.map((m) => m.sb) });
    try {
      expect(c.sandboxes().map((s) => s.id)).toEqual([made[1]!.sb]);
      expect(ipLinks().filter((l) => l.group === String(own.live)).map((l) => l.ifname)).toEqual([made[1]!.host]);
      expect(ipLinks().filter((l) => l.group === String(own.dead))).toHaveLength(0);
      // The dropped sandbox's address is free again.
      const again = c.networkByName(net.name)!.createEndpoint(uniq('re'), { ipv4Address: made[0]!.ip });
      await again.delete();
    } finally {
      for (const s of c.sandboxes()) await s.destroy();
      for (const n of c.networks()) if (n.type === 'bridge') await n.delete();
      await c.stop();
      d.remove();
    }
    expect(ipLinks().filter((l) => l.group === String(own.live) || l.group === String(own.dead))).toHaveLength(0);
  });
});
