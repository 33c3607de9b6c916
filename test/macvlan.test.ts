// The macvlan driver: containers on a parent interface the test made (one
// end of a veth pair whose other end sits in a namespace acting as the
// external network's router, holding the gateway address).
import { execFile, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller, type Network } from '../src/controller/controller.js';
import { internals } from '../src/controller/internals.js';
import { faults } from '../src/driver-api/faults.js';
import { ownershipFor } from '../src/driver-api/ownership.js';
import { releaseForwardingClaims } from '../src/firewall/firewall.js';
import { tableName } from '../src/firewall/ruleset.js';
import { startTestDaemon, type TestDaemon } from './api-support.js';
import { bridgeOpt, gate, ipAddrs, ipJson, ipLinks, ipNetnsList, nsName, sh, tcpEcho, tempDir, uniq, removeAllAndStop } from './helpers.js';

const macvlans = (ns?: string) => ipLinks(ns).filter((l) => l.linkinfo?.info_kind === 'macvlan');

describe.skipIf(!gate.ok)(`macvlan driver ${gate.why}`, () => {
  const dir = tempDir('mv');
  const ext = uniq('ext');
  const parent = uniq('mvp');
  const extEnd = uniq('mve');
  let c: Controller;

  beforeAll(async () => {
    sh('ip', ['netns', 'add', ext]);
    sh('ip', ['link', 'add', parent, 'type', 'veth', 'peer', 'name', extEnd, 'netns', ext]);
    sh('ip', ['link', 'set', parent, 'up']);
    sh('ip', ['-n', ext, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', ext, 'link', 'set', extEnd, 'up']);
    sh('ip', ['-n', ext, 'addr', 'add', '10.37.1.1/24', 'dev', extEnd]);
    c = await Controller.start({ dataDir: dir.path, firewall: 'none' });
  });

  afterAll(async () => {
    faults.clear();
    await removeAllAndStop(c);
    spawnSync('ip', ['link', 'del', parent]);
    spawnSync('ip', ['netns', 'del', ext]);
    dir.remove();
  });

  const macvlanNet = (subnet: string, gateway: string, extra: Partial<Parameters<Controller['newNetwork']>[0]> = {}): Promise<Network> =>
    c.newNetwork({ name: uniq('mv'), driver: 'macvlan', options: { parent, macvlan_mode: 'bridge' }, ipam: { config: [{ Subnet: subnet, Gateway: gateway }] }, ...extra });

  it('two sandboxes exchange TCP with each other and with the external host; the gateway is on the external network', async () => {
    const net = await macvlanNet('10.37.1.0/24', '10.37.1.1');
    expect(net.info().driver).toBe('macvlan');
    expect(net.info().driverState).toEqual({ parent, mode: 'bridge' });
    const [a, b] = await Promise.all([c.newSandbox(uniq('ma')), c.newSandbox(uniq('mb'))]);
    const ea = net.createEndpoint('a');
    const eb = net.createEndpoint('b');
    await ea.join(a);
    await eb.join(b);
    expect(ea.info().ipv4).toBe('10.37.1.2/24');
    expect(eb.info().ipv4).toBe('10.37.1.3/24');
    const [inside] = macvlans(nsName(a.key));
    expect(inside).toMatchObject({ ifname: 'eth0', address: '02:42:0a:25:01:02' });
    expect(inside!.flags).toContain('UP');
    expect(ipAddrs(nsName(a.key), 'eth0')).toEqual(['10.37.1.2/24']);
    const mode = ipJson<{ linkinfo: { info_data: { mode: string } } }[]>(['-n', nsName(a.key), '-d', 'link', 'show', 'eth0'])[0]!.linkinfo.info_data.mode;
    expect(mode).toBe('bridge');
    const routes = ipJson<{ dst: string; gateway?: string }[]>(['-n', nsName(a.key), 'route', 'show']);
    expect(routes.find((r) => r.dst === 'default')?.gateway).toBe('10.37.1.1');
    // The gateway address is the external host's; nsnet put it nowhere on this host.
    expect(ipJson<unknown[]>(['addr', 'show', 'to', '10.37.1.1'])).toEqual([]);
    expect(ipAddrs(undefined, parent)).toEqual([]);
    expect(await tcpEcho(nsName(b.key), '10.37.1.3', nsName(a.key), 'between containers')).toBe('echo:between containers');
    expect(await tcpEcho(ext, '10.37.1.1', nsName(a.key), 'to the outside')).toBe('echo:to the outside');
    expect(await tcpEcho(nsName(b.key), '10.37.1.3', ext, 'from the outside')).toBe('echo:from the outside');

    // leave deletes the macvlan; the name is free again at once.
    await ea.leave(a);
    expect(macvlans(nsName(a.key))).toEqual([]);
    await ea.join(a);
    expect(await tcpEcho(nsName(a.key), '10.37.1.2', ext, 'again')).toBe('echo:again');
    await a.destroy();
    await b.destroy();
    await net.delete();
    expect(macvlans()).toEqual([]);
  });

  it('in a namespace the runtime made, an IPv4-only macvlan interface has IPv6 disabled (as Docker) and reaches the outside', async () => {
    const net = await macvlanNet('10.37.1.0/24', '10.37.1.1');
    const name = uniq('mvrt');
    sh('ip', ['netns', 'add', name]);
    let sb: Awaited<ReturnType<Controller['newSandbox']>> | undefined;
    try {
      sb = await c.newSandbox(uniq('mrt'), { netnsPath: `/run/netns/${name}` });
      const ep = net.createEndpoint('rt');
      await ep.join(sb);
      expect(macvlans(name)[0]!.flags).toContain('UP');
      expect(sh('ip', ['netns', 'exec', name, 'cat', '/proc/sys/net/ipv6/conf/eth0/disable_ipv6']).trim()).toBe('1');
      expect(ipJson<unknown[]>(['-n', name, '-6', 'addr', 'show', 'dev', 'eth0'])).toEqual([]);
      expect(ipJson<{ dst: string; gateway?: string }[]>(['-n', name, 'route', 'show']).find((r) => r.dst === 'default')?.gateway).toBe('10.37.1.1');
      expect(await tcpEcho(ext, '10.37.1.1', name, 'from a runtime namespace')).toBe('echo:from a runtime namespace');
      await ep.leave(sb);
      await ep.delete();
    } finally {
      // Whatever failed, the next cases get the parent back (one network per parent).
      await sb?.destroy().catch(() => undefined);
      for (const e of net.endpoints()) await e.delete(true).catch(() => undefined);
      await net.delete().catch(() => undefined);
      sh('ip', ['netns', 'del', name]);
    }
  });

  it('a destroyed sandbox\'s address (so its MAC) is usable at once by the next container on the parent', async () => {
    const net = await macvlanNet('10.37.1.0/24', '10.37.1.1');
    // The kernel deletes a namespace's links in the background; an up
    // macvlan kept its MAC on the parent meanwhile (EADDRINUSE at the next up).
    try {
      for (let i = 0; i < 5; i++) {
        const sb = await c.newSandbox(uniq('mre'));
        await net.createEndpoint(`r${i}`, { ipv4Address: '10.37.1.50' }).join(sb);
        expect(macvlans(nsName(sb.key))[0]).toMatchObject({ address: '02:42:0a:25:01:32' });
        await sb.destroy(); // its endpoints go with it
      }
    } finally {
      for (const s of c.sandboxes()) await s.destroy().catch(() => undefined);
      for (const e of net.endpoints()) await e.delete(true).catch(() => undefined);
      await net.delete();
    }
  });

  it('an internal macvlan network gets no default route; a second network on the same parent is refused', async () => {
    const net = await macvlanNet('10.37.2.0/24', '10.37.2.1', { internal: true });
    await expect(macvlanNet('10.37.3.0/24', '10.37.3.1')).rejects.toThrow(`network ${net.name} is already using parent interface ${parent}`);
    const sb = await c.newSandbox(uniq('mi'));
    await net.createEndpoint('i').join(sb);
    expect(ipJson<{ dst: string }[]>(['-n', nsName(sb.key), 'route', 'show']).some((r) => r.dst === 'default')).toBe(false);
    await sb.destroy();
    await net.delete();
  });

  it('a missing, unknown or nsnet-owned parent and an unknown mode are refused with nothing made', async () => {
    const before = { stats: c.stats(), pools: internals(c).ipam.poolIds().length, links: ipLinks().length, netns: ipNetnsList().length };
    const mk = (options: Record<string, string>) =>
      c.newNetwork({ name: uniq('bad'), driver: 'macvlan', options, ipam: { config: [{ Subnet: '10.37.9.0/24', Gateway: '10.37.9.1' }] } });
    await expect(mk({})).rejects.toMatchObject({ code: 'EINVALIDINPUT', message: expect.stringMatching(/needs a parent interface/) });
    await expect(mk({ parent: uniq('none') })).rejects.toMatchObject({ code: 'EINVALIDINPUT', message: expect.stringMatching(/no such interface/) });
    await expect(mk({ parent: 'bad name' })).rejects.toMatchObject({ code: 'EINVALIDINPUT' });
    await expect(mk({ parent: 'lo' })).rejects.toMatchObject({ code: 'EINVALIDINPUT' });
    await expect(mk({ parent, macvlan_mode: 'source' })).rejects.toThrow(/macvlan mode 'source' is not valid/);
    await expect(mk({ parent, 'com.docker.network.driver.mtu': '9000' })).rejects.toThrow(/larger than the MTU of parent/);
    faults.arm('macvlan.create.parent');
    await expect(mk({ parent })).rejects.toMatchObject({ code: 'EINJECTED' });
    // A port of someone else's bridge cannot carry macvlans either (the kernel would refuse every join).
    const userBr = uniq('ubr');
    const port = uniq('upt');
    sh('ip', ['link', 'add', userBr, 'type', 'bridge']);
    sh('ip', ['link', 'add', port, 'master', userBr, 'type', 'veth', 'peer', 'name', `${port}x`]);
    try {
      await expect(mk({ parent: port })).rejects.toThrow(`invalid parent interface ${port}: it is a port of bridge ${userBr}`);
    } finally {
      sh('ip', ['link', 'del', port]);
      sh('ip', ['link', 'del', userBr]);
    }
    expect({ stats: c.stats(), pools: internals(c).ipam.poolIds().length, links: ipLinks().length, netns: ipNetnsList().length }).toEqual(before);

    // A bridge of nsnet's, and a port of it, cannot be a parent.
    const bname = uniq('mbr');
    const br = await c.newNetwork({ name: uniq('br'), options: bridgeOpt(bname), ipam: { config: [{ Subnet: '10.37.10.0/24' }] } });
    const sb = await c.newSandbox(uniq('bp'));
    const ep = br.createEndpoint('p');
    await ep.join(sb);
    await expect(mk({ parent: bname })).rejects.toMatchObject({ code: 'EFORBIDDEN', message: expect.stringMatching(/bridge of an nsnet network/) });
    await expect(mk({ parent: ep.info().hostIfname! })).rejects.toMatchObject({ code: 'EFORBIDDEN' });
    await sb.destroy();
    await br.delete();
    expect(internals(c).ipam.poolIds().length).toBe(before.pools);
  });

  it('a join that fails half-way leaves no link in the sandbox', async () => {
    const net = await macvlanNet('10.37.4.0/24', '10.37.4.1');
    const sb = await c.newSandbox(uniq('mf'));
    for (const p of ['macvlan.join.link', 'macvlan.join.configure', 'endpoint.join.store']) {
      const ep = net.createEndpoint(uniq('f'));
      faults.arm(p);
      await expect(ep.join(sb)).rejects.toMatchObject({ code: 'EINJECTED' });
      expect(ipLinks(nsName(sb.key)).map((l) => l.ifname)).toEqual(['lo']);
      expect(ep.info().sandboxId).toBeUndefined();
      await ep.delete();
    }
    const ok = net.createEndpoint('ok');
    await ok.join(sb);
    expect(macvlans(nsName(sb.key)).map((l) => l.ifname)).toEqual(['eth0']);
    await sb.destroy();
    await net.delete();
  });

  it('a controller restart keeps a joined macvlan endpoint, and it still carries traffic and leaves cleanly', async () => {
    const net = await macvlanNet('10.37.5.0/24', '10.37.5.1');
    // The external host moves to this network's subnet for this test.
    sh('ip', ['-n', ext, 'addr', 'add', '10.37.5.1/24', 'dev', extEnd]);
    const sb = await c.newSandbox(uniq('mr'));
    const ep = net.createEndpoint('r');
    await ep.join(sb);
    const before = ep.info();
    await c.stop();
    c = await Controller.start({ dataDir: dir.path, firewall: 'none', activeSandboxes: [sb.id] });
    const back = c.network(net.id);
    expect(back.info().driverState).toEqual({ parent, mode: 'bridge' });
    const ep2 = back.endpoints()[0]!;
    expect(ep2.info()).toMatchObject({ sandboxId: sb.id, ifname: 'eth0', peerIndex: before.peerIndex, ipv4: '10.37.5.2/24' });
    expect(await tcpEcho(nsName(sb.key), '10.37.5.2', ext, 'after restart')).toBe('echo:after restart');
    // A new endpoint does not get the kept one's address.
    const sb2 = await c.newSandbox(uniq('mr2'));
    const e3 = back.createEndpoint('r2');
    await e3.join(sb2);
    expect(e3.info().ipv4).toBe('10.37.5.3/24');
    await ep2.leave(c.sandbox(sb.id)!);
    expect(macvlans(nsName(sb.key))).toEqual([]);
    for (const s of c.sandboxes()) await s.destroy();
    for (const e of back.endpoints()) await e.delete(true);
    await back.delete();
    sh('ip', ['-n', ext, 'addr', 'del', '10.37.5.1/24', 'dev', extEnd]);
  });

  describe('through the Docker API and the CLI', () => {
    let t: TestDaemon;
    beforeAll(async () => {
      t = await startTestDaemon('mvd', '10.38');
    });
    afterAll(async () => {
      await t.close();
    });

    it('docker network create -d macvlan --subnet --gateway -o parent; inspect shows the driver and options; containers reach the outside', async () => {
      const name = uniq('dm');
      const r = await t.call('POST', '/networks/create', {
        Name: name, Driver: 'macvlan', Options: { parent, macvlan_mode: 'bridge' },
        IPAM: { Driver: 'default', Config: [{ Subnet: '10.37.1.0/24', Gateway: '10.37.1.1' }] },
      });
      expect(r.status).toBe(201);
      const id = (r.body as { Id: string }).Id;
      const ins = await t.call('GET', `/networks/${id}`);
      expect(ins.body).toMatchObject({ Name: name, Driver: 'macvlan', Options: { parent, macvlan_mode: 'bridge' }, IPAM: { Config: [{ Subnet: '10.37.1.0/24', Gateway: '10.37.1.1' }] } });
      const bad = await t.call('POST', '/networks/create', { Name: uniq('dm'), Driver: 'macvlan', Options: { parent: uniq('none') } });
      expect(bad.status).toBe(400);
      const cr = t.d.createContainer(uniq('mc'), { HostConfig: { NetworkMode: name } });
      await t.d.startContainer(cr.Id);
      const sb = t.d.controller.sandboxes().find((s) => s.info().containerId === cr.Id)!;
      expect(ipAddrs(nsName(sb.key), 'eth0')).toEqual(['10.37.1.2/24']);
      expect(await tcpEcho(ext, '10.37.1.1', nsName(sb.key), 'docker')).toBe('echo:docker');
      await t.d.removeContainer(cr.Id, true);
      expect((await t.call('DELETE', `/networks/${id}`)).status).toBe(204);
      expect(macvlans()).toEqual([]);
    });

    it.skipIf(spawnSync('docker', ['--version']).status !== 0)('the docker CLI: network create -d macvlan, inspect, rm', async () => {
      const { socket } = await t.listen();
      // Asynchronous: the daemon answering it runs in this process.
      const docker = (...args: string[]) => new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        execFile('docker', args, { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: `unix://${socket}` } }, (e, out, err) =>
          resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out: out.trim(), err: err.trim() }));
      });
      const name = uniq('dk');
      const made = await docker('network', 'create', '-d', 'macvlan', '--subnet', '10.37.7.0/24', '--gateway', '10.37.7.1', '-o', `parent=${parent}`, name);
      expect(made.err).toBe('');
      expect(made.code).toBe(0);
      const [n] = JSON.parse((await docker('network', 'inspect', name)).out) as Record<string, unknown>[];
      expect(n).toMatchObject({ Name: name, Driver: 'macvlan', Options: { parent }, IPAM: { Config: [{ Subnet: '10.37.7.0/24', Gateway: '10.37.7.1' }] } });
      const bad = await docker('network', 'create', '-d', 'macvlan', '-o', 'parent=lo', uniq('dk'));
      expect(bad.code).toBe(1);
      expect(bad.err).toMatch(/loopback cannot be a macvlan parent/);
      expect((await docker('network', 'rm', name)).code).toBe(0);
    });

    it('nsnet network create --driver macvlan -o parent=… (--local)', () => {
      const cdir = tempDir('mvcli');
      const bridge = uniq('mcb');
      const cli = (...args: string[]) => {
        const r = spawnSync(process.execPath, ['bin/nsnet.js', '--local', '--data-dir', `${cdir.path}/d`, '--bridge-name', bridge, '--bridge-subnet', '10.38.200.0/24', ...args], { encoding: 'utf8' });
        return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
      };
      try {
        const name = uniq('cm');
        const made = cli('network', 'create', '--driver', 'macvlan', '--subnet', '10.37.6.0/24', '--gateway', '10.37.6.1', '-o', `parent=${parent}`, name);
        expect(made.err).toBe('');
        expect(made.out).toMatch(/^[0-9a-f]{64}$/);
        const [info] = JSON.parse(cli('network', 'inspect', name).out) as { Driver: string; Options: Record<string, string> }[];
        expect(info).toMatchObject({ Driver: 'macvlan', Options: { parent } });
        expect(cli('network', 'ls', '--filter', 'driver=macvlan').out).toContain(name);
        const bad = cli('network', 'create', '-d', 'macvlan', uniq('cm'));
        expect(bad.code).toBe(1);
        expect(bad.err).toMatch(/needs a parent interface/);
        expect(cli('network', 'rm', name).out).toBe(name);
      } finally {
        spawnSync('ip', ['link', 'del', bridge]);
        spawnSync('nft', ['delete', 'table', 'inet', tableName(ownershipFor(`${cdir.path}/d`).tag)]);
        void releaseForwardingClaims(ownershipFor(`${cdir.path}/d`).tag);
        cdir.remove();
      }
    });
  });
});
