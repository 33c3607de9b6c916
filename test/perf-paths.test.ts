// The endpoint path at the kernel's floor (issue 14): a join's requests in
// one crossing, in any namespace; joinMany; leave off the bridge
// (no port held, no flush on a join); the namespace pool.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller } from '../src/controller/controller.js';
import { internals } from '../src/controller/internals.js';
import { nativeStats, netnsGetId, netnsOpen } from '../src/netlink/index.js';
import { NSID_FLOOR, NSID_TOP } from '../src/controller/netns-ids.js';
import { native } from '../src/netlink/native.js';
import { gate, ipJson, ipLink, ipLinks, ipNetnsList, bridgeOpt, nsName, sh, tcpEcho, tempDir, uniq, removeAllAndStop } from './helpers.js';

interface DetailedLink { ifname: string; master?: string; operstate?: string; flags: string[]; inet6_addr_gen_mode?: string; num_tx_queues?: number; num_rx_queues?: number }

describe.skipIf(!gate.ok)(`endpoint path ${gate.why}`, () => {
  const dir = tempDir('perf');
  let c: Controller;
  const runtimeNs: string[] = [];

  beforeAll(async () => {
    c = await Controller.start({ dataDir: dir.path, firewall: 'none' });
  });

  afterAll(async () => {
    await removeAllAndStop(c);
    for (const n of runtimeNs) sh('ip', ['netns', 'del', n]);
    dir.remove();
  });

  const net = (subnet: string, name = uniq('net')) => c.newNetwork({ name, options: bridgeOpt(uniq('b')), ipam: { config: [{ Subnet: subnet }] } });
  /** A namespace made by "the runtime" (not nsnet), adopted by path. */
  const runtimeSandbox = async () => {
    const name = uniq('rt');
    sh('ip', ['netns', 'add', name]);
    runtimeNs.push(name);
    return c.newSandbox(uniq('crt'), { netnsPath: `/run/netns/${name}` });
  };

  it('a join is one crossing on the calling thread: five requests in a namespace nsnet made, seven in one given by path; no IPv6 on an IPv4-only interface', async () => {
    const n = await net('10.77.1.0/24');
    for (const [sb, requests] of [[await c.newSandbox(uniq('cown')), 5], [await runtimeSandbox(), 7]] as const) {
      const ep = n.createEndpoint(uniq('e'));
      await c.flush();
      const before = nativeStats();
      await ep.join(sb);
      // veth (echoed), IPv6 disabled on the host end (a sysctl), host end master+up, address, default route;
      // in the runtime's namespace the container end is born down, has IPv6 disabled (a sysctl there) and is brought up.
      expect(nativeStats().executed - before.executed).toBe(requests);
      // No namespace switch on the way, even for the sysctl inside the runtime's namespace: run inline.
      expect(nativeStats().inlined - before.inlined).toBe(1);
      const ns = nsName(sb.key);
      const eth0 = ipJson<DetailedLink[]>(['-n', ns, '-d', 'link', 'show', 'eth0'])[0]!;
      expect(eth0.flags).toContain('UP');
      // As Docker (CVE-2024-32473): an interface of an IPv4-only network has IPv6 disabled, so no address, route or DAD.
      expect(sh('ip', ['netns', 'exec', ns, 'cat', '/proc/sys/net/ipv6/conf/eth0/disable_ipv6']).trim()).toBe('1');
      expect(ipJson<unknown[]>(['-n', ns, '-6', 'addr', 'show', 'dev', 'eth0'])).toEqual([]);
      expect(ipJson<unknown[]>(['-n', ns, '-6', 'route', 'show', 'table', 'all', 'dev', 'eth0'])).toEqual([]);
      // One queue each way, allocated so (no queue cut, and its RCU wait, after registering).
      expect([eth0.num_tx_queues, eth0.num_rx_queues]).toEqual([1, 1]);
      expect(ipJson<{ addr_info: { local: string; prefixlen: number }[] }[]>(['-n', ns, '-4', 'addr', 'show', 'dev', 'eth0'])[0]!.addr_info
        .map((a) => `${a.local}/${a.prefixlen}`)).toEqual([ep.info().ipv4]);
      expect(ipJson<{ dst: string; gateway?: string }[]>(['-n', ns, 'route', 'show']).find((r) => r.dst === 'default')?.gateway).toBe('10.77.1.1');
      expect(ep.info().peerIndex).toBe(ipLink('eth0', ns)!.ifindex);
      const host = ipJson<DetailedLink[]>(['-d', 'link', 'show', ep.info().hostIfname!])[0]!;
      expect(host.master).toBe(n.info().driverState['bridge']);
      expect(host.flags).toContain('UP');
      expect([host.num_tx_queues, host.num_rx_queues]).toEqual([1, 1]);
      expect(readFileSync(`/proc/sys/net/ipv6/conf/${host.ifname}/disable_ipv6`, 'utf8').trim()).toBe('1');
      expect(ipJson<unknown[]>(['-6', 'addr', 'show', 'dev', ep.info().hostIfname!])).toEqual([]);
      expect(ipJson<unknown[]>(['-6', 'route', 'show', 'table', 'all', 'dev', ep.info().hostIfname!])).toEqual([]);
      await ep.leave(sb);
      // Down and in the dead group, for the reaper (leave does not detach it from the bridge: that costs an RCU wait).
      const left = ipJson<(DetailedLink & { group: string })[]>(['-d', 'link', 'show', host.ifname])[0]!;
      expect(left.flags).not.toContain('UP');
      expect(left.group).toBe(String(c.marks().deadGroup));
      await ep.delete();
      await sb.destroy();
    }
    await n.delete();
  });

  it('in a namespace given by path, a dual-stack endpoint keeps IPv6 on its interface (only IPv4-only ones lose it), and both carry traffic', async () => {
    const n = await c.newNetwork({ name: uniq('v6'), enableIPv6: true, options: bridgeOpt(uniq('b6')), ipam: { config: [{ Subnet: '10.77.6.0/24' }, { Subnet: 'fd00:77:6::/64' }] } });
    const v4 = await net('10.77.7.0/24');
    const [a, b] = [await runtimeSandbox(), await runtimeSandbox()];
    const ea = n.createEndpoint(uniq('e'));
    const eb = n.createEndpoint(uniq('e'));
    await ea.join(a);
    await eb.join(b);
    const e4 = v4.createEndpoint(uniq('e'));
    await e4.join(a);
    const [na, nb] = [nsName(a.key), nsName(b.key)];
    const v6of = (ns: string, dev: string) => ipJson<{ addr_info: { local: string; scope: string }[] }[]>(['-n', ns, '-6', 'addr', 'show', 'dev', dev])[0]?.addr_info
      .filter((x) => x.scope === 'global').map((x) => x.local) ?? [];
    expect(sh('ip', ['netns', 'exec', na, 'cat', '/proc/sys/net/ipv6/conf/eth0/disable_ipv6']).trim()).toBe('0');
    expect(v6of(na, 'eth0')).toEqual([ea.info().ipv6!.split('/')[0]]);
    // The IPv4-only network's interface in the same namespace has none.
    expect(sh('ip', ['netns', 'exec', na, 'cat', '/proc/sys/net/ipv6/conf/eth1/disable_ipv6']).trim()).toBe('1');
    expect(ipJson<unknown[]>(['-n', na, '-6', 'addr', 'show', 'dev', 'eth1'])).toEqual([]);
    expect(await tcpEcho(nb, eb.info().ipv6!.split('/')[0]!, na, 'over IPv6')).toBe('echo:over IPv6');
    expect(await tcpEcho(nb, eb.info().ipv4!.split('/')[0]!, na, 'over IPv4')).toBe('echo:over IPv4');
    for (const [sb, ep] of [[a, ea], [b, eb], [a, e4]] as const) { await ep.leave(sb); await ep.delete(); }
    await a.destroy();
    await b.destroy();
    await n.delete();
    await v4.delete();
  });

  it('more than a bridge\'s 1023 ports of join/leave cycles with deletion deferred: no join ever waits for a flush', async () => {
    const d2 = tempDir('perf-reap');
    const c2 = await Controller.start({ dataDir: d2.path, firewall: 'none', reapDelayMs: 600_000 });
    try {
      const n = await c2.newNetwork({ name: 'reap', options: bridgeOpt(uniq('b')), ipam: { config: [{ Subnet: '10.77.8.0/22' }] } });
      const sb = await c2.newSandbox(uniq('creap'));
      const reaper = internals(c2).reaper;
      for (let i = 0; i < 1030; i++) {
        const ep = n.createEndpoint(`e${i}`);
        await ep.join(sb);
        await ep.leave(sb);
        await ep.delete();
      }
      expect(reaper.rounds).toBe(0);
      expect(c2.stats().deferredDeletes).toBe(1030);
      // The joins past the 1023rd detached the oldest left links in their own crossing.
      const bridge = n.info().driverState['bridge'] as string;
      expect(ipJson<unknown[]>(['link', 'show', 'master', bridge]).length).toBe(1023);
      await c2.flush();
      await sb.destroy();
      await n.delete();
    } finally {
      await c2.stop();
      d2.remove();
    }
  });

  it('joinMany: many endpoints over many sandboxes in one crossing, each settled on its own', async () => {
    // n1's name first: it is the gateway network (libnetwork's election), whatever the join order.
    const tag = uniq('jm');
    const n1 = await net('10.77.2.0/24', `${tag}-a`);
    const n2 = await net('10.77.3.0/24', `${tag}-b`);
    const sbs = [await c.newSandbox(uniq('cm')), await c.newSandbox(uniq('cm')), await runtimeSandbox()];
    // A name taken inside one sandbox by an interface nsnet does not know of: only the kernel refuses it.
    sh('ip', ['-n', nsName(sbs[1]!.key), 'link', 'add', 'taken0', 'type', 'bridge']);
    await c.flush();
    const before = nativeStats().executed;
    // Every crossing the call makes, by its number of requests.
    const crossings: number[] = [];
    const submit = native.submit;
    native.submit = (...args) => {
      crossings.push(args[1].length);
      return submit.apply(native, args);
    };
    let res;
    try {
      res = await c.joinMany([
        ...sbs.flatMap((sandbox, i) => [
          { network: n1, sandbox, name: `a${i}` },
          { network: n2.id, sandbox, name: `b${i}` },
        ]),
        { network: 'no-such-network', sandbox: sbs[0]!, name: 'x' },
        // Refused by the kernel (the name is taken inside the sandbox): that one fails alone.
        { network: n1, sandbox: sbs[1]!, name: 'bad', options: { ifname: 'taken0' } },
      ]);
    } finally {
      native.submit = submit;
    }
    expect(res.map((r) => r.ok)).toEqual([true, true, true, true, true, true, false, false]);
    // Seven joins in one crossing. A join hands over one request (the addon
    // builds its messages: vethJoinOp), which runs five kernel requests for
    // a sandbox's first (gateway) endpoint and four for the others (no
    // default route). In the runtime's namespace the container end is born
    // down: the request runs three (veth, host end's IPv6 off, host end
    // enslaved and up), then come IPv6 off inside, the address, up and, for
    // the gateway endpoint, the route. The one the kernel refused stopped at
    // its veth (never made: nothing to undo in the kernel).
    expect(crossings).toEqual([2 * (1 + 1) + (1 + 4) + (1 + 3) + 1]);
    expect(nativeStats().executed - before).toBe(2 * (5 + 4) + (3 + 4) + (3 + 3) + 1);
    const bad = res[7]!;
    expect(!bad.ok && (bad.error as { code?: string }).code).toBe('EEXIST');
    expect(n1.endpoints().map((e) => e.name).sort()).toEqual(['a0', 'a1', 'a2']);
    for (const [i, sb] of sbs.entries()) {
      const ns = nsName(sb.key);
      expect(ipLinks(ns).map((l) => l.ifname).filter((x) => x !== 'taken0').sort()).toEqual(['eth0', 'eth1', 'lo']);
      const defaults = ipJson<{ dst: string; gateway?: string }[]>(['-n', ns, 'route', 'show']).filter((r) => r.dst === 'default');
      expect(defaults).toEqual([expect.objectContaining({ gateway: '10.77.2.1' })]);
      const ok = res[2 * i]!;
      expect(ok.ok && ok.endpoint.info().sandboxId).toBe(sb.id);
    }
    // The failed one left no host end behind (undo deleted it; the reaper has nothing of it).
    const live = ipLinks().filter((l) => l.group === String(c.marks().liveGroup));
    expect(live).toHaveLength(6);
    for (const sb of sbs) await sb.destroy();
    await n1.delete();
    await n2.delete();
  });

  it('a join whose request fails after its veth was made (the default route here) undoes the veth, and names the failing step', async () => {
    const n = await net('10.77.6.0/24');
    const sb = await c.newSandbox(uniq('cf'));
    const ns = nsName(sb.key);
    // A default route nsnet does not know of: the join's own route is refused (EEXIST), after the veth, its host end and the address.
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', ns, 'route', 'add', 'default', 'dev', 'lo']);
    const ep = n.createEndpoint(uniq('e'));
    const live = () => ipLinks().filter((l) => l.group === String(c.marks().liveGroup)).length;
    const before = live();
    const err = await ep.join(sb).then(() => undefined, (e: unknown) => e as { code?: string; op?: string; ns?: string });
    expect(err).toMatchObject({ code: 'EEXIST', op: 'routeAdd default', ns: sb.key });
    // Nothing of it left: no eth0 inside, no host end outside, the endpoint unjoined.
    expect(ipLinks(ns).map((l) => l.ifname)).toEqual(['lo']);
    expect(live()).toBe(before);
    expect(ep.info().sandboxId).toBeUndefined();
    // It joins once the foreign route is gone.
    sh('ip', ['-n', ns, 'route', 'del', 'default', 'dev', 'lo']);
    await ep.join(sb);
    expect(ipJson<{ dst: string; gateway?: string }[]>(['-n', ns, 'route', 'show']).find((r) => r.dst === 'default')?.gateway).toBe('10.77.6.1');
    await ep.leave(sb);
    await ep.delete();
    await sb.destroy();
    await n.delete();
  });

  it('joinMany: when the join that was to take the default route fails, a later one takes it, unless the container has its own', async () => {
    const [n1, n2] = [await net('10.77.7.0/24'), await net('10.77.8.0/24')];
    const defaults = (ns: string) => ipJson<{ dst: string; gateway?: string; dev: string }[]>(['-n', ns, 'route', 'show']).filter((r) => r.dst === 'default');
    // The container's own default route: the first join's route is refused, and the second's election must not replace it.
    const own = await c.newSandbox(uniq('cg'));
    sh('ip', ['-n', nsName(own.key), 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', nsName(own.key), 'route', 'add', 'default', 'dev', 'lo']);
    let res = await c.joinMany([{ network: n1, sandbox: own, name: 'a' }, { network: n2, sandbox: own, name: 'b' }]);
    expect(res.map((r) => r.ok)).toEqual([false, true]);
    expect(!res[0]!.ok && res[0]!.error).toMatchObject({ code: 'EEXIST', op: 'routeAdd default' });
    expect(defaults(nsName(own.key)).map((r) => `${r.gateway ?? '-'} ${r.dev}`)).toEqual(['- lo']);
    expect(res[1]!.ok && res[1]!.endpoint.info().gateway).toBeFalsy();
    // Without one: the first join fails on its interface name, and the second takes the route.
    const bare = await c.newSandbox(uniq('cg'));
    sh('ip', ['-n', nsName(bare.key), 'link', 'add', 'taken0', 'type', 'bridge']);
    res = await c.joinMany([{ network: n1, sandbox: bare, name: 'c', options: { ifname: 'taken0' } }, { network: n2, sandbox: bare, name: 'd' }]);
    expect(res.map((r) => r.ok)).toEqual([false, true]);
    const d = res[1]!.ok ? res[1]!.endpoint : undefined;
    expect(defaults(nsName(bare.key)).map((r) => `${r.gateway} ${r.dev}`)).toEqual([`10.77.8.1 ${d?.info().ifname}`]);
    expect(d?.info().gateway).toBe(true);
    for (const sb of [own, bare]) await sb.destroy();
    for (const n of [n1, n2]) await n.delete();
  });

  it('joinMany creates each endpoint just before its join: a refused creation or a failed join leaves nothing, the rest join', async () => {
    const n1 = await net('10.77.5.0/24');
    const sbs = [await c.newSandbox(uniq('cm')), await c.newSandbox(uniq('cm'))];
    sh('ip', ['-n', nsName(sbs[1]!.key), 'link', 'add', 'taken0', 'type', 'bridge']);
    const res = await c.joinMany([
      { network: n1, sandbox: sbs[0]!, name: 'same' },
      // The name is taken by the first of this very batch.
      { network: n1, sandbox: sbs[1]!, name: 'same' },
      { network: n1, sandbox: sbs[1]!, name: 'badmac', options: { macAddress: 'zz:zz' } },
      // Created, then refused by the kernel: deleted again.
      { network: n1, sandbox: sbs[1]!, name: 'taken', options: { ifname: 'taken0' } },
      { network: n1, sandbox: sbs[1]!, name: 'fine' },
    ]);
    expect(res.map((r) => r.ok)).toEqual([true, false, false, false, true]);
    expect(!res[1]!.ok && (res[1]!.error as { code?: string }).code).toBe('EENDPOINTEXISTS');
    expect(!res[2]!.ok && (res[2]!.error as { code?: string }).code).toBe('EINVALIDINPUT');
    expect(!res[3]!.ok && (res[3]!.error as { code?: string }).code).toBe('EEXIST');
    expect(n1.endpoints().map((e) => e.name).sort()).toEqual(['fine', 'same']);
    expect(res[0]!.ok && res[0]!.endpoint.info().sandboxId).toBe(sbs[0]!.id);
    expect(res[4]!.ok && res[4]!.endpoint.info().sandboxId).toBe(sbs[1]!.id);
    // The address the failed join had was given back: it can be asked for again.
    const again = n1.createEndpoint('again', { ipv4Address: '10.77.5.3' });
    expect(again.info().ipv4).toBe('10.77.5.3/24');
    await again.delete();
    for (const sb of sbs) await sb.destroy();
    await n1.delete();
  });

  it('sandbox namespaces get host namespace IDs downward, in nsnet\'s range, so the kernel finds the newest first; a runtime\'s own ID stays', async () => {
    const idOf = async (key: string) => netnsGetId(await netnsOpen(key));
    const a = await c.newSandbox(uniq('cid'));
    const b = await runtimeSandbox();
    const d = await c.newSandbox(uniq('cid'));
    // Set at creation, before any join (the kernel would otherwise number them itself, lowest free first, on a join).
    const ids = [await idOf(a.key), await idOf(b.key), await idOf(d.key)];
    for (const id of ids) expect(id >= NSID_FLOOR && id < NSID_TOP).toBe(true);
    expect(ids[0]).toBeGreaterThan(ids[1]!);
    expect(ids[1]).toBeGreaterThan(ids[2]!);
    // A namespace the runtime has already numbered keeps its number.
    const name = uniq('rtid');
    sh('ip', ['netns', 'add', name]);
    runtimeNs.push(name);
    const own = 100_000 + Math.floor(Math.random() * 100_000);
    sh('ip', ['netns', 'set', name, String(own)]);
    const e = await c.newSandbox(uniq('crtid'), { netnsPath: `/run/netns/${name}` });
    expect(await idOf(e.key)).toBe(own);
    // The next ID held by someone else (another process counting down the same way): the sandbox gets one below it.
    const other = uniq('rtid');
    sh('ip', ['netns', 'add', other]);
    runtimeNs.push(other);
    const held = ids[2]! - 2;
    sh('ip', ['netns', 'set', other, String(held)]);
    const f = await c.newSandbox(uniq('cid'));
    const idF = await idOf(f.key);
    expect(idF >= NSID_FLOOR && idF < held).toBe(true);
    for (const s of [a, b, d, e, f]) await s.destroy();
  });

  it('the namespace pool: sandboxes start in namespaces made ahead; stop deletes the rest', async () => {
    const d3 = tempDir('perf-pool');
    const c3 = await Controller.start({ dataDir: d3.path, firewall: 'none', netnsPool: 3 });
    const prefix = c3.marks().netnsPrefix;
    try {
      await internals(c3).pool!.filled();
      expect(c3.stats().pooledNamespaces).toBe(3);
      const n = await c3.newNetwork({ name: 'pool', options: bridgeOpt(uniq('b')), ipam: { config: [{ Subnet: '10.77.4.0/24' }] } });
      const sbs = [];
      for (let i = 0; i < 5; i++) sbs.push(await c3.newSandbox(uniq('cpool')));
      // The first three came from the pool, the others were made on the spot (or by the refill).
      expect(sbs.slice(0, 3).every((s) => nsName(s.key).startsWith(`${prefix}p`))).toBe(true);
      const ep = n.createEndpoint('p');
      await ep.join(sbs[0]!);
      expect(ipLink('eth0', nsName(sbs[0]!.key))?.flags).toContain('UP');
      // IPv6 stays off for interfaces of pooled namespaces, as for others nsnet makes.
      expect(ipJson<unknown[]>(['-n', nsName(sbs[0]!.key), '-6', 'addr', 'show', 'dev', 'eth0'])).toEqual([]);
      for (const s of sbs) await s.destroy();
      await internals(c3).pool!.filled();
      expect(c3.stats().pooledNamespaces).toBe(3);
      await n.delete();
    } finally {
      await c3.stop();
      d3.remove();
    }
    expect(ipNetnsList().filter((x) => x.startsWith(prefix))).toEqual([]);
  });

  it('refuses a bad pool size before touching anything', async () => {
    const d4 = tempDir('perf-badpool');
    try {
      await expect(Controller.start({ dataDir: d4.path, netnsPool: -1 })).rejects.toMatchObject({ code: 'EINVALIDINPUT' });
      // The data directory was released: a good start succeeds.
      const ok = await Controller.start({ dataDir: d4.path, firewall: 'none' });
      await ok.stop();
    } finally {
      d4.remove();
    }
  });
});
