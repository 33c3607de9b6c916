import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Controller, type Network } from '../src/controller/controller.js';
import { internals } from '../src/controller/internals.js';
import { faults } from '../src/driver-api/faults.js';
import { BRIDGE_MAX_PORTS } from '../src/drivers/bridge.js';
import { gate, ipAddrs, ipJson, ipLink, ipLinks, ipNetnsList, bridgeOpt, nsName, sh, tcpEcho, tempDir, uniq, removeAllAndStop } from './helpers.js';

describe.skipIf(!gate.ok)(`controller ${gate.why}`, () => {
  const dir = tempDir('ctl');
  let c: Controller;

  beforeAll(async () => {
    c = await Controller.start({ dataDir: dir.path });
  });

  afterEach(() => faults.clear());

  afterAll(async () => {
    await removeAllAndStop(c);
    dir.remove();
  });

  const bridgeNet = (subnet: string, extra: Partial<Parameters<Controller['newNetwork']>[0]> = {}) =>
    c.newNetwork({ name: uniq('net'), options: bridgeOpt(uniq('b')), ipam: { config: [{ Subnet: subnet }] }, ...extra });

  const hostLinksOfController = () => ipLinks().filter((l) => l.group === String(c.marks().liveGroup) || l.ifname.startsWith('nsv'));

  it('joinMany records each join with its sandbox: no commit, even one mid-batch, holds a joined endpoint its sandbox does not list', async () => {
    const net = await bridgeNet('10.31.40.0/24');
    const sbs = [await c.newSandbox(uniq('rc')), await c.newSandbox(uniq('rc'))];
    // What the database holds, commit by commit. The store's own timer may
    // commit whenever the loop turns (e.g. while ports are published); here
    // a commit follows every joined endpoint's write at the next microtask,
    // a stricter schedule than the timer's.
    const store = internals(c).store as unknown as {
      flush(): void; put(kind: string, id: string, value: unknown): void;
      commit(writes: { kind: string; id: string; json?: string }[], batch: unknown): boolean;
    };
    store.flush();
    const commit = store.commit;
    const put = store.put;
    store.put = function (kind, id, value) {
      put.call(this, kind, id, value);
      if (kind === 'endpoint' && (value as { sandboxId?: string }).sandboxId) queueMicrotask(() => store.flush());
    };
    const listed = new Map<string, string[]>();
    const orphans: string[] = [];
    store.commit = function (writes, batch) {
      for (const w of writes) if (w.kind === 'sandbox' && w.json) listed.set(w.id, (JSON.parse(w.json) as { endpoints: string[] }).endpoints);
      for (const w of writes) {
        if (w.kind !== 'endpoint' || !w.json) continue;
        const e = JSON.parse(w.json) as { id: string; name: string; sandboxId?: string };
        if (e.sandboxId && !listed.get(e.sandboxId)?.includes(e.id)) orphans.push(e.name);
      }
      return commit.call(this, writes, batch);
    };
    try {
      const res = await c.joinMany(sbs.flatMap((sandbox, i) => Array.from({ length: 4 }, (_, k) => ({
        network: net, sandbox, name: `r${i}${k}`, options: { ports: [{ proto: 'tcp' as const, containerPort: 80, hostPort: 18640 + 4 * i + k }] },
      }))));
      expect(res.map((r) => r.ok)).toEqual(Array(8).fill(true));
      store.flush();
    } finally {
      store.commit = commit;
      store.put = put;
    }
    expect(orphans).toEqual([]);
    expect(sbs.map((sb) => listed.get(sb.id)?.length)).toEqual([4, 4]);
    for (const sb of sbs) await sb.destroy();
    await net.delete();
  });

  it('two sandboxes on one bridge network exchange TCP data', async () => {
    const net = await bridgeNet('10.31.1.0/24');
    const [a, b] = await Promise.all([c.newSandbox(uniq('ca')), c.newSandbox(uniq('cb'))]);
    const ea = net.createEndpoint('a');
    const eb = net.createEndpoint('b');
    await ea.join(a);
    await eb.join(b);
    expect(ea.info().ipv4).toBe('10.31.1.2/24');
    expect(eb.info().ipv4).toBe('10.31.1.3/24');
    expect(ea.info().mac).toBe('02:42:0a:1f:01:02');
    const inside = ipLink('eth0', nsName(a.key))!;
    expect(inside.address).toBe('02:42:0a:1f:01:02');
    expect(ipAddrs(nsName(a.key), 'eth0')).toEqual(['10.31.1.2/24']);
    // No IPv6 on an IPv4-only network's interface, not even link-local; loopback keeps ::1.
    expect(ipJson<unknown[]>(['-n', nsName(a.key), '-6', 'addr', 'show', 'dev', 'eth0'])).toEqual([]);
    expect(JSON.stringify(ipJson(['-n', nsName(a.key), '-6', 'addr', 'show', 'dev', 'lo']))).toContain('::1');
    const routes = ipJson<{ dst: string; gateway?: string }[]>(['-n', nsName(a.key), 'route', 'show']);
    expect(routes.find((r) => r.dst === 'default')?.gateway).toBe('10.31.1.1');
    expect(ipLink(`${ea.info().hostIfname}`)!.master).toBe(net.info().driverState['bridge']);
    // A bridge nsnet makes floods multicast (no snooping) unless the network asks for it.
    expect(ipLink(String(net.info().driverState['bridge']))?.linkinfo?.info_data?.mcast_snooping).toBe(0);
    const snooping = await bridgeNet('10.31.14.0/24', { options: { ...bridgeOpt(uniq('b')), 'nsnet.bridge.multicast_snooping': 'true' } });
    expect(ipLink(String(snooping.info().driverState['bridge']))?.linkinfo?.info_data?.mcast_snooping).toBe(1);
    await snooping.delete();
    expect(await tcpEcho(nsName(b.key), '10.31.1.3', nsName(a.key), 'hello over nsnet')).toBe('echo:hello over nsnet');
    // The host ends are bridge ports without IPv6: no address, no route (not even the multicast one), the link long up by now.
    for (const ep of [ea, eb]) {
      const host = ep.info().hostIfname!;
      expect(ipJson<unknown[]>(['-6', 'addr', 'show', 'dev', host])).toEqual([]);
      expect(ipJson<unknown[]>(['-6', 'route', 'show', 'table', 'all', 'dev', host])).toEqual([]);
    }
    await a.destroy();
    await b.destroy();
    expect(net.endpoints()).toHaveLength(0);
    await net.delete();
  });

  it('a sandbox on two networks reaches a peer on each; the default route fails over when the gateway endpoint leaves', async () => {
    // Names in byte order (n1 first): the election's tie-break, as libnetwork's.
    const tag = uniq('gw');
    const n1 = await bridgeNet('10.31.2.0/24', { name: `${tag}-a` });
    const n2 = await bridgeNet('10.31.3.0/24', { name: `${tag}-b` });
    const [multi, p1, p2] = await Promise.all([c.newSandbox(uniq('m')), c.newSandbox(uniq('p1')), c.newSandbox(uniq('p2'))]);
    const m1 = n1.createEndpoint('m1');
    const m2 = n2.createEndpoint('m2');
    await m1.join(multi);
    await m2.join(multi);
    await n1.createEndpoint('p1').join(p1);
    await n2.createEndpoint('p2').join(p2);
    expect(m1.info().ifname).toBe('eth0');
    expect(m2.info().ifname).toBe('eth1');
    expect(await tcpEcho(nsName(p1.key), '10.31.2.3', nsName(multi.key), 'one')).toBe('echo:one');
    expect(await tcpEcho(nsName(p2.key), '10.31.3.3', nsName(multi.key), 'two')).toBe('echo:two');
    const gw = () => ipJson<{ dst: string; gateway?: string }[]>(['-n', nsName(multi.key), 'route', 'show']).find((r) => r.dst === 'default')?.gateway;
    expect(gw()).toBe('10.31.2.1');
    await m1.leave(multi);
    expect(gw()).toBe('10.31.3.1');
    expect(m2.info().gateway).toBe(true);
    await m1.join(multi);
    expect(m1.info().ifname).toBe('eth0'); // lowest free name
    // Back on the network whose name comes first: it takes the default route again, as Docker's election gives it.
    expect(gw()).toBe('10.31.2.1');
    expect([m1.info().gateway, m2.info().gateway]).toEqual([true, undefined]);
    for (const s of [multi, p1, p2]) await s.destroy();
    await n1.delete();
    await n2.delete();
  });

  it('endpoint sysctls: set on the interface before it comes up; bad keys refused at create; a value the kernel refuses fails the join, undone', async () => {
    const net = await bridgeNet('10.31.23.0/24');
    const sb = await c.newSandbox(uniq('sy'));
    expect(() => net.createEndpoint('k', { sysctls: { 'kernel.panic': '1' } })).toThrow(/unrecognised network interface sysctl 'kernel.panic=1'/);
    expect(() => net.createEndpoint('k', { sysctls: { 'net.ipv4.conf.IFNAME.forwarding': '1\n2' } })).toThrow(/invalid value/);
    const ep = net.createEndpoint('ok', { sysctls: { 'net.ipv4.conf.IFNAME.log_martians': '1', 'net.ipv6.conf.ifname.accept_ra': '0' } });
    expect(ep.info().sysctls).toEqual({ 'net.ipv4.conf.IFNAME.log_martians': '1', 'net.ipv6.conf.IFNAME.accept_ra': '0' });
    await ep.join(sb);
    const inside = (f: string) => sh('ip', ['netns', 'exec', nsName(sb.key), 'cat', f]).trim();
    expect([inside('/proc/sys/net/ipv4/conf/eth0/log_martians'), inside('/proc/sys/net/ipv6/conf/eth0/accept_ra')]).toEqual(['1', '0']);
    expect(ipLinks(nsName(sb.key)).find((l) => l.ifname === 'eth0')!.flags).toContain('UP');
    const bad = net.createEndpoint('bad', { sysctls: { 'net.ipv4.conf.IFNAME.arp_ignore': 'many' } });
    await expect(bad.join(sb)).rejects.toMatchObject({ code: 'EINVAL' });
    expect(ipLinks(nsName(sb.key)).map((l) => l.ifname).sort()).toEqual(['eth0', 'lo']);
    expect(bad.info().sandboxId).toBeUndefined();
    await bad.delete();
    await sb.destroy();
    await net.delete();
  });

  it('gateway election: gwPriority, then the network name; moved on join and leave, in a batch too, and traffic follows it', async () => {
    const tag = uniq('el');
    const a = await bridgeNet('10.31.20.0/24', { name: `${tag}-a` });
    const b = await bridgeNet('10.31.21.0/24', { name: `${tag}-b` });
    const c3 = await bridgeNet('10.31.22.0/24', { name: `${tag}-c` });
    expect(() => a.createEndpoint('bad', { gwPriority: 1.5 })).toThrow(/invalid gateway priority 1.5/);
    // Go's int64 range, as dockerd takes it (beyond 2^53 the JSON number is inexact but orders the same).
    expect(() => a.createEndpoint('huge', { gwPriority: 2 ** 64 })).toThrow(/invalid gateway priority/);
    await a.createEndpoint('big', { gwPriority: -(2 ** 62) }).delete();
    const sb = await c.newSandbox(uniq('el'));
    const routes = () => ipJson<{ dst: string; gateway?: string; dev: string }[]>(['-n', nsName(sb.key), 'route', 'show']).filter((r) => r.dst === 'default');
    // c first (it takes the route), then b: b's name comes first, so the route moves to b.
    const ec = c3.createEndpoint('x');
    await ec.join(sb);
    expect(routes()).toEqual([expect.objectContaining({ gateway: '10.31.22.1', dev: 'eth0' })]);
    const eb = b.createEndpoint('x');
    await eb.join(sb);
    expect(routes()).toEqual([expect.objectContaining({ gateway: '10.31.21.1', dev: 'eth1' })]);
    // a, with a lower priority than b's 0: b keeps it.
    const ea = a.createEndpoint('x', { gwPriority: -1 });
    await ea.join(sb);
    expect(routes().map((r) => r.gateway)).toEqual(['10.31.21.1']);
    expect([ea, eb, ec].map((e) => !!e.info().gateway)).toEqual([false, true, false]);
    await eb.leave(sb);
    // Failover picks by the same order: c (priority 0) before a (-1).
    expect(routes().map((r) => r.gateway)).toEqual(['10.31.22.1']);
    await eb.delete();
    await ea.leave(sb);
    await ea.delete();
    await ec.leave(sb);
    await ec.delete();
    // In one batch: the highest priority wins whatever the order.
    const res = await c.joinMany([
      { network: c3, sandbox: sb, name: 'y' },
      { network: a, sandbox: sb, name: 'y', options: { gwPriority: 5 } },
      { network: b, sandbox: sb, name: 'y' },
    ]);
    expect(res.every((r) => r.ok)).toBe(true);
    expect(routes().map((r) => r.gateway)).toEqual(['10.31.20.1']);
    const gwOf = res.map((r) => (r.ok ? !!r.endpoint.info().gateway : null));
    expect(gwOf).toEqual([false, true, false]);
    await sb.destroy();
    for (const n of [a, b, c3]) await n.delete();
  });

  it('a gateway per address family, as Docker 28: an IPv4-only network that outranks a dual-stack one takes IPv4 only; IPv6 stays, and each fails over alone', async () => {
    const tag = uniq('pf');
    // "a" (IPv4 only) outranks "b" (dual stack) by its endpoints' gateway priority (by name alone, b's two gateways would put it first).
    const a = await bridgeNet('10.31.23.0/24', { name: `${tag}-a` });
    const b = await c.newNetwork({ name: `${tag}-b`, enableIPv6: true, options: bridgeOpt(uniq('b6')), ipam: { config: [{ Subnet: '10.31.24.0/24' }, { Subnet: 'fd00:31:24::/64' }] } });
    const sb = await c.newSandbox(uniq('pf'));
    const defaults = (family: '-4' | '-6') =>
      ipJson<{ dst: string; gateway?: string; dev: string }[]>(['-n', nsName(sb.key), family, 'route', 'show']).filter((r) => r.dst === 'default').map((r) => `${r.gateway} ${r.dev}`);
    const roles = (...eps: { info(): { gateway?: boolean; gatewayFamilies?: (4 | 6)[] } }[]) =>
      eps.map((e) => (e.info().gateway ? (e.info().gatewayFamilies ?? ['all']).join('') : '-'));
    // b first: it holds both; then a takes IPv4 over and IPv6 stays on b.
    const eb = b.createEndpoint('x');
    await eb.join(sb);
    expect([defaults('-4'), defaults('-6')]).toEqual([['10.31.24.1 eth0'], ['fd00:31:24::1 eth0']]);
    const ea = a.createEndpoint('x', { gwPriority: 1 });
    await ea.join(sb);
    expect([defaults('-4'), defaults('-6')]).toEqual([['10.31.23.1 eth1'], ['fd00:31:24::1 eth0']]);
    expect(roles(ea, eb)).toEqual(['all', '6']);
    // a leaves: IPv4 goes back to b, which holds both again.
    await ea.leave(sb);
    expect([defaults('-4'), defaults('-6')]).toEqual([['10.31.24.1 eth0'], ['fd00:31:24::1 eth0']]);
    expect(roles(eb)).toEqual(['all']);
    await ea.delete();
    // The other way round: a joins, then b takes only IPv6 (nobody held it); b leaves and a keeps IPv4.
    await eb.leave(sb);
    await eb.delete();
    const a2 = a.createEndpoint('y', { gwPriority: 1 });
    await a2.join(sb);
    const b2 = b.createEndpoint('y');
    await b2.join(sb);
    expect(roles(a2, b2)).toEqual(['all', '6']);
    expect([defaults('-4').length, defaults('-6')]).toEqual([1, [`fd00:31:24::1 ${b2.info().ifname}`]]);
    await b2.leave(sb);
    expect([defaults('-4'), defaults('-6')]).toEqual([[`10.31.23.1 ${a2.info().ifname}`], []]);
    expect(roles(a2)).toEqual(['all']);
    // Kept across a restart: the records say which family each holds.
    await b2.join(sb);
    const state = () => c.sandboxes().find((x) => x.id === sb.id)!.endpoints().map((e) => `${e.name}:${roles(e)[0]}`).sort();
    const before = state();
    await c.stop();
    c = await Controller.start({ dataDir: dir.path, activeSandboxes: [sb.id] });
    expect(state()).toEqual(before);
    const live = c.sandboxes().find((x) => x.id === sb.id)!;
    await live.destroy();
    // In one batch, dual-stack first: it takes both in the crossing, then the election gives IPv4 to the IPv4-only network.
    const [na, nb] = [a.id, b.id].map((id) => c.networks().find((n) => n.id === id)!);
    const sb2 = await c.newSandbox(uniq('pf'));
    const res = await c.joinMany([{ network: nb!, sandbox: sb2, name: 'z' }, { network: na!, sandbox: sb2, name: 'z', options: { gwPriority: 1 } }]);
    expect(roles(...res.map((r) => (r.ok ? r.endpoint : undefined!)))).toEqual(['6', 'all']);
    const d4 = ipJson<{ dst: string; dev: string }[]>(['-n', nsName(sb2.key), 'route', 'show']).filter((r) => r.dst === 'default').map((r) => r.dev);
    expect(d4).toEqual([res[1]!.ok ? res[1]!.endpoint.info().ifname : '']);
    // On record: the sandbox's record lists both joins across a restart.
    await c.stop();
    c = await Controller.start({ dataDir: dir.path, activeSandboxes: [sb2.id] });
    const kept = c.sandboxes().find((x) => x.id === sb2.id)!;
    expect(kept.endpoints().map((e) => `${e.info().networkId}:${e.info().ifname}`).sort())
      .toEqual([`${na!.id}:eth1`, `${nb!.id}:eth0`].sort());
    await kept.destroy();
    for (const id of [na!.id, nb!.id]) await c.networks().find((n) => n.id === id)!.delete();
  });

  it('at equal priority a dual-stack network outranks an IPv4-only one that comes first by name, as libnetwork\'s Endpoint.Less', async () => {
    const tag = uniq('dl');
    const a = await bridgeNet('10.31.38.0/24', { name: `${tag}-a` });
    const b = await c.newNetwork({ name: `${tag}-b`, enableIPv6: true, options: bridgeOpt(uniq('b6')), ipam: { config: [{ Subnet: '10.31.39.0/24' }, { Subnet: 'fd00:31:39::/64' }] } });
    const sb = await c.newSandbox(uniq('dl'));
    const ns = nsName(sb.key);
    const defaults = (family: '-4' | '-6') =>
      ipJson<{ dst: string; gateway?: string; dev: string }[]>(['-n', ns, family, 'route', 'show']).filter((r) => r.dst === 'default').map((r) => `${r.gateway} ${r.dev}`);
    // a first: it takes IPv4, b then IPv6 in its join, and the election gives b both.
    const ea = a.createEndpoint('x');
    await ea.join(sb);
    const eb = b.createEndpoint('x');
    await eb.join(sb);
    expect([defaults('-4'), defaults('-6')]).toEqual([[`10.31.39.1 ${eb.info().ifname}`], [`fd00:31:39::1 ${eb.info().ifname}`]]);
    expect([ea.info().gateway, eb.info().gateway, eb.info().gatewayFamilies]).toEqual([undefined, true, undefined]);
    await sb.destroy();
    for (const n of [a, b]) await n.delete();
  });

  it('a default route the container set itself survives a failover; an endpoint left without the route gets it back at the next join it outranks', async () => {
    const tag = uniq('ow');
    const [a, b, z] = [await bridgeNet('10.31.32.0/24', { name: `${tag}-a` }), await bridgeNet('10.31.33.0/24', { name: `${tag}-b` }), await bridgeNet('10.31.34.0/24', { name: `${tag}-z` })];
    const sb = await c.newSandbox(uniq('ow'));
    const ns = nsName(sb.key);
    const defaults = () => ipJson<{ dst: string; gateway?: string; dev: string }[]>(['-n', ns, 'route', 'show']).filter((r) => r.dst === 'default').map((r) => `${r.gateway ?? '-'} ${r.dev}`);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', ns, 'route', 'add', 'default', 'dev', 'lo']);
    // In a batch: a's route is refused by the container's, b joins without one.
    const res = await c.joinMany([{ network: a, sandbox: sb, name: 'x' }, { network: b, sandbox: sb, name: 'x' }]);
    expect(res.map((r) => r.ok)).toEqual([false, true]);
    const eb = res[1]!.ok ? res[1]!.endpoint : undefined!;
    expect(eb.info().gateway).toBeUndefined();
    // The container drops its route; z joins and takes it in its own join, then the election gives it to b, which outranks z.
    sh('ip', ['-n', ns, 'route', 'del', 'default', 'dev', 'lo']);
    const ez = z.createEndpoint('x');
    await ez.join(sb);
    expect(defaults()).toEqual([`10.31.33.1 ${eb.info().ifname}`]);
    expect([eb.info().gateway, ez.info().gateway]).toEqual([true, undefined]);
    // The container sets its own again (over b's); b leaves: its failover to z is refused by the container's route, which stays.
    sh('ip', ['-n', ns, 'route', 'replace', 'default', 'dev', 'lo']);
    await eb.leave(sb);
    expect(defaults()).toEqual(['- lo']);
    expect(ez.info().gateway).toBeUndefined();
    await sb.destroy();
    // ez went with the sandbox (its joined endpoints do); eb had left.
    await eb.delete();
    for (const n of [a, b, z]) await n.delete();
  });

  it('a join undone after its election added a route nobody held takes that route away again', async () => {
    const tag = uniq('ou');
    const dual = (name: string, k: number) => c.newNetwork({ name, enableIPv6: true, options: bridgeOpt(uniq('b6')), ipam: { config: [{ Subnet: `10.31.${k}.0/24` }, { Subnet: `fd00:31:${k}::/64` }] } });
    const [p, q] = [await dual(`${tag}-p`, 35), await dual(`${tag}-q`, 36)];
    const z = await bridgeNet('10.31.37.0/24', { name: `${tag}-z` });
    const sb = await c.newSandbox(uniq('ou'));
    const ns = nsName(sb.key);
    const defaults = (family: '-4' | '-6') =>
      ipJson<{ dst: string; gateway?: string; dev: string }[]>(['-n', ns, family, 'route', 'show']).filter((r) => r.dst === 'default').map((r) => `${r.gateway ?? '-'} ${r.dev}`);
    const [ep, eq] = [p.createEndpoint('x'), q.createEndpoint('x')];
    await ep.join(sb);
    await eq.join(sb);
    // The container's own IPv6 default route over p's; p leaves: q takes IPv4 over, not IPv6; then the container drops its route.
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', ns, '-6', 'route', 'replace', 'default', 'dev', 'lo']);
    await ep.leave(sb);
    expect(eq.info().gatewayFamilies).toEqual([4]);
    sh('ip', ['-n', ns, '-6', 'route', 'del', 'default', 'dev', 'lo']);
    expect(defaults('-6')).toEqual([]);
    // z (IPv4 only, outranked by q) joins: the election adds q's IPv6 route, which nobody held; the join fails at its record and is undone.
    faults.arm('endpoint.join.store');
    const ez = z.createEndpoint('x');
    await expect(ez.join(sb)).rejects.toMatchObject({ code: 'EINJECTED' });
    expect([defaults('-4'), defaults('-6')]).toEqual([[`10.31.36.1 ${eq.info().ifname}`], []]);
    expect(eq.info().gatewayFamilies).toEqual([4]);
    await sb.destroy();
    for (const e of [ep, ez]) await e.delete();
    for (const n of [p, q, z]) await n.delete();
  });

  it('inhibit_ipv4: nsnet gives the bridge no IPv4 address (a user bridge keeps its own, before and after); containers still talk', async () => {
    const br = uniq('bi');
    const net = await bridgeNet('10.31.25.0/24', { options: { ...bridgeOpt(br), 'com.docker.network.bridge.inhibit_ipv4': 'true' } });
    expect(ipAddrs(undefined, br)).toEqual([]);
    const [a, b] = await Promise.all([c.newSandbox(uniq('ia')), c.newSandbox(uniq('ib'))]);
    const [ea, eb] = [net.createEndpoint('a'), net.createEndpoint('b')];
    await ea.join(a);
    await eb.join(b);
    expect(await tcpEcho(nsName(b.key), eb.info().ipv4!.split('/')[0]!, nsName(a.key), 'no gateway address')).toBe('echo:no gateway address');
    await a.destroy();
    await b.destroy();
    await net.delete();
    // A bridge of the user's with the gateway address configured by hand, as inhibit_ipv4 is used in Docker.
    const own = uniq('bu');
    sh('ip', ['link', 'add', own, 'type', 'bridge']);
    try {
      // Not the IPAM gateway (10.31.26.1), which nsnet would otherwise add beside it.
      sh('ip', ['addr', 'add', '10.31.26.254/24', 'dev', own]);
      const adopted = await bridgeNet('10.31.26.0/24', { options: { ...bridgeOpt(own), 'com.docker.network.bridge.inhibit_ipv4': 'true' } });
      expect(ipAddrs(undefined, own)).toEqual(['10.31.26.254/24']);
      await adopted.delete();
      expect(ipAddrs(undefined, own)).toEqual(['10.31.26.254/24']);
    } finally {
      sh('ip', ['link', 'del', own]);
    }
  });

  it('leave returns with the interface down, without its address, its name and address reusable; the link is destroyed later', async () => {
    const net = await bridgeNet('10.31.4.0/29');
    const sb = await c.newSandbox(uniq('lv'));
    const ep = net.createEndpoint('x');
    await ep.join(sb);
    const host = ep.info().hostIfname!;
    const peerIndex = ep.info().peerIndex!;
    const addr = ep.info().ipv4!;
    await ep.leave(sb);
    const left = ipLinks(nsName(sb.key)).find((l) => l.ifindex === peerIndex);
    if (left) {
      expect(left.ifname).not.toBe('eth0');
      expect(left.flags).not.toContain('UP');
      expect(ipAddrs(nsName(sb.key), left.ifname)).toEqual([]);
    }
    await ep.delete();
    // Same name and (serial allocation aside) the same address can be used again at once.
    const again = net.createEndpoint('y', { ipv4Address: addr.split('/')[0]! });
    await again.join(sb);
    expect(again.info().ifname).toBe('eth0');
    expect(again.info().ipv4).toBe(addr);
    // Nobody flushes: the deferred deletion still completes within a bounded time.
    const deadline = Date.now() + 2000;
    while (ipLink(host) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(ipLink(host)).toBeUndefined();
    expect(ipLinks(nsName(sb.key)).some((l) => l.ifindex === peerIndex)).toBe(false);
    await sb.destroy();
    await net.delete();
  });

  it('IPv6: a dual-stack bridge network gives addresses, a default route and traffic over IPv6', async () => {
    const net = await c.newNetwork({ name: uniq('v6'), enableIPv6: true, options: bridgeOpt(uniq('b6')), ipam: { config: [{ Subnet: '10.31.40.0/24' }, { Subnet: 'fd00:31:40::/64' }] } });
    const [a, b] = await Promise.all([c.newSandbox(uniq('6a')), c.newSandbox(uniq('6b'))]);
    const ea = net.createEndpoint('a');
    const eb = net.createEndpoint('b');
    await ea.join(a);
    await eb.join(b);
    expect(ea.info().ipv6).toBe('fd00:31:40::2/64');
    expect(ipAddrs(nsName(b.key), 'eth0')).toEqual(['10.31.40.3/24', 'fd00:31:40::3/64']);
    const r6 = ipJson<{ dst: string; gateway?: string }[]>(['-n', nsName(a.key), '-6', 'route', 'show']);
    expect(r6.find((r) => r.dst === 'default')?.gateway).toBe('fd00:31:40::1');
    expect(await tcpEcho(nsName(b.key), 'fd00:31:40::3', nsName(a.key), 'over v6')).toBe('echo:over v6');
    await a.destroy();
    await b.destroy();
    await net.delete();
  });

  it('IPv6-only: the endpoint gets a random locally administered MAC, recorded and on its interface, and traffic over IPv6', async () => {
    const net = await c.newNetwork({ name: uniq('v6o'), enableIPv4: false, enableIPv6: true, options: bridgeOpt(uniq('b6')), ipam: { config: [{ Subnet: 'fd00:31:42::/64' }] } });
    const [a, b] = await Promise.all([c.newSandbox(uniq('6a')), c.newSandbox(uniq('6b'))]);
    const [ea, eb] = [net.createEndpoint('a'), net.createEndpoint('b')];
    await ea.join(a);
    await eb.join(b);
    const mac = ea.info().mac!;
    expect(mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    expect(parseInt(mac.slice(0, 2), 16) & 0x03).toBe(0x02); // locally administered, unicast
    expect(mac).not.toBe(eb.info().mac);
    expect(ipLink('eth0', nsName(a.key))!.address).toBe(mac);
    expect(await tcpEcho(nsName(b.key), eb.info().ipv6!.split('/')[0]!, nsName(a.key), 'v6 only')).toBe('echo:v6 only');
    await a.destroy();
    await b.destroy();
    await net.delete();
  });

  it('a join still works when the interface index nsnet would pick is taken behind its back', async () => {
    const net = await bridgeNet('10.31.41.0/24');
    const sb = await c.newSandbox(uniq('ix'));
    const next = sb.info().nextIfIndex ?? 2;
    sh('ip', ['-n', nsName(sb.key), 'link', 'add', 'squat', 'index', String(next), 'type', 'bridge']);
    const ep = net.createEndpoint('ix');
    await ep.join(sb);
    expect(ipAddrs(nsName(sb.key), 'eth0')).toEqual(['10.31.41.2/24']);
    expect(ep.info().peerIndex).not.toBe(next);
    await sb.destroy();
    await net.delete();
  });

  it('null and host drivers: loopback only, and the host namespace', async () => {
    const none = await c.newNetwork({ name: uniq('none'), driver: 'null' });
    const host = await c.newNetwork({ name: uniq('host'), driver: 'host' });
    await expect(c.newNetwork({ name: uniq('none2'), driver: 'null' })).rejects.toThrow(/only one instance/);
    const sb = await c.newSandbox(uniq('nl'));
    const ep = none.createEndpoint('n');
    await ep.join(sb);
    expect(ipLinks(nsName(sb.key)).map((l) => l.ifname)).toEqual(['lo']);
    expect(ipLink('lo', nsName(sb.key))!.flags).toContain('UP');
    const hs = await c.newSandbox(uniq('hs'), { useHostNamespace: true });
    expect(hs.key).toBe(`/proc/${process.pid}/ns/net`);
    const hep = host.createEndpoint('h');
    await hep.join(hs);
    const bnet = await bridgeNet('10.31.5.0/24');
    await expect(bnet.createEndpoint('hb').join(hs)).rejects.toMatchObject({ code: 'EHOSTMODE' });
    await expect(host.createEndpoint('hx').join(sb)).rejects.toMatchObject({ code: 'EHOSTMODE' });
    await sb.destroy();
    await hs.destroy();
    for (const e of [...host.endpoints(), ...bnet.endpoints()]) await e.delete(true);
    await none.delete();
    await host.delete();
    await bnet.delete();
  });

  it('writes hosts and resolv.conf into the sandbox directory', async () => {
    const { readFileSync } = await import('node:fs');
    const net = await bridgeNet('10.31.6.0/24');
    const sb = await c.newSandbox(uniq('f'), { hostname: 'web', domainname: 'example.test', dns: ['10.31.6.53'], dnsSearch: ['example.test'], extraHosts: [{ name: 'db', ip: '10.31.6.9' }] });
    await net.createEndpoint('f').join(sb);
    const hosts = readFileSync(`${sb.info().dir}/hosts`, 'utf8');
    expect(hosts).toContain('10.31.6.2\tweb.example.test web');
    expect(hosts).toContain('10.31.6.9\tdb');
    expect(readFileSync(`${sb.info().dir}/resolv.conf`, 'utf8')).toBe('nameserver 10.31.6.53\nsearch example.test\n');
    await sb.destroy();
    await net.delete();
  });

  it('adopts a namespace the runtime made, and leaves it in place on destroy', async () => {
    const { netnsAdd, netnsDelete } = await import('../src/netlink/index.js');
    const runtimeNs = await netnsAdd(uniq('rt'));
    const net = await bridgeNet('10.31.7.0/24');
    const sb = await c.newSandbox(uniq('ad'), { netnsPath: runtimeNs.path });
    expect(sb.key).toBe(runtimeNs.path);
    const ep = net.createEndpoint('ad');
    await ep.join(sb);
    expect(ipAddrs(nsName(runtimeNs.path), 'eth0')).toEqual(['10.31.7.2/24']);
    await sb.destroy();
    expect(ipNetnsList()).toContain(nsName(runtimeNs.path));
    expect(ipLinks(nsName(runtimeNs.path)).filter((l) => l.flags.includes('UP')).map((l) => l.ifname)).toEqual(['lo']);
    await c.flush();
    await netnsDelete(runtimeNs);
    await net.delete();
  });

  describe('bad input and conflicts change nothing', () => {
    it('network names, drivers, IPAM config', async () => {
      const before = c.stats();
      await expect(c.newNetwork({ name: '' })).rejects.toMatchObject({ code: 'EINVALIDINPUT' });
      await expect(c.newNetwork({ name: ' \t ' })).rejects.toMatchObject({ code: 'EINVALIDINPUT' });
      await expect(c.newNetwork({ name: uniq('n'), driver: 'nosuch' })).rejects.toMatchObject({ code: 'ENOTFOUND' });
      await expect(c.newNetwork({ name: uniq('n'), ipam: { config: [{ Subnet: '10.31.8.0/24', Gateway: '10.31.9.1' }] } })).rejects.toThrow(/gateway 10.31.9.1: it should be within subnet/);
      await expect(c.newNetwork({ name: uniq('n'), ipam: { config: [{ Subnet: '10.31.8.0/24', IPRange: '10.31.9.0/25' }] } })).rejects.toThrow(/ip-range/);
      await expect(c.newNetwork({ name: uniq('n'), ipam: { config: [{ Subnet: '10.31.8.0/24', AuxiliaryAddresses: { h: '10.32.0.1' } }] } })).rejects.toThrow(/auxiliary address/);
      await expect(c.newNetwork({ name: uniq('n'), ipam: { config: [{ Subnet: '10.31.8.1/24' }] } })).rejects.toThrow('invalid subnet 10.31.8.1/24: it should be 10.31.8.0/24');
      await expect(c.newNetwork({ name: uniq('n'), options: bridgeOpt('way-too-long-bridge-name') })).rejects.toThrow(/interface name/);
      await expect(c.newNetwork({ name: uniq('n'), options: { ...bridgeOpt(uniq('b')), 'nsnet.bridge.multicast_snooping': 'sometimes' } }))
        .rejects.toMatchObject({ code: 'EINVALIDINPUT', message: expect.stringMatching(/multicast_snooping/) });
      const n = await bridgeNet('10.31.8.0/24');
      await expect(c.newNetwork({ name: n.name })).rejects.toMatchObject({ code: 'ENETWORKEXISTS', message: `network with name ${n.name} already exists` });
      await expect(bridgeNet('10.31.8.128/25')).rejects.toMatchObject({ code: 'POOL_OVERLAP' });
      await n.delete();
      expect(c.stats()).toEqual(before);
    });

    it('endpoint addresses, duplicate names, deleting a network in use', async () => {
      const n = await bridgeNet('10.31.10.0/24');
      await expect(() => n.createEndpoint('e', { ipv4Address: '10.99.0.1' })).toThrow(/does not belong/);
      const e = n.createEndpoint('e', { ipv4Address: '10.31.10.50' });
      expect(() => n.createEndpoint('e')).toThrow(/already exists/);
      expect(() => n.createEndpoint('f', { ipv4Address: '10.31.10.50' })).toThrow(/Address already in use/);
      await expect(n.delete()).rejects.toMatchObject({ code: 'EACTIVEENDPOINTS' });
      await e.delete();
      await n.delete();
    });

    it('config-only networks make nothing and take no endpoint; configFrom takes their configuration whole, kept over a restart', async () => {
      const d2 = tempDir('cfg');
      let k = await Controller.start({ dataDir: d2.path });
      try {
        const before = k.stats();
        const br = uniq('b');
        const conf = await k.newNetwork({
          name: uniq('cf'), configOnly: true, enableIPv6: true, options: bridgeOpt(br), labels: { tier: 'x' },
          ipam: { config: [{ Subnet: '10.31.12.0/24', Gateway: '10.31.12.254' }, { Subnet: 'fd31:12::/64' }] },
        });
        expect(conf.info()).toMatchObject({ driver: 'null', scope: 'local', configOnly: true, pools4: [], pools6: [] });
        expect(ipLink(br)).toBeUndefined();
        expect(() => conf.createEndpoint('e')).toThrow(expect.objectContaining({ code: 'ECONFIGNETWORK' }));
        for (const bad of [{ configOnly: true, internal: true }, { configOnly: true, configFrom: conf.name }, { configFrom: conf.name, options: { a: 'b' } },
          { configFrom: conf.name, labels: { a: 'b' } }, { configFrom: conf.name, ipam: { config: [{ Subnet: '10.31.13.0/24' }] } }])
          await expect(k.newNetwork({ name: uniq('x'), ...bad })).rejects.toMatchObject({ code: 'ECONFIGNETWORK' });
        await expect(k.newNetwork({ name: uniq('x'), configFrom: 'nosuch' })).rejects.toMatchObject({ code: 'ENOTFOUND' });
        const n = await k.newNetwork({ name: uniq('cn'), configFrom: conf.name, internal: true });
        expect(n.info()).toMatchObject({ driver: 'bridge', configFrom: conf.name, configOnly: false, enableIPv6: true, internal: true, labels: { tier: 'x' }, options: bridgeOpt(br) });
        expect(n.info().pools4.map((p) => [p.subnet, p.gateway])).toEqual([['10.31.12.0/24', '10.31.12.254']]);
        expect(n.info().pools6.map((p) => p.subnet)).toEqual(['fd31:12::/64']);
        expect(ipAddrs(undefined, br)).toContain('10.31.12.254/24');
        await expect(conf.delete()).rejects.toMatchObject({ code: 'ECONFIGINUSE' });
        await k.stop();
        k = await Controller.start({ dataDir: d2.path });
        expect(k.network(conf.name).info()).toMatchObject({ driver: 'null', configOnly: true });
        expect(k.network(n.name).info().configFrom).toBe(conf.name);
        await expect(k.network(conf.name).delete()).rejects.toMatchObject({ code: 'ECONFIGINUSE' });
        await k.network(n.name).delete();
        await k.network(conf.name).delete();
        expect(k.stats()).toEqual(before);
      } finally {
        await removeAllAndStop(k);
        d2.remove();
      }
    });

    it('ambiguous and unknown lookups', async () => {
      const a = await bridgeNet('10.31.11.0/24');
      expect(c.network(a.id.slice(0, 10)).id).toBe(a.id);
      expect(c.network(a.name).id).toBe(a.id);
      expect(() => c.network('zzzz')).toThrow(/not found/);
      expect(() => c.network('')).toThrow();
      await a.delete();
    });
  });

  it('a failure at any step of network create, sandbox create or join leaves nothing behind', async () => {
    const points = [
      ['network.create.driver', 'bridge.create.link', 'bridge.create.address', 'network.create.store'],
      ['sandbox.create.loopback', 'sandbox.create.store'],
      ['endpoint.create.store'],
      ['bridge.join.veth', 'bridge.join.configure', 'endpoint.join.store'],
    ] as const;
    const net = await bridgeNet('10.31.12.0/24');
    const sb = await c.newSandbox(uniq('fi'));
    const baseline = { links: hostLinksOfController().length, netns: ipNetnsList().length, store: internals(c).store.count('endpoint'), stats: c.stats() };
    for (const p of points[0]) {
      faults.arm(p);
      await expect(bridgeNet('10.31.13.0/24')).rejects.toMatchObject({ code: 'EINJECTED' });
      expect(ipLinks().some((l) => l.ifname.startsWith('b') && l.ifname.length > 10 && !c.networks().some((n) => n.info().driverState['bridge'] === l.ifname) && l.ifname.startsWith('nt'))).toBe(false);
      expect(internals(c).ipam.poolIds()).not.toContain('LocalDefault/10.31.13.0/24');
    }
    for (const p of points[1]) {
      faults.arm(p);
      await expect(c.newSandbox(uniq('fx'))).rejects.toMatchObject({ code: 'EINJECTED' });
      expect(ipNetnsList()).toHaveLength(baseline.netns);
    }
    faults.arm('endpoint.create.store');
    expect(() => net.createEndpoint('boom')).toThrow(/injected/);
    expect(internals(c).ipam.usage('LocalDefault/10.31.12.0/24').allocated).toBe(1n); // just the gateway
    for (const p of points[3]) {
      const ep = net.createEndpoint(uniq('j'));
      faults.arm(p);
      await expect(ep.join(sb)).rejects.toMatchObject({ code: 'EINJECTED' });
      expect(ipLinks(nsName(sb.key)).map((l) => l.ifname)).toEqual(['lo']);
      expect(ep.info().sandboxId).toBeUndefined();
      expect(sb.info().endpoints).toEqual([]);
      await ep.delete();
    }
    expect(hostLinksOfController()).toHaveLength(baseline.links);
    expect(internals(c).store.count('endpoint')).toBe(baseline.store);
    expect(c.stats()).toEqual(baseline.stats);
    expect(internals(c).ipam.usage('LocalDefault/10.31.12.0/24').allocated).toBe(1n);
    // And the machinery still works afterwards.
    const ok = net.createEndpoint('ok');
    await ok.join(sb);
    await sb.destroy();
    await net.delete();
  });

  it('200 concurrent joins across 20 sandboxes and 4 networks: unique addresses, right namespaces', async () => {
    const nets = await Promise.all([0, 1, 2, 3].map((i) => bridgeNet(`10.31.${20 + i}.0/24`)));
    const sbs = await Promise.all(Array.from({ length: 20 }, () => c.newSandbox(uniq('cc'))));
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) {
      const ep = nets[i % 4]!.createEndpoint(uniq('e'));
      jobs.push(ep.join(sbs[i % 20]!));
    }
    const res = await Promise.allSettled(jobs);
    expect(res.filter((r) => r.status === 'rejected')).toEqual([]);
    const addrs = nets.flatMap((n) => n.endpoints().map((e) => e.info().ipv4));
    expect(new Set(addrs).size).toBe(200);
    for (const sb of sbs) {
      const links = ipLinks(nsName(sb.key)).filter((l) => l.ifname !== 'lo');
      expect(links.map((l) => l.ifname).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `eth${i}`).sort());
      const mine = sb.endpoints().map((e) => e.info().ipv4!).sort();
      const seen = links.flatMap((l) => ipAddrs(nsName(sb.key), l.ifname)).sort();
      expect(seen).toEqual(mine);
      expect(sb.endpoints().filter((e) => e.info().gateway)).toHaveLength(1);
    }
    for (const sb of sbs) await sb.destroy();
    for (const n of nets) await n.delete();
  });

  it('two concurrent creates of one network name: exactly one wins', async () => {
    const name = uniq('dup');
    const res = await Promise.allSettled([
      c.newNetwork({ name, options: bridgeOpt(uniq('d')), ipam: { config: [{ Subnet: '10.31.30.0/24' }] } }),
      c.newNetwork({ name, options: bridgeOpt(uniq('d')), ipam: { config: [{ Subnet: '10.31.31.0/24' }] } }),
    ]);
    expect(res.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(res.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'ENETWORKEXISTS' } });
    await c.networkByName(name)!.delete();
  });

  it(`a bridge holds ${BRIDGE_MAX_PORTS} ports: the next join fails clearly, before touching the kernel`, async () => {
    const net = await c.newNetwork({ name: uniq('big'), options: bridgeOpt(uniq('bg')), ipam: { config: [{ Subnet: '10.40.0.0/20' }] } });
    const sbs = await Promise.all(Array.from({ length: 16 }, () => c.newSandbox(uniq('bg'))));
    for (let i = 0; i < BRIDGE_MAX_PORTS; i += 64)
      await Promise.all(Array.from({ length: Math.min(64, BRIDGE_MAX_PORTS - i) }, (_, k) => net.createEndpoint(`e${i + k}`).join(sbs[(i + k) % 16]!)));
    const last = net.createEndpoint('one-too-many');
    await expect(last.join(sbs[0]!)).rejects.toMatchObject({ code: 'EBRIDGEFULL', message: expect.stringMatching(/1023 ports/) });
    expect(last.info().sandboxId).toBeUndefined();
    await last.delete();
    for (const s of sbs) await s.destroy();
    await net.delete();
  });
});
