// The bridge firewall with real traffic. An "outside" namespace, routed
// through the host, plays the rest of the world; only namespaces and bridges
// this test makes carry the traffic.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { Controller, type Network, type Sandbox } from '../src/controller/controller.js';
import { internals } from '../src/controller/internals.js';
import { faults } from '../src/driver-api/faults.js';
import type { EndpointRecord } from '../src/driver-api/index.js';
import { nftList } from '../src/firewall/nft.js';
import { tableName } from '../src/firewall/ruleset.js';
import * as nl from '../src/netlink/index.js';
import { bridgeOpt, gate, nsName, tempDir, uniq } from './helpers.js';

const hasNft = spawnSync('nft', ['--version']).status === 0;
const why = !gate.ok ? gate.why : !hasNft ? 'needs nft (Debian package nftables)' : '';

/** A one-shot server in `ns` that answers with the peer's address. */
async function server(ns: string, ip: string, port: number, proto: 'tcp' | 'udp') {
  const p = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', `
import socket
t = socket.SOCK_STREAM if '${proto}' == 'tcp' else socket.SOCK_DGRAM
s = socket.socket(socket.AF_INET6 if ':' in '${ip}' else socket.AF_INET, t); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('${ip}', ${port}))
if t == socket.SOCK_STREAM: s.listen(4)
print('ready', flush=True); s.settimeout(8)
while True:
    if t == socket.SOCK_STREAM:
        c, a = s.accept(); c.recv(100); c.sendall(('from ' + a[0]).encode()); c.close()
    else:
        d, a = s.recvfrom(100); s.sendto(('from ' + a[0]).encode(), a)
`], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((r) => p.stdout.once('data', r));
  return p;
}

/** Connects from `ns` (undefined: the host) and returns the answer, or "fail". */
function client(ns: string | undefined, ip: string, port: number, proto: 'tcp' | 'udp'): string {
  const code = `
import socket, sys
try:
    if '${proto}' == 'tcp':
        s = socket.create_connection(('${ip}', ${port}), timeout=1.5); s.sendall(b'hi'); print(s.recv(100).decode())
    else:
        s = socket.socket(socket.AF_INET6 if ':' in '${ip}' else socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1.5); s.sendto(b'hi', ('${ip}', ${port})); print(s.recv(100).decode())
except Exception as e:
    print('fail')
`;
  const args = ns ? ['ip', ['netns', 'exec', ns, 'python3', '-c', code]] as const : ['python3', ['-c', code]] as const;
  return spawnSync(args[0], [...args[1]], { encoding: 'utf8', timeout: 8000 }).stdout.trim();
}

/** One ICMP echo from `ns` to `ip` (a raw socket: no ping binary needed); whether a reply came within a second. */
function echo(ns: string, ip: string): boolean {
  const v6 = ip.includes(':');
  const code = `
import socket, struct
v6 = ${v6 ? 'True' : 'False'}
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP); s.settimeout(1)
body = struct.pack('!BBHHH', 128 if v6 else 8, 0, 0, 0x4e53, 1) + b'nsnet!'
if not v6:
    c = sum(struct.unpack('!7H', body))
    c = (c >> 16) + (c & 0xffff); c += c >> 16
    body = body[:2] + struct.pack('!H', ~c & 0xffff) + body[4:]
s.sendto(body, ('${ip}', 0))
try:
    while True:
        d, a = s.recvfrom(1500)
        t = d[0] if v6 else d[(d[0] & 15) * 4]
        if t == (129 if v6 else 0) and a[0] == '${ip}': print('reply'); break
except Exception:
    print('none')
`;
  return spawnSync('ip', ['netns', 'exec', ns, 'python3', '-c', code], { encoding: 'utf8', timeout: 5000 }).stdout.trim() === 'reply';
}

describe.skipIf(!!why)(`bridge firewall ${why}`, () => {
  const dir = tempDir('fw');
  let c: Controller;
  let outside: nl.Netns;
  const hostOut = uniq('ho');
  const forwardBefore = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();

  beforeAll(async () => {
    c = await Controller.start({ dataDir: dir.path, firewall: 'nftables' });
    outside = await nl.netnsAdd(uniq('out'));
    await nl.linkAddVeth(undefined, { name: hostOut, up: true }, { name: 'eth0', ns: outside });
    const h = await nl.linkGet(undefined, hostOut);
    await nl.addrAdd(undefined, h.index, '10.39.0.1/24');
    const o = await nl.linkGet(outside, 'eth0');
    await nl.linkSet(outside, o.index, { up: true });
    await nl.linkSet(outside, 'lo', { up: true });
    await nl.addrAdd(outside, o.index, '10.39.0.2/24');
    await nl.addrAdd(undefined, h.index, 'fd00:39::1/64', { noDad: true });
    await nl.addrAdd(outside, o.index, 'fd00:39::2/64', { noDad: true });
    // The outside knows no route to container subnets: only masquerade or DNAT can reach it.
  });

  afterAll(async () => {
    for (const s of c.sandboxes()) await s.destroy();
    for (const n of c.networks()) await n.delete();
    await c.stop();
    await nl.linkDel(undefined, hostOut).catch(() => undefined);
    await nl.netnsDelete(outside);
    dir.remove();
    // Nothing of nsnet's is left in nftables, and forwarding is as it was.
    expect(nftList(tableName(c.marks().tag))).toBeUndefined();
    expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe(forwardBefore);
  });

  afterEach(() => faults.clear());

  const net = (subnet: string, opts: Record<string, string> = {}, internal = false) =>
    c.newNetwork({ name: uniq('fw'), internal, options: { ...bridgeOpt(uniq('fb')), ...opts }, ipam: { config: [{ Subnet: subnet }] } });
  const container = async (n: Network, ports?: Parameters<Network['createEndpoint']>[1]) => {
    const sb = await c.newSandbox(uniq('fc'));
    const ep = n.createEndpoint(uniq('e'), ports);
    await ep.join(sb);
    return { sb, ep, ip: ep.info().ipv4!.split('/')[0]!, ns: nsName(sb.key) };
  };

  it('masquerades traffic leaving the network: the outside sees the host’s address', async () => {
    const n = await net('10.38.1.0/24');
    const a = await container(n);
    const srv = await server(nsName(outside.path), '10.39.0.2', 9001, 'tcp');
    expect(client(a.ns, '10.39.0.2', 9001, 'tcp')).toBe('from 10.39.0.1');
    srv.kill();
    await a.sb.destroy();
    const off = await net('10.38.2.0/24', { 'com.docker.network.bridge.enable_ip_masquerade': 'false' });
    const b = await container(off);
    const srv2 = await server(nsName(outside.path), '10.39.0.2', 9002, 'tcp');
    expect(client(b.ns, '10.39.0.2', 9002, 'tcp')).toBe('fail'); // no way back without masquerade
    srv2.kill();
    await b.sb.destroy();
    await n.delete();
    await off.delete();
  });

  it('host_ipv4 / host_ipv6 (Docker\'s SNAT options): traffic leaves with that source address; a wrong family or a name is refused', async () => {
    // A second host address on the link to the outside, so SNAT and masquerade give different sources.
    const h = await nl.linkGet(undefined, hostOut);
    await nl.addrAdd(undefined, h.index, '10.39.0.7/24');
    await nl.addrAdd(undefined, h.index, 'fd00:39::7/64', { noDad: true });
    try {
      for (const [k, v] of [['com.docker.network.host_ipv4', 'fd00::1'], ['com.docker.network.host_ipv4', 'host.example'], ['com.docker.network.host_ipv6', '10.0.0.1']] as const)
        await expect(net('10.38.14.0/24', { [k]: v })).rejects.toThrow(new RegExp(`invalid ${k.replaceAll('.', '\\.')} option`));
      const n = await c.newNetwork({
        name: uniq('fw'), enableIPv6: true,
        options: { ...bridgeOpt(uniq('fb')), 'com.docker.network.host_ipv4': '10.39.0.7', 'com.docker.network.host_ipv6': 'fd00:39::7' },
        ipam: { config: [{ Subnet: '10.38.14.0/24' }, { Subnet: 'fd00:38:14::/64' }] },
      });
      const a = await container(n);
      const srv = await server(nsName(outside.path), '10.39.0.2', 9003, 'tcp');
      expect(client(a.ns, '10.39.0.2', 9003, 'tcp')).toBe('from 10.39.0.7');
      srv.kill();
      const srv6 = await server(nsName(outside.path), 'fd00:39::2', 9004, 'tcp');
      expect(client(a.ns, 'fd00:39::2', 9004, 'tcp')).toBe('from fd00:39::7');
      srv6.kill();
      await a.sb.destroy();
      await n.delete();
    } finally {
      await nl.addrDel(undefined, h.index, '10.39.0.7/24').catch(() => undefined);
      await nl.addrDel(undefined, h.index, 'fd00:39::7/64').catch(() => undefined);
    }
  });

  it('enable_icc=false: containers on the same bridge cannot reach each other', async () => {
    const n = await net('10.38.3.0/24', { 'com.docker.network.bridge.enable_icc': 'false' });
    const a = await container(n);
    const b = await container(n);
    const srv = await server(b.ns, b.ip, 9003, 'tcp');
    expect(client(a.ns, b.ip, 9003, 'tcp')).toBe('fail');
    srv.kill();
    const on = await net('10.38.4.0/24');
    const x = await container(on);
    const y = await container(on);
    const srv2 = await server(y.ns, y.ip, 9004, 'tcp');
    expect(client(x.ns, y.ip, 9004, 'tcp')).toBe(`from ${x.ip}`);
    srv2.kill();
    for (const s of [a, b, x, y]) await s.sb.destroy();
    await n.delete();
    await on.delete();
  });

  it('isolates bridge networks from each other; a published port is reached through the host\'s address, as Docker\'s', async () => {
    const n1 = await net('10.38.5.0/24');
    const n2 = await net('10.38.6.0/24');
    const a = await container(n1);
    const b = await container(n2, { ports: [{ proto: 'tcp', containerPort: 9005, hostPort: '19005' }] });
    const srv = await server(b.ns, b.ip, 9005, 'tcp');
    expect(client(a.ns, b.ip, 9005, 'tcp')).toBe('fail');
    // Masqueraded on the way into the other bridge: the server sees that bridge's address.
    expect(client(a.ns, '10.39.0.1', 19005, 'tcp')).toBe('from 10.38.6.1');
    srv.kill();
    await a.sb.destroy();
    await b.sb.destroy();
    await n1.delete();
    await n2.delete();
  });

  it('an internal network has no way out and no default route', async () => {
    const n = await net('10.38.7.0/24', {}, true);
    const a = await container(n);
    const routes = await nl.routeList(a.sb.netns);
    expect(routes.some((r) => r.dst === 'default')).toBe(false);
    // Even with a route added by hand, the firewall keeps it in.
    await nl.routeAdd(a.sb.netns, { dst: 'default', gateway: '10.38.7.1' });
    const srv = await server(nsName(outside.path), '10.39.0.2', 9007, 'tcp');
    expect(client(a.ns, '10.39.0.2', 9007, 'tcp')).toBe('fail');
    srv.kill();
    await a.sb.destroy();
    await n.delete();
  });

  it('publishes TCP and UDP ports: reachable from outside, from the host via 127.0.0.1, and by hairpin', async () => {
    const n = await net('10.38.8.0/24');
    const a = await container(n, { ports: [{ proto: 'tcp', containerPort: 80, hostPort: '18080' }, { proto: 'udp', containerPort: 53, hostPort: '18053' }, { proto: 'tcp', containerPort: 81, hostPort: '0' }] });
    const published = a.ep.info().published!;
    expect(published.map((p) => `${p.proto}/${p.hostPort}->${p.containerPort}`).slice(0, 2)).toEqual(['tcp/18080->80', 'udp/18053->53']);
    const eph = published[2]!.hostPort;
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number) as [number, number];
    expect(eph).toBeGreaterThanOrEqual(lo);
    expect(eph).toBeLessThanOrEqual(hi);
    const tcp = await server(a.ns, a.ip, 80, 'tcp');
    const udp = await server(a.ns, a.ip, 53, 'udp');
    expect(client(nsName(outside.path), '10.39.0.1', 18080, 'tcp')).toBe('from 10.39.0.2');
    expect(client(nsName(outside.path), '10.39.0.1', 18053, 'udp')).toBe('from 10.39.0.2');
    expect(client(undefined, '127.0.0.1', 18080, 'tcp')).toMatch(/^from 10\.38\.8\.1$/);
    const b = await container(n);
    // Hairpin: another container on the bridge through the host's address (conntrack
    // undoes the DNAT on the bridged reply, so the peer may see either address).
    expect(client(b.ns, '10.39.0.1', 18080, 'tcp')).toMatch(/^from 10\.38\.8\.(1|3)$/);
    tcp.kill();
    udp.kill();
    // A host port already published is refused, and nothing half-done is left.
    const clash = n.createEndpoint(uniq('e'), { ports: [{ proto: 'tcp', containerPort: 80, hostPort: '18080' }] });
    const sb = await c.newSandbox(uniq('fc'));
    await expect(clash.join(sb)).rejects.toMatchObject({ code: 'EPORTINUSE', message: 'Bind for 0.0.0.0:18080 failed: port is already allocated' });
    expect(clash.info().sandboxId).toBeUndefined();
    await clash.delete();
    await sb.destroy();
    // Leaving unpublishes: the port can be taken again.
    await a.ep.leave(a.sb);
    expect(nftList(tableName(c.marks().tag))).not.toContain('18080');
    const again = n.createEndpoint(uniq('e'), { ports: [{ proto: 'tcp', containerPort: 80, hostPort: '18080' }] });
    await again.join(a.sb);
    await a.sb.destroy();
    await b.sb.destroy();
    expect(nftList(tableName(c.marks().tag))).not.toContain('18080');
    await a.ep.delete();
    await n.delete();
  });

  it('gateway modes (Docker\'s): nat refuses direct routing to containers, nat-unprotected allows it, routed drops masquerade and opens published ports only; trusted_host_interfaces opens them from an interface', async () => {
    const bad: [string, string, RegExp][] = [
      ['com.docker.network.bridge.gateway_mode_ipv4', 'bogus', /invalid option com\.docker\.network\.bridge\.gateway_mode_ipv4="bogus"/],
      ['com.docker.network.bridge.gateway_mode_ipv6', 'isolated', /isolated is not supported/],
      ['com.docker.network.bridge.trusted_host_interfaces', 'eth0:bad/name', /trusted_host_interfaces/],
    ];
    for (const [k, v, re] of bad) await expect(net('10.38.24.0/24', { [k]: v })).rejects.toThrow(re);
    expect(c.networks().some((n) => n.info().ipam.config.some((p) => p.Subnet === '10.38.24.0/24'))).toBe(false);
    // The outside routes the four networks' subnets through the host: direct routing.
    await nl.routeAdd(outside, { dst: '10.38.20.0/22', gateway: '10.39.0.1' });
    const out = nsName(outside.path);
    const cases: { subnet: string; opts: Record<string, string>; port: number; direct80: boolean; direct81: boolean }[] = [
      { subnet: '10.38.20.0/24', opts: {}, port: 18201, direct80: false, direct81: false },
      { subnet: '10.38.21.0/24', opts: { 'com.docker.network.bridge.gateway_mode_ipv4': 'nat-unprotected' }, port: 18211, direct80: true, direct81: true },
      { subnet: '10.38.22.0/24', opts: { 'com.docker.network.bridge.gateway_mode_ipv4': 'routed' }, port: 18221, direct80: true, direct81: false },
      { subnet: '10.38.23.0/24', opts: { 'com.docker.network.bridge.trusted_host_interfaces': `lo:${hostOut}` }, port: 18231, direct80: true, direct81: false },
    ];
    try {
      for (const k of cases) {
        const n = await net(k.subnet, k.opts);
        const a = await container(n, { ports: [{ proto: 'tcp', containerPort: 80, hostPort: String(k.port) }] });
        const srv = [await server(a.ns, a.ip, 80, 'tcp'), await server(a.ns, a.ip, 81, 'tcp')];
        const seen = (ok: boolean) => (ok ? 'from 10.39.0.2' : 'fail');
        expect([k.subnet, client(out, a.ip, 80, 'tcp'), client(out, a.ip, 81, 'tcp')]).toEqual([k.subnet, seen(k.direct80), seen(k.direct81)]);
        // ICMP: open where anything is (nat-unprotected) and in routed mode.
        expect([k.subnet, echo(out, a.ip)]).toEqual([k.subnet, k.direct81 || k.opts['com.docker.network.bridge.gateway_mode_ipv4'] === 'routed']);
        // Published on the host's address, in every mode.
        expect(client(out, '10.39.0.1', k.port, 'tcp')).toBe('from 10.39.0.2');
        for (const p of srv) p.kill();
        // Outgoing: masqueraded to the host's address, except in routed mode.
        const back = await server(out, '10.39.0.2', 9010, 'tcp');
        expect(client(a.ns, '10.39.0.2', 9010, 'tcp')).toBe(`from ${k.opts['com.docker.network.bridge.gateway_mode_ipv4'] === 'routed' ? a.ip : '10.39.0.1'}`);
        back.kill();
        await a.sb.destroy();
        await n.delete();
      }
    } finally {
      await nl.routeDel(outside, { dst: '10.38.20.0/22', gateway: '10.39.0.1' }).catch(() => undefined);
    }
  });

  it('setPorts replaces a joined endpoint\'s ports at once (its old host ports free), and a refused set keeps the old', async () => {
    const n = await net('10.38.12.0/24');
    const a = await container(n, { ports: [{ proto: 'tcp', containerPort: 80, hostPort: '18140' }] });
    const b = await container(n, { ports: [{ proto: 'tcp', containerPort: 80, hostPort: '18142' }] });
    const table = () => nftList(tableName(c.marks().tag)) ?? '';
    await a.ep.setPorts([{ proto: 'tcp', containerPort: 80, hostPort: '18141' }]);
    expect(a.ep.info().published!.map((m) => m.hostPort)).toEqual([18141]);
    expect(table()).toContain('18141');
    expect(table()).not.toContain('18140');
    const tcp = await server(a.ns, a.ip, 80, 'tcp');
    expect(client(undefined, '127.0.0.1', 18141, 'tcp')).toMatch(/^from 10\.38\.12\.1$/);
    tcp.kill();
    // 18142 is b's: refused, and a keeps 18141.
    await expect(a.ep.setPorts([{ proto: 'tcp', containerPort: 80, hostPort: '18142' }])).rejects.toMatchObject({ code: 'EPORTINUSE' });
    expect(a.ep.info().published!.map((m) => m.hostPort)).toEqual([18141]);
    expect(a.ep.info().ports!.map((p) => p.hostPort)).toEqual(['18141']);
    expect(table()).toContain('18141');
    // None: the port is free for another at once.
    await a.ep.setPorts([]);
    expect(a.ep.info().published).toBeUndefined();
    await b.ep.setPorts([{ proto: 'tcp', containerPort: 80, hostPort: '18141' }]);
    expect(b.ep.info().published!.map((m) => m.hostPort)).toEqual([18141]);
    expect(table()).not.toContain('18142');
    await a.sb.destroy();
    await b.sb.destroy();
    expect(table()).not.toContain('18141');
    for (const e of n.endpoints()) await e.delete();
    await n.delete();
  });

  it('IPv6: published ports reach a dual-stack container over IPv6 as well', async () => {
    const forward6 = readFileSync('/proc/sys/net/ipv6/conf/all/forwarding', 'utf8').trim();
    const n = await c.newNetwork({ name: uniq('fw6'), enableIPv6: true, options: bridgeOpt(uniq('fb')), ipam: { config: [{ Subnet: '10.38.10.0/24' }, { Subnet: 'fd00:38:10::/64' }] } });
    expect(readFileSync('/proc/sys/net/ipv6/conf/all/forwarding', 'utf8').trim()).toBe('1');
    const a = await container(n, { ports: [{ proto: 'tcp', containerPort: 80, hostPort: '18110' }] });
    expect(a.ep.info().published!.map((m) => m.containerIp)).toEqual([a.ip, 'fd00:38:10::2']);
    const v6 = await server(a.ns, 'fd00:38:10::2', 80, 'tcp');
    // Neighbour discovery towards an interface whose IPv6 was just switched on
    // can miss its first solicitation under load; a client retries, so do we.
    let got = 'fail';
    for (let k = 0; k < 4 && got === 'fail'; k++) got = client(nsName(outside.path), 'fd00:39::1', 18110, 'tcp');
    expect(got).toBe('from fd00:39::2');
    v6.kill();
    const v4 = await server(a.ns, a.ip, 80, 'tcp');
    expect(client(nsName(outside.path), '10.39.0.1', 18110, 'tcp')).toBe('from 10.39.0.2');
    v4.kill();
    await a.sb.destroy();
    await n.delete();
    expect(readFileSync('/proc/sys/net/ipv6/conf/all/forwarding', 'utf8').trim()).toBe(forward6);
  });

  it('routed mode, as Docker\'s: containers on other networks reach its published ports directly, nothing else; a nat network\'s stay closed to them', async () => {
    const nat = await net('10.38.27.0/24');
    const routed = await net('10.38.28.0/24', { 'com.docker.network.bridge.gateway_mode_ipv4': 'routed' });
    const a = await container(nat, { ports: [{ proto: 'tcp', containerPort: 80, hostPort: '18271' }] });
    const b = await container(routed, { ports: [{ proto: 'tcp', containerPort: 80, hostPort: '18281' }] });
    const srv = [await server(a.ns, a.ip, 80, 'tcp'), await server(b.ns, b.ip, 80, 'tcp'), await server(b.ns, b.ip, 81, 'tcp')];
    expect(client(a.ns, b.ip, 80, 'tcp')).toMatch(/^from /);
    expect(client(a.ns, b.ip, 81, 'tcp')).toBe('fail');
    expect(client(b.ns, a.ip, 80, 'tcp')).toBe('fail');
    for (const p of srv) p.kill();
    await a.sb.destroy();
    await b.sb.destroy();
    const bridge = routed.info().options['com.docker.network.bridge.name']!;
    expect(nftList(tableName(c.marks().tag))).toContain(bridge);
    await nat.delete();
    await routed.delete();
    // The routed set forgets the bridge with its network.
    expect(nftList(tableName(c.marks().tag)) ?? '').not.toContain(bridge);
  });

  it('IPv6 gateway modes: nat refuses direct routing over IPv6; routed opens the published port (and ICMPv6) only, without masquerade', async () => {
    const out = nsName(outside.path);
    await nl.routeAdd(outside, { dst: 'fd00:38:30::/47', gateway: 'fd00:39::1' });
    try {
      for (const mode of ['nat', 'routed'] as const) {
        const sub = mode === 'nat' ? 'fd00:38:30::' : 'fd00:38:31::';
        const n = await c.newNetwork({
          name: uniq('fw6'), enableIPv6: true, options: { ...bridgeOpt(uniq('fb')), 'com.docker.network.bridge.gateway_mode_ipv6': mode },
          ipam: { config: [{ Subnet: mode === 'nat' ? '10.38.30.0/24' : '10.38.31.0/24' }, { Subnet: `${sub}/64` }] },
        });
        const a = await container(n, { ports: [{ proto: 'tcp', containerPort: 80, hostPort: mode === 'nat' ? '18301' : '18311' }] });
        const ip6 = a.ep.info().ipv6!.split('/')[0]!;
        const srv = [await server(a.ns, ip6, 80, 'tcp'), await server(a.ns, ip6, 81, 'tcp')];
        // The first packets towards an interface whose IPv6 just came up may be lost to neighbour discovery: retried.
        const reach = (port: number) => {
          let got = 'fail';
          for (let k = 0; k < 3 && got === 'fail'; k++) got = client(out, ip6, port, 'tcp');
          return got;
        };
        expect([mode, reach(80), client(out, ip6, 81, 'tcp')]).toEqual([mode, mode === 'routed' ? 'from fd00:39::2' : 'fail', 'fail']);
        expect([mode, echo(out, ip6)]).toEqual([mode, mode === 'routed']);
        for (const p of srv) p.kill();
        const back = await server(out, 'fd00:39::2', 9011, 'tcp');
        expect(client(a.ns, 'fd00:39::2', 9011, 'tcp')).toBe(`from ${mode === 'routed' ? ip6 : 'fd00:39::1'}`);
        back.kill();
        await a.sb.destroy();
        await n.delete();
      }
    } finally {
      await nl.routeDel(outside, { dst: 'fd00:38:30::/47', gateway: 'fd00:39::1' }).catch(() => undefined);
    }
  });

  it('a port a leave frees is taken again only once the leave is recorded, so no two records ever claim it', async () => {
    const n = await net('10.38.12.0/24');
    const port = { proto: 'tcp' as const, containerPort: 80, hostPort: '18100' };
    const a = await container(n, { ports: [port] });
    const core = internals(c);
    const fw = core.firewall;
    const unprogram = fw.unprogram.bind(fw);
    let resume!: () => void;
    const held = new Promise<void>((r) => { resume = r; });
    // The leave is held after its rule is gone, before the controller records it.
    fw.unprogram = async (owner, maps) => { await unprogram(owner, maps); await held; };
    try {
      const leaving = a.ep.leave(a.sb);
      await new Promise((r) => setTimeout(r, 50));
      const sbB = await c.newSandbox(uniq('fc'));
      const b = n.createEndpoint(uniq('e'), { ports: [port] });
      await expect(b.join(sbB)).rejects.toMatchObject({ code: 'EPORTINUSE' });
      resume();
      await leaving;
      await b.join(sbB);
      core.store.flush();
      const claims = core.store.all<EndpointRecord>('endpoint').filter((e) => e.published?.some((m) => m.hostPort === 18100));
      expect(claims.map((e) => e.id)).toEqual([b.id]);
      await sbB.destroy();
    } finally {
      resume();
      delete (fw as { unprogram?: unknown }).unprogram;
    }
    await a.ep.delete();
    await a.sb.destroy();
    await n.delete();
  });

  it('a leave that fails after its port rules went keeps the port, and succeeds when retried', async () => {
    const n = await net('10.38.13.0/24');
    const port = { proto: 'tcp' as const, containerPort: 80, hostPort: '18130' };
    const a = await container(n, { ports: [port] });
    faults.arm('bridge.leave.link');
    await expect(a.ep.leave(a.sb)).rejects.toThrow(/bridge.leave.link/);
    expect(a.ep.info().published?.map((m) => m.hostPort)).toEqual([18130]);
    const sbB = await c.newSandbox(uniq('fc'));
    const b = n.createEndpoint(uniq('e'), { ports: [port] });
    await expect(b.join(sbB)).rejects.toMatchObject({ code: 'EPORTINUSE' });
    // The retry does not ask nft to delete the rule a second time (which it would refuse).
    await a.ep.leave(a.sb);
    await b.join(sbB);
    expect(nftList(tableName(c.marks().tag))!.match(/18130/g)?.length).toBe(1);
    await sbB.destroy();
    await a.ep.delete();
    await a.sb.destroy();
    await n.delete();
  });

  it('a restart given two records claiming one port keeps it for one and starts', async () => {
    const n = await net('10.38.11.0/24');
    const a = await container(n, { ports: [{ proto: 'tcp', containerPort: 80, hostPort: '18120' }] });
    const b = await container(n, { ports: [{ proto: 'tcp', containerPort: 80, hostPort: '18121' }] });
    await c.stop();
    // Records as a crash between two requests could once leave them: b claims a's port too.
    const db = new Database(`${dir.path}/nsnet.db`);
    const row = db.prepare("SELECT json FROM objects WHERE kind = 'endpoint' AND id = ?").get(b.ep.id) as { json: string };
    const rec = JSON.parse(row.json) as EndpointRecord;
    rec.published = rec.published!.map((m) => ({ ...m, hostPort: 18120 }));
    db.prepare("UPDATE objects SET json = ? WHERE kind = 'endpoint' AND id = ?").run(JSON.stringify(rec), b.ep.id);
    db.close();
    c = await Controller.start({ dataDir: dir.path, firewall: 'nftables', activeSandboxes: [a.sb.id, b.sb.id] });
    const rules = nftList(tableName(c.marks().tag))!;
    expect(rules.match(/18120/g)?.length).toBe(1);
    const published = (id: string) => c.network(n.id).endpoints().find((e) => e.id === id)!.info().published ?? [];
    expect(published(a.ep.id).length + published(b.ep.id).length).toBe(1);
    // Either way the port is held once: leaving with the other record frees nothing it does not hold.
    const holder = published(a.ep.id).length ? a : b;
    const other = holder === a ? b : a;
    await c.sandbox(other.sb.id)!.destroy();
    const sbC = await c.newSandbox(uniq('fc'));
    const clash = c.network(n.id).createEndpoint(uniq('e'), { ports: [{ proto: 'tcp', containerPort: 80, hostPort: '18120' }] });
    await expect(clash.join(sbC)).rejects.toMatchObject({ code: 'EPORTINUSE' });
    await clash.delete();
    await sbC.destroy();
    await c.sandbox(holder.sb.id)!.destroy();
    await c.network(n.id).delete();
  });

  it('restart rebuilds the rules from the store; deleting the last network removes the table', async () => {
    const n = await net('10.38.9.0/24');
    const a = await container(n, { ports: [{ proto: 'tcp', containerPort: 80, hostPort: '18090' }] });
    await c.stop();
    // Something stale in our table must not survive the restart.
    spawnSync('nft', ['add', 'chain', 'inet', tableName(c.marks().tag), 'stale_chain']);
    c = await Controller.start({ dataDir: dir.path, firewall: 'nftables', activeSandboxes: [a.sb.id] });
    const rules = nftList(tableName(c.marks().tag))!;
    expect(rules).not.toContain('stale_chain');
    expect(rules).toContain('18090');
    const srv = await server(a.ns, a.ip, 80, 'tcp');
    expect(client(nsName(outside.path), '10.39.0.1', 18090, 'tcp')).toBe('from 10.39.0.2');
    srv.kill();
    await c.sandbox(a.sb.id)!.destroy();
    await c.network(n.id).delete();
    expect(nftList(tableName(c.marks().tag))).toBeUndefined();
  });
});
