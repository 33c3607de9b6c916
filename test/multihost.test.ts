// Multi-host: a real etcd and, on one machine, hosts as network namespaces
// on an underlay bridge (test/multihost-support.ts).
//
// Part 1 drives the cluster layer directly from this process (several
// "hosts" = registries with their own client and lease): allocation
// uniqueness under concurrency, leases reclaiming a dead host's addresses,
// fail-fast while etcd is away. Part 2 runs three nsnet daemons, one per
// host namespace, and containers exchanging TCP over an overlay network.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from '../src/cluster/registry.js';
import { HostSession } from '../src/cluster/session.js';
import { EtcdStore } from '../src/cluster/store.js';
import { keys } from '../src/cluster/keys.js';
import { DOCKER_GLOBAL_POOLS } from '../src/ipam/index.js';
import { startTestDaemon } from './api-support.js';
import { gate, ipJson } from './helpers.js';
import { Etcd, etcdBin, HostDaemon, tcpEchoAt, Underlay } from './multihost-support.js';

const QUERY = resolve('test/fixtures/dns-query.mjs');
const why = !gate.ok ? gate.why : !etcdBin ? 'needs etcd (Debian etcd-server) on PATH' : '';

/** Polls until `fn` holds (no timing is asserted: the limit only stops a hung run). */
async function until(fn: () => Promise<boolean>, what: string, limitMs = 30_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!!why)(`cluster store on a real etcd ${why}`, () => {
  let ul: Underlay;
  let etcd: Etcd;
  const stores: EtcdStore[] = [];
  const sessions: HostSession[] = [];

  /** A "host": its own client, lease and registry. */
  const host = (address: string, ttl = 15) => {
    const store = new EtcdStore(etcd.url, { timeoutMs: 1000 });
    stores.push(store);
    const session = new HostSession(store, { address, name: address, since: '' }, ttl, { renewed: async () => {}, log: () => {} });
    sessions.push(session);
    return { store, session, registry: new Registry(store, address, DOCKER_GLOBAL_POOLS) };
  };

  beforeAll(async () => {
    ul = new Underlay('10.66.0', 0);
    etcd = new Etcd(ul.etcdNs, ul.etcdIp);
    await etcd.start();
  });

  afterAll(async () => {
    for (const s of sessions) await s.close(true).catch(() => undefined);
    for (const s of stores) s.close();
    await etcd?.remove();
    ul?.remove();
  });

  it('network names, VNIs and subnets are unique cluster-wide under concurrent creates; explicit overlaps are refused', async () => {
    const hs = ['10.66.0.11', '10.66.0.12', '10.66.0.13'].map((a) => host(a));
    const id = (i: number) => i.toString(16).padStart(64, '0');
    // The same name from three hosts at once: one wins.
    const same = await Promise.allSettled(hs.map((h, i) => h.registry.createNetwork({ id: id(100 + i), name: 'same', subnet: `10.66.${10 + i}.0/24` })));
    expect(same.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of same.filter((x) => x.status === 'rejected')) expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'ENETWORKEXISTS' });
    // Automatic subnets: 3 hosts × 5 at once, all from Docker's global pool, none overlapping.
    const made = await Promise.all(hs.flatMap((h, i) => [0, 1, 2, 3, 4].map((k) => h.registry.createNetwork({ id: id(200 + i * 10 + k), name: `auto-${i}-${k}` }))));
    const subnets = made.map((n) => n.subnet);
    expect(new Set(subnets).size).toBe(15);
    for (const s of subnets) expect(s).toMatch(/^10\.\d+\.\d+\.0\/24$/);
    expect(new Set(made.map((n) => n.vni)).size).toBe(15);
    for (const n of made) expect(n.vni).toBeGreaterThanOrEqual(4096);
    expect(made.every((n) => n.gateway === n.subnet.replace(/0\/24$/, '1'))).toBe(true);
    // An explicit subnet overlapping one in use.
    await expect(hs[0]!.registry.createNetwork({ id: id(300), name: 'overlap', subnet: `${subnets[0]!.replace(/\.0\/24$/, '.128')}/25` }))
      .rejects.toMatchObject({ code: 'POOL_OVERLAP' });
    expect(await hs[1]!.registry.network(id(300))).toBeUndefined();
    // Deleting frees the name and the subnet.
    const first = made[0]!;
    await hs[2]!.registry.deleteNetwork(first.id);
    const again = await hs[0]!.registry.createNetwork({ id: id(301), name: first.name, subnet: first.subnet });
    expect(again.subnet).toBe(first.subnet);
    for (const n of [...made.slice(1), again]) await hs[0]!.registry.deleteNetwork(n.id);
    const winner = (same.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ id: string }>).value;
    await hs[0]!.registry.deleteNetwork(winner.id);
    expect((await hs[0]!.store.list(keys.networks)).entries).toEqual([]);
    expect(JSON.parse((await hs[0]!.store.get(keys.subnets))!.value)).toEqual({ list: [] });
  });

  it('3 hosts × 50 concurrent address allocations on one /24 give 150 different addresses, never the gateway', async () => {
    const hs = ['10.66.0.21', '10.66.0.22', '10.66.0.23'].map((a) => host(a));
    const net = await hs[0]!.registry.createNetwork({ id: 'a'.repeat(64), name: 'alloc', subnet: '10.66.50.0/24', gateway: '10.66.50.1' });
    const leases = await Promise.all(hs.map((h) => h.session.leaseId()));
    const got = await Promise.all(hs.flatMap((h, i) => Array.from({ length: 50 }, () => h.registry.allocateAddress(net.id, leases[i]!))));
    expect(new Set(got).size).toBe(150);
    expect(got).not.toContain('10.66.50.1');
    expect(got).not.toContain('10.66.50.0');
    expect(got.every((a) => a.startsWith('10.66.50.'))).toBe(true);
    const held = (await hs[0]!.store.list(keys.addresses(net.id))).entries;
    expect(held).toHaveLength(150);
    // Each host holds what it got.
    expect(new Set(held.map((e) => (JSON.parse(e.value) as { host: string }).host))).toEqual(new Set(['10.66.0.21', '10.66.0.22', '10.66.0.23']));
    // An explicit address already held is refused; a free one is granted; the gateway never.
    await expect(hs[1]!.registry.allocateAddress(net.id, leases[1]!, got[0])).rejects.toMatchObject({ code: 'IP_ALREADY_ALLOCATED' });
    await expect(hs[1]!.registry.allocateAddress(net.id, leases[1]!, '10.66.50.1')).rejects.toMatchObject({ code: 'EINVALIDINPUT' });
    expect(await hs[1]!.registry.allocateAddress(net.id, leases[1]!, '10.66.50.254')).toBe('10.66.50.254');
    // The network cannot be deleted while any host holds an address on it.
    await expect(hs[2]!.registry.deleteNetwork(net.id)).rejects.toMatchObject({ code: 'EACTIVEENDPOINTS' });
    expect(await hs[2]!.registry.network(net.id)).toMatchObject({ name: 'alloc' });
    for (const [i, h] of hs.entries()) for (const a of got.slice(i * 50, i * 50 + 50)) await h.registry.releaseAddress(net.id, a);
    await hs[1]!.registry.releaseAddress(net.id, '10.66.50.254');
    await hs[2]!.registry.deleteNetwork(net.id);
  });

  it('a host that stops renewing its lease has its addresses reclaimed after the TTL; the others keep theirs', async () => {
    const alive = host('10.66.0.31', 15);
    const dying = host('10.66.0.32', 2);
    const net = await alive.registry.createNetwork({ id: 'b'.repeat(64), name: 'lease', subnet: '10.66.51.0/24' });
    const a = await alive.registry.allocateAddress(net.id, await alive.session.leaseId());
    const d = await dying.registry.allocateAddress(net.id, await dying.session.leaseId());
    expect((await alive.store.get(keys.host('10.66.0.32')))?.value).toContain('10.66.0.32');
    // The dying host stops keeping its lease alive (as a SIGKILLed process would) without revoking it.
    await dying.session.close(false);
    dying.store.close();
    await until(async () => !(await alive.store.get(keys.address(net.id, d))), 'the dead host\'s address to be reclaimed');
    expect(await alive.store.get(keys.host('10.66.0.32'))).toBeUndefined();
    expect(await alive.store.get(keys.address(net.id, a))).toBeDefined();
    // Its address is free again for the living.
    expect(await alive.registry.allocateAddress(net.id, await alive.session.leaseId(), d)).toBe(d);
    await alive.registry.releaseAddress(net.id, a);
    await alive.registry.releaseAddress(net.id, d);
    await alive.registry.deleteNetwork(net.id);
  });

  it('etcd away: operations fail fast with ECLUSTER (503); etcd back: they work again with the same clients', async () => {
    const h = host('10.66.0.41');
    const net = await h.registry.createNetwork({ id: 'c'.repeat(64), name: 'outage', subnet: '10.66.52.0/24' });
    const lease = await h.session.leaseId();
    await etcd.stop();
    for (const op of [
      () => h.registry.allocateAddress(net.id, lease),
      () => h.registry.createNetwork({ id: 'd'.repeat(64), name: 'during' }),
      () => h.registry.networks(),
      () => h.registry.deleteNetwork(net.id),
    ]) await expect(op()).rejects.toMatchObject({ code: 'ECLUSTER', message: expect.stringMatching(/cluster store etcd:\/\/10\.66\.0\.2:2379 is unavailable/) });
    await etcd.start();
    await until(async () => !!(await h.registry.allocateAddress(net.id, lease)), 'allocations to work again');
    expect((await h.registry.networks()).networks.map((n) => n.name)).toEqual(['outage']);
    // The lease outlived the outage (etcd keeps leases across its restart): what was allocated is still held.
    const held = (await h.store.list(keys.addresses(net.id))).entries;
    expect(held.length).toBeGreaterThan(0);
    for (const e of held) await h.registry.releaseAddress(net.id, e.key.split('/').pop()!);
    await h.registry.deleteNetwork(net.id);
  });
});

interface Inspect { Id: string; NetworkSettings: { SandboxKey: string; Networks: Record<string, { IPAddress: string; EndpointID: string; MacAddress: string }> } }
interface NetInspect { Id: string; Scope: string; Driver: string; Peers?: { Name: string; IP: string }[]; IPAM: { Config: { Subnet: string; Gateway: string }[] }; Options: Record<string, string> }

describe.skipIf(!!why)(`three hosts with nsnet daemons and an overlay network ${why}`, () => {
  // Short, so a dead host is noticed within the test; long enough for a host busy starting 50 containers.
  const TTL = 8;
  let ul: Underlay;
  let etcd: Etcd;
  let store: EtcdStore;
  let daemons: HostDaemon[];
  let overlayId = '';
  const ok = async (d: HostDaemon, method: string, path: string, body?: unknown) => {
    const r = await d.call(method, path, body);
    if (r.status >= 300) throw new Error(`${method} ${path} on ${d.host.name}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  /** A container started on `net` on host `d`; its address, endpoint and namespace path. */
  const run = async (d: HostDaemon, name: string, net: string, ip?: string) => {
    await ok(d, 'POST', `/containers/create?name=${name}`, {
      Image: 'img', HostConfig: { NetworkMode: net }, ...(ip ? { NetworkingConfig: { EndpointsConfig: { [net]: { IPAMConfig: { IPv4Address: ip } } } } } : {}),
    });
    await ok(d, 'POST', `/containers/${name}/start`);
    return container(d, name, net);
  };
  const container = async (d: HostDaemon, name: string, net: string) => {
    const c = await ok(d, 'GET', `/containers/${name}/json`) as Inspect;
    const s = c.NetworkSettings.Networks[net]!;
    return { id: c.Id, key: c.NetworkSettings.SandboxKey, ip: s.IPAddress, ep: s.EndpointID, mac: s.MacAddress };
  };
  const peersOn = async (d: HostDaemon, net: string) => ((await ok(d, 'GET', `/networks/${net}`)) as NetInspect).Peers?.map((p) => p.IP).sort() ?? [];
  const macOf = (ip: string) => `02:42:${ip.split('.').map((x) => Number(x).toString(16).padStart(2, '0')).join(':')}`;
  /** Host `d` has programmed the endpoint at `ip` on host `at`: a permanent neighbour entry, and a forwarding entry to `at`'s VTEP. */
  const learned = (d: HostDaemon, ip: string, at: HostDaemon) => until(async () =>
    ipJson<{ state?: string[] }[]>(['-n', d.host.ns, 'neigh', 'show', 'to', ip]).some((n) => n.state?.includes('PERMANENT'))
    && JSON.parse(execFileSync('bridge', ['-n', d.host.ns, '-j', 'fdb', 'show'], { encoding: 'utf8' }) || '[]')
      .some((f: { mac: string; dst?: string }) => f.mac === macOf(ip) && f.dst === at.host.ip), `${ip} programmed on ${d.host.name}`);
  const heldBy = async (host: string) => (await store.list(keys.allAddresses)).entries.filter((e) => (JSON.parse(e.value) as { host: string }).host === host).length;

  beforeAll(async () => {
    ul = new Underlay('10.67.0', 3);
    etcd = new Etcd(ul.etcdNs, ul.etcdIp);
    await etcd.start();
    store = new EtcdStore(etcd.url);
    daemons = ul.hosts.map((h) => new HostDaemon(h, etcd.url, TTL));
    await Promise.all(daemons.map((d) => d.start()));
  });

  afterAll(async () => {
    for (const d of daemons ?? []) {
      const list = await d.call('GET', '/containers/json?all=1').catch(() => undefined);
      for (const c of (list?.body as { Id: string }[] | undefined) ?? []) await d.call('DELETE', `/containers/${c.Id}?force=1`).catch(() => undefined);
    }
    if (overlayId) await daemons[0]?.call('DELETE', `/networks/${overlayId}`).catch(() => undefined);
    for (const d of daemons ?? []) await d.remove().catch((e: unknown) => console.error(e));
    store?.close();
    await etcd?.remove();
    ul?.remove();
  });

  it('containers on all three hosts exchange TCP over one overlay network; inspect shows Scope global and the Peers', async () => {
    const made = await ok(daemons[0]!, 'POST', '/networks/create', { Name: 'ov', Driver: 'overlay', IPAM: { Config: [{ Subnet: '10.67.1.0/24' }] } }) as { Id: string };
    overlayId = made.Id;
    // Every host instantiates it, with the same ID, from the watch.
    for (const d of daemons) await until(async () => (await d.call('GET', `/networks/${overlayId}`)).status === 200, `ov on ${d.host.name}`);
    const info = await ok(daemons[2]!, 'GET', '/networks/ov') as NetInspect;
    expect(info).toMatchObject({ Id: overlayId, Scope: 'global', Driver: 'overlay', IPAM: { Config: [{ Subnet: '10.67.1.0/24', Gateway: '10.67.1.1' }] } });
    expect(Number(info.Options['com.docker.network.driver.overlay.vxlanid_list'])).toBeGreaterThanOrEqual(4096);
    const cs = await Promise.all(daemons.map((d, i) => run(d, `c${i + 1}`, 'ov')));
    expect(new Set(cs.map((c) => c.ip)).size).toBe(3);
    for (const c of cs) expect(c.mac).toBe(macOf(c.ip));
    for (const d of daemons) await until(async () => (await peersOn(d, 'ov')).length === 3, `peers on ${d.host.name}`);
    expect(await peersOn(daemons[1]!, 'ov')).toEqual(ul.hosts.map((h) => h.ip).sort());
    for (const [i, d] of daemons.entries()) for (const [j, c] of cs.entries()) if (i !== j) await learned(d, c.ip, daemons[j]!);
    for (const [a, b] of [[0, 1], [1, 2], [2, 0]] as const)
      expect(await tcpEchoAt(cs[b]!.key, cs[b]!.ip, cs[a]!.key, `h${a + 1}->h${b + 1}`)).toBe(`echo:h${a + 1}->h${b + 1}`);
    // A network with endpoints on another host cannot be removed from this one.
    const del = await daemons[0]!.call('DELETE', '/networks/ov');
    expect(del.status).toBe(403);
    expect((del.body as { message: string }).message).toMatch(/has active endpoints/);
  });

  it('embedded DNS on the overlay: containers resolve the other hosts\' containers by name, alias, name.network and short ID, and PTR; a rename reaches them; a removed one stops resolving', async () => {
    const [h1, h2] = [daemons[0]!, daemons[1]!];
    await ok(h1, 'POST', '/containers/create?name=dn1', { Image: 'img', HostConfig: { NetworkMode: 'ov' }, NetworkingConfig: { EndpointsConfig: { ov: { Aliases: ['dbalias'] } } } });
    await ok(h1, 'POST', '/containers/dn1/start');
    const a = await container(h1, 'dn1', 'ov');
    const b = await run(h2, 'dn2', 'ov');
    const gw = '10.67.1.1';
    // Every host's resolver listens on the overlay's gateway, on its own bridge.
    const conf = (await ok(h2, 'GET', '/containers/dn2/json') as { ResolvConfPath: string }).ResolvConfPath;
    expect(readFileSync(conf, 'utf8')).toMatch(new RegExp(`^nameserver ${gw.replace(/\./g, '\\.')}$`, 'm'));
    const q = (key: string, name: string, type = 'A') => JSON.parse(spawnSync('nsenter', [`--net=${key}`, '--', process.execPath, QUERY, gw, name, type], { encoding: 'utf8' }).stdout || '{}') as { rcode?: string; answers?: string[] };
    await until(async () => q(b.key, 'dn1').answers?.[0] === a.ip, 'dn1 resolving on h2');
    expect(q(b.key, 'dn1')).toMatchObject({ rcode: 'NOERROR', answers: [a.ip] });
    expect(q(b.key, 'dbalias').answers).toEqual([a.ip]);
    expect(q(b.key, 'DN1.ov').answers).toEqual([a.ip]);
    expect(q(b.key, a.id.slice(0, 12)).answers).toEqual([a.ip]);
    expect(q(b.key, `${a.ip.split('.').reverse().join('.')}.in-addr.arpa`, 'PTR').answers).toEqual(['dn1.ov']);
    await until(async () => q(a.key, 'dn2').answers?.[0] === b.ip, 'dn2 resolving on h1');
    // Another writer's entries are checked before a resolver uses them: bad names, a bad address.
    const hostile = [
      { key: keys.endpoint(overlayId, 'e'.repeat(64)), value: { endpointId: 'e'.repeat(64), ip: '10.67.1.250', mac: '02:42:0a:43:01:fa', vtep: '10.67.0.99', host: '10.67.0.99', hostName: 'x', names: [{}, 'evil1'], containerName: 5 } },
      { key: keys.endpoint(overlayId, 'f'.repeat(64)), value: { endpointId: 'f'.repeat(64), ip: 'not-an-ip', mac: '02:42:0a:43:01:fb', vtep: '10.67.0.98', host: '10.67.0.98', hostName: 'x', names: ['evil2'] } },
    ];
    for (const h of hostile) await store.client.put(h.key).value(JSON.stringify(h.value));
    // Both reached h2's agent (its Peers list every entry's host)...
    await until(async () => { const p = await peersOn(h2, 'ov'); return p.includes('10.67.0.98') && p.includes('10.67.0.99'); }, 'hostile entries on h2');
    // ...and its resolver answers as before, and never with them.
    expect(q(b.key, 'dn1').answers).toEqual([a.ip]);
    expect(q(b.key, 'evil1').answers ?? []).toEqual([]);
    expect(q(b.key, 'evil2').answers ?? []).toEqual([]);
    for (const h of hostile) await store.client.delete().key(h.key);
    // The name resolves to an address that answers: TCP by the name's answer.
    expect(await tcpEchoAt(a.key, q(b.key, 'dn1').answers![0]!, b.key, 'by-name')).toBe('echo:by-name');
    // Renamed on h1: h2 learns the new name with the endpoint's entry.
    await h1.call('POST', '/containers/dn1/rename?name=dn1b').then((r) => expect(r.status).toBe(204));
    await until(async () => q(b.key, 'dn1b').answers?.[0] === a.ip, 'dn1b resolving on h2');
    await ok(h1, 'DELETE', '/containers/dn1b?force=1');
    await until(async () => !q(b.key, 'dn1b').answers?.length, 'dn1b gone from h2\'s resolver');
    await ok(h2, 'DELETE', '/containers/dn2?force=1');
  });

  it('network connect and disconnect of a running container: the address comes from etcd and goes back to it', async () => {
    const h2 = daemons[1]!;
    await ok(h2, 'POST', '/networks/create', { Name: 'side', IPAM: { Config: [{ Subnet: '10.67.4.0/24' }] } });
    await run(h2, 's1', 'side');
    await ok(h2, 'POST', '/networks/ov/connect', { Container: 's1' });
    const s1 = await container(h2, 's1', 'ov');
    expect(JSON.parse((await store.get(keys.address(overlayId, s1.ip)))!.value)).toEqual({ host: h2.host.ip, endpointId: s1.ep });
    const c1 = await container(daemons[0]!, 'c1', 'ov');
    await learned(daemons[0]!, s1.ip, h2);
    expect(await tcpEchoAt(s1.key, s1.ip, c1.key, 'connected')).toBe('echo:connected');
    await ok(h2, 'POST', '/networks/ov/disconnect', { Container: 's1' });
    expect(await store.get(keys.address(overlayId, s1.ip))).toBeUndefined();
    expect(await store.get(keys.endpoint(overlayId, s1.ep))).toBeUndefined();
    await ok(h2, 'DELETE', '/containers/s1?force=1');
    await ok(h2, 'DELETE', '/networks/side');
  });

  it.skipIf(spawnSync('docker', ['--version']).status !== 0)('the docker CLI: network create -d overlay on one host, ls and inspect on another, rm', () => {
    const docker = (d: HostDaemon, ...args: string[]) => {
      const r = spawnSync('docker', args, { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: `unix://${d.socket}` } });
      return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
    };
    const made = docker(daemons[1]!, 'network', 'create', '-d', 'overlay', '--subnet', '10.67.5.0/24', 'viacli');
    expect(made.err).toBe('');
    expect(made.out).toMatch(/^[0-9a-f]{64}$/);
    return until(async () => docker(daemons[2]!, 'network', 'ls', '--filter', 'scope=global', '--format', '{{.Name}} {{.Driver}} {{.Scope}}').out.includes('viacli overlay global'), 'viacli on h3')
      .then(() => {
        const [n] = JSON.parse(docker(daemons[2]!, 'network', 'inspect', 'viacli').out) as { Id: string; Scope: string; Peers: unknown[] }[];
        expect(n).toMatchObject({ Id: made.out, Scope: 'global', Peers: [] });
        expect(docker(daemons[0]!, 'network', 'rm', 'viacli').code).toBe(0);
      });
  });

  it('3 hosts × 50 concurrent containers on one /24 overlay get 150 different addresses', async () => {
    await ok(daemons[1]!, 'POST', '/networks/create', { Name: 'many', Driver: 'overlay', IPAM: { Config: [{ Subnet: '10.67.2.0/24' }] } });
    for (const d of daemons) await until(async () => (await d.call('GET', '/networks/many')).status === 200, `many on ${d.host.name}`);
    const all = await Promise.all(daemons.flatMap((d, h) => Array.from({ length: 50 }, (_, i) => run(d, `m${h}x${i}`, 'many'))));
    const ips = all.map((c) => c.ip);
    expect(new Set(ips).size).toBe(150);
    expect(ips).not.toContain('10.67.2.1');
    expect((await store.list(keys.addresses(all[0] ? ((await ok(daemons[0]!, 'GET', '/networks/many')) as NetInspect).Id : ''))).entries).toHaveLength(150);
    await Promise.all(daemons.flatMap((d, h) => Array.from({ length: 50 }, (_, i) => ok(d, 'DELETE', `/containers/m${h}x${i}?force=1`))));
    expect((await daemons[2]!.call('DELETE', '/networks/many')).status).toBe(204);
    for (const d of daemons) await until(async () => (await d.call('GET', '/networks/many')).status === 404, `many gone on ${d.host.name}`);
  });

  it('etcd stopped: global operations fail fast with a 503, local bridge networks still work; etcd back: global operations work again', async () => {
    await etcd.stop();
    const h1 = daemons[0]!;
    const r = await h1.call('POST', '/networks/create', { Name: 'during', Driver: 'overlay' });
    expect(r.status).toBe(503);
    expect((r.body as { message: string }).message).toMatch(/cluster store etcd:\/\/10\.67\.0\.2:2379 is unavailable/);
    await ok(h1, 'POST', '/containers/create?name=late', { HostConfig: { NetworkMode: 'ov' } });
    expect((await h1.call('POST', '/containers/late/start')).status).toBe(503);
    // Local: a bridge network, two containers, TCP between them.
    await ok(h1, 'POST', '/networks/create', { Name: 'loc', IPAM: { Config: [{ Subnet: '10.67.3.0/24' }] } });
    const [l1, l2] = [await run(h1, 'l1', 'loc'), await run(h1, 'l2', 'loc')];
    expect(await tcpEchoAt(l2.key, l2.ip, l1.key, 'local')).toBe('echo:local');
    // The overlay's data path does not need etcd either.
    const [c1, c2] = [await container(h1, 'c1', 'ov'), await container(daemons[1]!, 'c2', 'ov')];
    expect(await tcpEchoAt(c2.key, c2.ip, c1.key, 'no etcd')).toBe('echo:no etcd');
    await etcd.start();
    await until(async () => (await h1.call('POST', '/containers/late/start')).status === 204, 'a join on ov to work again');
    const late = await container(h1, 'late', 'ov');
    await learned(daemons[1]!, late.ip, h1);
    expect(await tcpEchoAt(late.key, late.ip, c2.key, 'after')).toBe('echo:after');
    for (const c of ['late', 'l1', 'l2']) await ok(h1, 'DELETE', `/containers/${c}?force=1`);
    await ok(h1, 'DELETE', '/networks/loc');
  });

  it('a host whose lease is lost registers its live endpoints again under a new lease; an address taken meanwhile stays with its new holder', async () => {
    const h1 = daemons[0]!;
    const c1 = await container(h1, 'c1', 'ov');
    const x1 = await run(h1, 'x1', 'ov');
    const leaseOf = async (key: string) => (await store.client.get(key).exec()).kvs[0]?.lease;
    const old = await leaseOf(keys.address(overlayId, c1.ip));
    expect(old).toBeDefined();
    // The lease ends under h1 (as after etcd was unreachable past the TTL), and another host takes x1's address at once.
    await store.client.leaseClient.leaseRevoke({ ID: old! });
    const other = new Registry(store, '10.67.0.99', DOCKER_GLOBAL_POOLS);
    const otherLease = store.lease(60);
    expect(await other.allocateAddress(overlayId, await store.grant(otherLease), x1.ip)).toBe(x1.ip);
    // h1 takes a new lease and registers c1 again under it; x1's address is reported as a conflict, not taken back.
    await until(async () => { const l = await leaseOf(keys.address(overlayId, c1.ip)); return !!l && l !== old; }, 'c1 registered again');
    expect(await store.get(keys.endpoint(overlayId, c1.ep))).toBeDefined();
    expect(JSON.parse((await store.get(keys.address(overlayId, x1.ip)))!.value)).toEqual({ host: '10.67.0.99' });
    expect(await store.get(keys.endpoint(overlayId, x1.ep))).toBeUndefined();
    await learned(daemons[1]!, c1.ip, h1);
    expect(await tcpEchoAt(c1.key, c1.ip, (await container(daemons[1]!, 'c2', 'ov')).key, 'again')).toBe('echo:again');
    await ok(h1, 'DELETE', '/containers/x1?force=1');
    expect(JSON.parse((await store.get(keys.address(overlayId, x1.ip)))!.value)).toEqual({ host: '10.67.0.99' });
    await other.releaseAddress(overlayId, x1.ip);
    await store.revoke(otherLease);
  });

  it('a daemon restarted restores its overlay state and reaches the others again, and learns endpoints added meanwhile', async () => {
    const h2 = daemons[1]!;
    await h2.stop();
    const n1 = await run(daemons[0]!, 'n1', 'ov'); // joins while h2 is down
    await h2.start();
    const c2 = await container(h2, 'c2', 'ov');
    await until(async () => (await peersOn(h2, 'ov')).length === 3, 'peers on the restarted host');
    await learned(h2, n1.ip, daemons[0]!);
    await learned(daemons[0]!, c2.ip, h2);
    expect(await tcpEchoAt(n1.key, n1.ip, c2.key, 'to new')).toBe('echo:to new');
    const c3 = await container(daemons[2]!, 'c3', 'ov');
    await learned(h2, c3.ip, daemons[2]!);
    expect(await tcpEchoAt(c2.key, c2.ip, c3.key, 'to restarted')).toBe('echo:to restarted');
    await ok(daemons[0]!, 'DELETE', '/containers/n1?force=1');
  });

  it('a host SIGKILLed has its addresses reclaimed after its lease TTL; the others keep working and drop it from their peers', async () => {
    const h3 = daemons[2]!;
    expect(await heldBy(h3.host.ip)).toBeGreaterThan(0);
    const c3ip = (await container(h3, 'c3', 'ov')).ip;
    await h3.kill();
    await until(async () => (await heldBy(h3.host.ip)) === 0, 'the dead host\'s addresses to be reclaimed');
    for (const d of daemons.slice(0, 2)) await until(async () => !(await peersOn(d, 'ov')).includes(h3.host.ip), `h3 gone from peers on ${d.host.name}`);
    const [c1, c2] = [await container(daemons[0]!, 'c1', 'ov'), await container(daemons[1]!, 'c2', 'ov')];
    expect(await tcpEchoAt(c1.key, c1.ip, c2.key, 'still')).toBe('echo:still');
    // The dead host's address is free for the living.
    const again = await run(daemons[0]!, 'reuse', 'ov', c3ip);
    expect(again.ip).toBe(c3ip);
    await learned(daemons[1]!, c3ip, daemons[0]!);
    expect(await tcpEchoAt(again.key, again.ip, c2.key, 'reused')).toBe('echo:reused');
  });

  it('without a cluster store, an overlay network is a clear 400', async () => {
    const t = await startTestDaemon('nocl', '10.68');
    try {
      const r = await t.call('POST', '/networks/create', { Name: 'x', Driver: 'overlay' });
      expect(r.status).toBe(400);
      expect((r.body as { message: string }).message).toMatch(/datastore for scope "global" is not initialized/);
      expect(t.d.controller.networkByName('x')).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});
