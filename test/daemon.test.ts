import { readFileSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daemonConfig, type DaemonConfig } from '../src/daemon/config.js';
import { Daemon } from '../src/daemon/daemon.js';
import { createNetwork, removeNetwork } from '../src/daemon/networks.js';
import { gate, ipAddrs, ipLink, ipLinks, nsName, sh, tcpEcho, tempDir, uniq } from './helpers.js';

describe.skipIf(!gate.ok)(`daemon: the seed's container flows ${gate.why}`, () => {
  const dir = tempDir('daemon');
  let config: DaemonConfig;
  let d: Daemon;

  beforeAll(async () => {
    config = daemonConfig({ dataDir: dir.path, bridge: { name: uniq('dflt'), subnet: '10.34.0.0/24' } });
    d = await Daemon.start(config);
  });

  afterAll(async () => {
    for (const c of [...d.containers.values()]) await d.removeContainer(c.Id, true);
    for (const n of d.controller.networks()) if (n.type === 'bridge') await n.delete();
    await d.stop();
    dir.remove();
  });

  const userNet = (subnet: string) => createNetwork(d.controller, { Name: uniq('un'), Options: { 'com.docker.network.bridge.name': uniq('ub') }, IPAM: { Config: [{ Subnet: subnet }] } });

  it('start creates none and host, and recreates bridge from the config', async () => {
    const names = d.controller.networks().map((n) => `${n.name}:${n.type}`).sort();
    expect(names).toEqual(expect.arrayContaining(['bridge:bridge', 'host:host', 'none:null']));
    const bridge = d.controller.networkByName('bridge')!.info();
    expect(bridge.pools4[0]!.subnet).toBe('10.34.0.0/24');
    expect(bridge.options['com.docker.network.bridge.default_bridge']).toBe('true');
    const before = bridge.id;
    await d.stop();
    d = await Daemon.start(config);
    expect(d.controller.networkByName('bridge')!.id).not.toBe(before); // deleted and recreated
    expect(d.controller.networkByName('none')).toBeDefined();
  });

  it('network create: predefined names refused, duplicates refused, empty driver means the default, IPAM checked', async () => {
    for (const name of ['bridge', 'host', 'none', 'default'])
      await expect(createNetwork(d.controller, { Name: name })).rejects.toMatchObject({ code: 'EPREDEFINED', message: `operation is not permitted on predefined ${name} network ` });
    const n = await userNet('10.34.1.0/24');
    expect(n.type).toBe('bridge');
    await expect(createNetwork(d.controller, { Name: n.name })).rejects.toMatchObject({ code: 'ENETWORKEXISTS' });
    await expect(createNetwork(d.controller, { Name: uniq('x'), IPAM: { Config: [{ Subnet: '10.34.1.0/25' }] } })).rejects.toMatchObject({ code: 'POOL_OVERLAP' });
    await expect(createNetwork(d.controller, { Name: uniq('x'), IPAM: { Config: [{ Subnet: '10.34.2.0/24', Gateway: '10.34.3.1' }] } })).rejects.toMatchObject({ code: 'EINVALIDINPUT' });
    await expect(removeNetwork(d.controller, 'bridge')).rejects.toMatchObject({ message: 'bridge is a pre-defined network and cannot be removed' });
    await removeNetwork(d.controller, n.name);
  });

  it('keeps no per-container lock once a container\'s operations are done, removed or not', async () => {
    const locks = (d as unknown as { locks: Map<string, unknown> }).locks;
    const made = Array.from({ length: 5 }, () => d.createContainer(uniq('lk'), { HostConfig: { NetworkMode: 'none' } }));
    await Promise.all(made.map(async (c) => { await d.startContainer(c.Id); await d.stopContainer(c.Id); }));
    await Promise.all(made.slice(0, 3).map((c) => d.removeContainer(c.Id)));
    await new Promise((r) => setImmediate(r));
    expect(locks.size).toBe(0);
    for (const c of made.slice(3)) await d.removeContainer(c.Id);
  });

  it('default mode resolves to the default network, stored under its real name', async () => {
    const c = d.createContainer(uniq('c'), { Image: 'x' });
    expect(c.HostConfig.NetworkMode).toBe('default');
    expect(Object.keys(c.NetworkSettings.Networks)).toEqual(['bridge']);
    await d.startContainer(c.Id);
    const s = c.NetworkSettings.Networks['bridge']!;
    expect(s.IPAddress).toMatch(/^10\.34\.0\.\d+$/);
    expect(s.Gateway).toBe('10.34.0.1');
    expect(s.EndpointID).toHaveLength(64);
    expect(c.NetworkSettings.SandboxKey).toMatch(/^\/run\/netns\//);
    expect(c.NetworkSettings.SandboxID).toBe(d.controller.sandboxByContainer(c.Id)!.id);
    await d.stopContainer(c.Id);
    expect(c.NetworkSettings.SandboxKey).toBe('');
    expect(c.NetworkSettings.Networks['bridge']!.IPAddress).toBe('');
  });

  it('none mode: a sandbox with loopback only', async () => {
    const c = d.createContainer(uniq('c'), { HostConfig: { NetworkMode: 'none' } });
    await d.startContainer(c.Id);
    expect(ipLinks(nsName(c.NetworkSettings.SandboxKey)).map((l) => l.ifname)).toEqual(['lo']);
    expect(Object.keys(c.NetworkSettings.Networks)).toEqual(['none']);
    await d.stopContainer(c.Id);
  });

  it('--add-host NAME:host-gateway: the default bridge\'s gateway, or --host-gateway-ip; an IPv6 address in brackets', async () => {
    const hostsOf = (c: { NetworkSettings: { SandboxID: string } }) => readFileSync(`${d.controller.sandbox(c.NetworkSettings.SandboxID)!.info().dir}/hosts`, 'utf8');
    const a = d.createContainer(uniq('c'), { HostConfig: { NetworkMode: 'none', ExtraHosts: ['host.docker.internal:host-gateway', 'v6:[fd00::1]'] } });
    await d.startContainer(a.Id);
    expect(hostsOf(a)).toContain('10.34.0.1\thost.docker.internal\n');
    expect(hostsOf(a)).toContain('fd00::1\tv6\n');
    await d.stopContainer(a.Id);
    const cfg = d.config as { hostGatewayIps?: string[] };
    cfg.hostGatewayIps = ['192.0.2.7', '2001:db8::7'];
    try {
      const b = d.createContainer(uniq('c'), { HostConfig: { NetworkMode: 'none', ExtraHosts: ['gw:host-gateway'] } });
      await d.startContainer(b.Id);
      expect(hostsOf(b)).toContain('192.0.2.7\tgw\n2001:db8::7\tgw\n');
      await d.stopContainer(b.Id);
    } finally {
      delete cfg.hostGatewayIps;
    }
    for (const bad of [['nope'], ['192.0.2.1', '192.0.2.2']])
      await expect(Daemon.start(daemonConfig({ dataDir: `${dir.path}/never`, hostGatewayIps: bad }))).rejects.toMatchObject({ code: 'EINVALIDINPUT' });
  });

  it('host mode: the host namespace, no interface made', async () => {
    const c = d.createContainer(uniq('c'), { HostConfig: { NetworkMode: 'host' } });
    // Other test files make links in the host too: count only this daemon's.
    const mine = () => ipLinks().filter((l) => l.group === String(d.controller.marks().liveGroup)).length;
    const links = mine();
    await d.startContainer(c.Id);
    expect(c.NetworkSettings.SandboxKey).toBe(`/proc/${process.pid}/ns/net`);
    expect(c.NetworkSettings.Networks['host']!.EndpointID).toHaveLength(64);
    expect(mine()).toBe(links);
    const n = await userNet('10.34.4.0/24');
    await expect(d.connect(n.id, c.Id)).rejects.toMatchObject({ code: 'EHOSTMODE' });
    await d.stopContainer(c.Id);
    await n.delete();
  });

  it('container:<id> mode joins the other container’s sandbox', async () => {
    const a = d.createContainer(uniq('a'), {});
    const b = d.createContainer(uniq('b'), { HostConfig: { NetworkMode: `container:${a.Name.slice(1)}` } });
    await expect(d.startContainer(b.Id)).rejects.toMatchObject({ message: expect.stringMatching(/non running container/) });
    await d.startContainer(a.Id);
    await d.startContainer(b.Id);
    expect(b.NetworkSettings.SandboxKey).toBe(a.NetworkSettings.SandboxKey);
    expect(b.NetworkSettings.Networks).toEqual({});
    await expect(d.connect('bridge', b.Id)).rejects.toMatchObject({ code: 'ESHAREDNETNS' });
    await d.stopContainer(b.Id);
    await d.stopContainer(a.Id);
    // Networking of its own is refused at create, with dockerd's messages.
    const mode = `container:${a.Name.slice(1)}`;
    const count = d.containers.size;
    for (const [req, msg] of [
      [{ Hostname: 'h' }, 'conflicting options: hostname and the network mode'],
      [{ HostConfig: { Links: ['x:y'] } }, 'conflicting options: container type network can\'t be used with links. This would result in undefined behavior'],
      [{ HostConfig: { Dns: ['10.0.0.1'] } }, 'conflicting options: dns and the network mode'],
      [{ HostConfig: { ExtraHosts: ['h:10.0.0.1'] } }, 'conflicting options: custom host-to-IP mapping and the network mode'],
      [{ HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '' }] } } }, 'conflicting options: port publishing and the container type network mode'],
      [{ HostConfig: { PublishAllPorts: true } }, 'conflicting options: port publishing and the container type network mode'],
      [{ ExposedPorts: { '80/tcp': {} } }, 'conflicting options: port exposing and the container type network mode'],
    ] as const) {
      const r = req as { HostConfig?: Record<string, unknown> } & Record<string, unknown>;
      expect(() => d.createContainer(uniq('x'), { ...r, HostConfig: { NetworkMode: mode, ...r.HostConfig } } as never)).toThrow(expect.objectContaining({ code: 'EINVALIDINPUT', message: msg }));
    }
    expect(() => d.createContainer(uniq('x'), { HostConfig: { NetworkMode: 'container:' } })).toThrow('Invalid network mode: invalid container format container:<name|id>');
    expect(d.containers.size).toBe(count);
  });

  it('a restart that could not start again is refused before it stops anything', async () => {
    const a = d.createContainer(uniq('a'), {});
    const b = d.createContainer(uniq('b'), { HostConfig: { NetworkMode: `container:${a.Name.slice(1)}` } });
    await d.startContainer(a.Id);
    await d.startContainer(b.Id);
    await d.stopContainer(a.Id);
    await expect(d.restartContainer(b.Id)).rejects.toMatchObject({ code: 'ENOTRUNNING' });
    expect(d.container(b.Id).State.Running).toBe(true);
    await d.stopContainer(b.Id);
    await d.removeContainer(a.Id);
    await d.removeContainer(b.Id);
  });

  it('connect on a stopped container stores (and validates) the config for the next start', async () => {
    const n = await userNet('10.34.5.0/24');
    const c = d.createContainer(uniq('c'), {});
    await expect(d.connect(n.id, c.Id, { IPAMConfig: { IPv4Address: '10.99.0.9' } })).rejects.toMatchObject({ message: expect.stringMatching(/no configured subnet/) });
    await d.connect(n.name, c.Id, { IPAMConfig: { IPv4Address: '10.34.5.77' }, Aliases: ['web'] });
    expect(c.NetworkSettings.Networks[n.name]!.IPAMConfig?.IPv4Address).toBe('10.34.5.77');
    expect(c.NetworkSettings.Networks[n.name]!.IPAddress).toBe('');
    await expect(d.connect(n.name, c.Id)).rejects.toMatchObject({ code: 'EENDPOINTEXISTS' });
    await d.startContainer(c.Id);
    expect(c.NetworkSettings.Networks[n.name]!.IPAddress).toBe('10.34.5.77');
    expect(c.NetworkSettings.Networks[n.name]!.DNSNames).toEqual([c.Name.slice(1), 'web', c.Id.slice(0, 12)]);
    // The default network is connected first: eth0 on bridge, eth1 on the user network.
    expect(ipAddrs(nsName(c.NetworkSettings.SandboxKey), 'eth0')[0]).toMatch(/^10\.34\.0\./);
    expect(ipAddrs(nsName(c.NetworkSettings.SandboxKey), 'eth1')).toEqual(['10.34.5.77/24']);
    await d.removeContainer(c.Id, true);
    await n.delete();
  });

  it('connect on a running container connects now; disconnect removes it', async () => {
    const n = await userNet('10.34.6.0/24');
    const c = d.createContainer(uniq('c'), {});
    await d.startContainer(c.Id);
    await d.connect(n.id, c.Name.slice(1));
    expect(ipAddrs(nsName(c.NetworkSettings.SandboxKey), 'eth1')).toEqual(['10.34.6.2/24']);
    await d.disconnect(n.name, c.Id);
    expect(ipLinks(nsName(c.NetworkSettings.SandboxKey)).map((l) => l.ifname)).not.toContain('eth1');
    expect(c.NetworkSettings.Networks[n.name]).toBeUndefined();
    await expect(d.disconnect(n.name, c.Id)).rejects.toMatchObject({ code: 'ENOTCONNECTED' });
    await d.removeContainer(c.Id, true);
    await n.delete();
  });

  it('disconnect from the network carrying published ports unlists them (the port stays exposed, null)', async () => {
    const n = await userNet('10.34.7.0/24');
    const c = d.createContainer(uniq('c'), { HostConfig: { NetworkMode: n.name, PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '40871' }] } } });
    await d.startContainer(c.Id);
    expect(c.NetworkSettings.Ports).toEqual({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '40871' }] });
    await d.disconnect(n.name, c.Id);
    expect(c.NetworkSettings.Ports).toEqual({ '80/tcp': null });
    await d.removeContainer(c.Id, true);
    await n.delete();
  });

  it('an operation that waited for a container removed meanwhile fails as No such container, and makes nothing', async () => {
    const n = await userNet('10.34.8.0/24');
    for (const op of ['start', 'stop', 'connect', 'disconnect'] as const) {
      const c = d.createContainer(uniq('c'), { HostConfig: { NetworkMode: n.name } });
      if (op !== 'start') await d.startContainer(c.Id);
      const removed = d.removeContainer(c.Id, true);
      const late = op === 'start' ? d.startContainer(c.Id)
        : op === 'stop' ? d.stopContainer(c.Id)
          : op === 'connect' ? d.connect('bridge', c.Id)
            : d.disconnect(n.name, c.Id);
      await removed;
      await expect(late, op).rejects.toMatchObject({ code: 'ENOTFOUND', message: `No such container: ${c.Id}` });
      expect(d.containers.has(c.Id), op).toBe(false);
      expect(d.controller.sandboxByContainer(c.Id), op).toBeUndefined();
      expect(n.endpoints(), op).toEqual([]);
    }
    await n.delete();
  });

  it('a daemon restart keeps running containers’ networking (live restore)', async () => {
    const n = await userNet('10.34.7.0/24');
    const a = d.createContainer(uniq('a'), { HostConfig: { NetworkMode: n.name } });
    const b = d.createContainer(uniq('b'), { HostConfig: { NetworkMode: n.name } });
    const stopped = d.createContainer(uniq('s'), { HostConfig: { NetworkMode: n.name } });
    await d.startContainer(a.Id);
    await d.startContainer(b.Id);
    await d.stop();
    d = await Daemon.start(config);
    const a2 = d.container(a.Id);
    const b2 = d.container(b.Id);
    expect(a2.State.Running).toBe(true);
    expect(d.container(stopped.Id).State.Running).toBe(false);
    const bip = b2.NetworkSettings.Networks[n.name]!.IPAddress;
    expect(await tcpEcho(nsName(b2.NetworkSettings.SandboxKey), bip, nsName(a2.NetworkSettings.SandboxKey), 'after restart')).toBe('echo:after restart');
    await d.stopContainer(a.Id);
    await d.startContainer(a.Id);
    expect(a2.NetworkSettings.Networks[n.name]!.IPAddress).not.toBe(bip);
    for (const x of [a, b, stopped]) await d.removeContainer(x.Id, true);
    await d.controller.network(n.id).delete();
  });

  it('restart after a crash mid-connect or mid-disconnect: a missing default route is put back as the records have it; a container end left down without its address is no running container, one merely down is', async () => {
    const n = await userNet('10.34.8.0/24');
    const m = await userNet('10.34.9.0/24');
    const a = d.createContainer(uniq('a'), { HostConfig: { NetworkMode: n.name } });
    const b = d.createContainer(uniq('b'), { HostConfig: { NetworkMode: n.name } });
    const c = d.createContainer(uniq('c'), { HostConfig: { NetworkMode: n.name } });
    await d.startContainer(a.Id);
    await d.startContainer(b.Id);
    await d.startContainer(c.Id);
    await d.connect(m.id, b.Id);
    const ns = (id: string) => nsName(d.container(id).NetworkSettings.SandboxKey);
    const [nsA, nsB] = [ns(a.Id), ns(b.Id)];
    const defaults = (x: string) => JSON.parse(sh('ip', ['-n', x, '-j', 'route', 'show', 'default'])) as { gateway: string; dev: string }[];
    expect(defaults(nsA)).toMatchObject([{ gateway: '10.34.8.1', dev: 'eth0' }]);
    await d.stop();
    // As a crash after a connect's route move leaves it: the interface that took the route is gone, and the route with it.
    sh('ip', ['-n', nsA, 'route', 'del', 'default']);
    // As a crash part-way through a disconnect (an older request order) left it: the container end down, its address gone.
    const bIp = d.container(b.Id).NetworkSettings.Networks[m.name]!.IPAddress;
    sh('ip', ['-n', nsB, 'addr', 'del', `${bIp}/24`, 'dev', 'eth1']);
    sh('ip', ['-n', nsB, 'link', 'set', 'eth1', 'down']);
    // The container's own doing (its interface down, its address kept) is left to it.
    const nsC = ns(c.Id);
    sh('ip', ['-n', nsC, 'link', 'set', 'eth0', 'down']);
    d = await Daemon.start(config);
    expect(d.container(c.Id).State.Running).toBe(true);
    expect(ipLink('eth0', nsC)!.flags).not.toContain('UP');
    expect(d.container(a.Id).State.Running).toBe(true);
    expect(defaults(nsA)).toMatchObject([{ gateway: '10.34.8.1', dev: 'eth0' }]);
    expect(d.container(b.Id).State.Running).toBe(false);
    await d.startContainer(b.Id);
    const b2 = d.container(b.Id).NetworkSettings;
    expect(Object.keys(b2.Networks).sort()).toEqual([m.name, n.name].sort());
    expect(ipAddrs(nsName(b2.SandboxKey), 'eth1')).toEqual([`${b2.Networks[m.name]!.IPAddress}/24`]);
    expect(await tcpEcho(nsName(b2.SandboxKey), b2.Networks[n.name]!.IPAddress, ns(a.Id), 'b again')).toBe('echo:b again');
    for (const x of [a, b, c]) await d.removeContainer(x.Id, true);
    for (const x of [n, m]) await d.controller.network(x.id).delete();
  });

  it('restart after a crash between a gateway endpoint recording its ports and publishing them: they are published again', async () => {
    const n = await userNet('10.34.10.0/24');
    const c = d.createContainer(uniq('c'), { HostConfig: { NetworkMode: n.name, PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '40872' }] } } });
    await d.startContainer(c.Id);
    const epId = d.container(c.Id).NetworkSettings.Networks[n.name]!.EndpointID;
    await d.stop();
    // The record as such a crash commits it: the ports, and nothing published.
    const db = new Database(`${dir.path}/nsnet.db`);
    const row = db.prepare("SELECT json FROM objects WHERE kind = 'endpoint' AND id = ?").get(epId) as { json: string };
    const rec = JSON.parse(row.json) as Record<string, unknown>;
    expect(rec['published']).toBeDefined();
    delete rec['published'];
    db.prepare("UPDATE objects SET json = ? WHERE kind = 'endpoint' AND id = ?").run(JSON.stringify(rec), epId);
    db.close();
    d = await Daemon.start(config);
    expect(d.container(c.Id).NetworkSettings.Ports).toEqual({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '40872' }] });
    expect(d.controller.endpoint(epId)!.info().published).toEqual([expect.objectContaining({ hostPort: 40872, hostIp: '127.0.0.1' })]);
    await d.removeContainer(c.Id, true);
    await d.controller.network(n.id).delete();
  });

  it('a host-mode container\'s SandboxKey outlives the daemon\'s process (init\'s namespace path, as Docker\'s netns/default)', async () => {
    const c = d.createContainer(uniq('h'), { HostConfig: { NetworkMode: 'host' } });
    await d.startContainer(c.Id);
    const key = d.container(c.Id).NetworkSettings.SandboxKey;
    let initShares = false;
    try { initShares = statSync('/proc/1/ns/net').ino === statSync('/proc/self/ns/net').ino; } catch { /* init's not ours to read */ }
    expect(key).toBe(initShares ? '/proc/1/ns/net' : `/proc/${process.pid}/ns/net`);
    expect(statSync(key).ino).toBe(statSync('/proc/self/ns/net').ino);
    await d.removeContainer(c.Id, true);
  });

  it('none with another network is refused at start; a stopped container leaves a network that was never made', async () => {
    const n = await userNet('10.34.9.0/24');
    const c = d.createContainer(uniq('nn'), { HostConfig: { NetworkMode: 'none' }, NetworkingConfig: { EndpointsConfig: { none: {}, [n.name]: {} } } });
    await expect(d.startContainer(c.Id)).rejects.toThrow('container cannot be connected to multiple networks with one of the networks in private (none) mode');
    expect(d.controller.sandboxByContainer(c.Id)).toBeUndefined();
    await d.removeContainer(c.Id, true);
    // Named at create, never created: the entry can still be taken off a stopped container.
    const ghost = uniq('ghost');
    const g = d.createContainer(uniq('g'), { HostConfig: { NetworkMode: n.name }, NetworkingConfig: { EndpointsConfig: { [n.name]: {}, [ghost]: {} } } });
    await expect(d.startContainer(g.Id)).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await d.disconnect(ghost, g.Id);
    expect(Object.keys(d.container(g.Id).NetworkSettings.Networks)).toEqual([n.name]);
    await d.startContainer(g.Id);
    await d.removeContainer(g.Id, true);
    // Removed since (a stopped container may keep naming it): the entry goes by name too.
    const gone = await userNet('10.34.10.0/24');
    const goneName = gone.name;
    const k = d.createContainer(uniq('k'), { HostConfig: { NetworkMode: n.name }, NetworkingConfig: { EndpointsConfig: { [n.name]: {}, [goneName]: {} } } });
    await d.controller.network(gone.id).delete();
    await d.disconnect(goneName, k.Id);
    expect(Object.keys(d.container(k.Id).NetworkSettings.Networks)).toEqual([n.name]);
    await d.removeContainer(k.Id, true);
    await d.controller.network(n.id).delete();
  });

  it('after a restart, containers are listed in creation order (docker ps before/since), whatever their IDs', async () => {
    const made = Array.from({ length: 6 }, () => d.createContainer(uniq('o'), { HostConfig: { NetworkMode: 'none' } }));
    await d.stop();
    d = await Daemon.start(config);
    const ids = [...d.containers.keys()].filter((id) => made.some((m) => m.Id === id));
    expect(ids).toEqual(made.map((m) => m.Id));
    for (const m of made) await d.removeContainer(m.Id);
  });
});
