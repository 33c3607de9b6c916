import { networkInterfaces } from 'node:os';
import { stat } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nl from '../src/netlink/index.js';
import { gate, ipAddrs, ipJson, ipLink, ipLinks, ipNetnsList, openFds, sh, uniq } from './helpers.js';

describe.skipIf(!gate.ok)(`netlink core ${gate.why}`, () => {
  let ns: nl.Netns;
  let fdsBefore: number;

  beforeAll(async () => {
    // Open the host namespace's per-lane sockets first, and its IPv6 sysctl directory: they live as long as the process.
    await nl.linkList(undefined);
    await nl.linkDel(undefined, 'nt-warm-0').catch(() => undefined);
    await nl.sysctlGet('net/ipv6/conf/lo/disable_ipv6');
    fdsBefore = openFds();
    ns = await nl.netnsAdd(uniq('ns'));
  });

  afterAll(async () => {
    await nl.netnsDelete(ns).catch(() => undefined);
    // Every fd the addon opened for namespaces it was told were deleted is closed.
    expect(openFds()).toBe(fdsBefore);
    expect(nl.nativeStats().procMountsOpen).toBe(0);
    expect(nl.nativeStats().cachedNamespaces).toBeLessThanOrEqual(2);
  });

  it('creates a named namespace that ip netns sees, and opens it by path', async () => {
    const name = ns.path.split('/').pop()!;
    expect(ipNetnsList()).toContain(name);
    const again = await nl.netnsOpen(ns.path);
    expect(again.sameAs(ns)).toBe(true);
    expect(again.ino).toBe(statSync(ns.path).ino);
    const self = await nl.netnsOpen(`/proc/${process.pid}/ns/net`);
    expect(self.sameAs(ns)).toBe(false);
  });

  it('namespace IDs: set (ip netns set), read back, listed (ip netns list-id); a second ID or a taken one refused', async () => {
    const other = await nl.netnsAdd(uniq('nsid'));
    try {
      expect(await nl.netnsGetId(other)).toBe(nl.NSID_NOT_ASSIGNED);
      const id = 300_000 + Math.floor(Math.random() * 100_000);
      await nl.netnsSetId(other, id);
      expect(await nl.netnsGetId(other)).toBe(id);
      expect(await nl.netnsListIds()).toContain(id);
      // As ip sees it.
      expect(ipJson<{ nsid: number }[]>(['netns', 'list-id']).map((x) => x.nsid)).toContain(id);
      await expect(nl.netnsSetId(other, id + 1)).rejects.toMatchObject({ code: 'EEXIST', op: expect.stringContaining('netnsSetId') });
      await expect(nl.netnsSetId(ns, id)).rejects.toMatchObject({ code: 'EEXIST' });
      expect(() => nl.netnsSetIdOp(ns, -1)).toThrow(/namespace ID/);
    } finally {
      await nl.netnsDelete(other);
    }
  });

  it('honours a configurable run directory', async () => {
    const dir = `/run/${uniq('rd')}`;
    const other = await nl.netnsAdd('x', { runDir: dir });
    expect(other.path).toBe(`${dir}/x`);
    expect(sh('stat', ['-f', '-c', '%T', other.path]).trim()).toBe('nsfs');
    await nl.netnsDelete(other);
    sh('umount', [dir]);
    sh('rmdir', [dir]);
  });

  it('creates a bridge and sets up/down, mtu, mac, alias, group, name', async () => {
    const name = uniq('br');
    await nl.linkAddBridge(ns, { name, mtu: 1400, up: true, group: 7 });
    await nl.linkSet(ns, name, { alias: 'hello' });
    const nsName = ns.path.split('/').pop()!;
    let l = ipLink(name, nsName)!;
    expect(l.mtu).toBe(1400);
    expect(l.flags).toContain('UP');
    expect(l.ifalias).toBe('hello');
    expect(l.group).toBe('7');
    expect(l.linkinfo?.info_kind).toBe('bridge');
    const got = await nl.linkGet(ns, name);
    expect(got).toMatchObject({ name, mtu: 1400, up: true, kind: 'bridge', group: 7, alias: 'hello', multicastSnooping: true });
    // Snooping off in the creating request, as `ip link` shows it.
    const quiet = uniq('br');
    await nl.linkAddBridge(ns, { name: quiet, multicastSnooping: false });
    expect(ipLink(quiet, nsName)?.linkinfo?.info_data?.mcast_snooping).toBe(0);
    expect((await nl.linkGet(ns, quiet)).multicastSnooping).toBe(false);
    await nl.linkDel(ns, quiet);
    await nl.linkSet(ns, got.index, { up: false, mtu: 1300, mac: '02:11:22:33:44:55', name: `${name}x`.slice(0, 15), alias: '' });
    l = ipLinks(nsName).find((x) => x.ifindex === got.index)!;
    expect(l.ifname).toBe(`${name}x`.slice(0, 15));
    expect(l.flags).not.toContain('UP');
    expect(l.mtu).toBe(1300);
    expect(l.address).toBe('02:11:22:33:44:55');
    await nl.linkDel(ns, got.index);
    expect(ipLinks(nsName).some((x) => x.ifindex === got.index)).toBe(false);
  });

  it('creates a veth whose peer is born in the target namespace, enslaved and up in one request', async () => {
    const br = uniq('br');
    const host = uniq('vh');
    await nl.linkAddBridge(undefined, { name: br, up: true });
    try {
      const bridge = await nl.linkGet(undefined, br);
      const created = await nl.linkAddVeth(undefined, { name: host, master: bridge.index, up: true, mtu: 1450 },
        { name: 'eth9', ns, mtu: 1450, mac: '02:42:0a:00:00:09' }, true);
      expect(created?.link).toBeGreaterThan(0);
      const h = ipLink(host)!;
      expect(h.master).toBe(br);
      expect(h.flags).toContain('UP');
      const nsName = ns.path.split('/').pop()!;
      const p = ipLink('eth9', nsName)!;
      expect(p.ifindex).toBe(created!.link);
      expect(p.address).toBe('02:42:0a:00:00:09');
      expect(p.mtu).toBe(1450);
      expect(ipLink('eth9')).toBeUndefined();
      await nl.linkSet(undefined, host, { master: null });
      expect(ipLink(host)!.master).toBeUndefined();
      await nl.linkSet(undefined, host, { master: bridge.index });
      expect(ipLink(host)!.master).toBe(br);
      await nl.linkDel(undefined, host);
      expect(ipLink('eth9', nsName)).toBeUndefined();
    } finally {
      await nl.linkDel(undefined, br);
    }
  });

  it('reads only the new link\'s index from an echo when asked to (indexOfEcho), the same index the full parse gives', async () => {
    const host = uniq('vh');
    const [full] = await nl.batch([nl.linkAddVethOp(undefined, { name: host }, { name: 'eth6', ns }, true)]);
    const index = (full as { ok: true; value: nl.Link }).value.index;
    expect(index).toBe(ipLink(host)!.ifindex);
    await nl.linkDel(undefined, host);
    const other = uniq('vh');
    const [only] = await nl.batch([nl.indexOfEcho(nl.linkAddVethOp(undefined, { name: other }, { name: 'eth6', ns }, true))]);
    expect((only as { ok: true; value: number }).value).toBe(ipLink(other)!.ifindex);
    await nl.linkDel(undefined, other);
    // No RTM_NEWLINK in it (an answer without echo, a truncated one): no index.
    expect(nl.echoedIndex(Buffer.alloc(0))).toBeUndefined();
    expect(nl.echoedIndex(Buffer.from([40, 0, 0, 0, 16, 0]))).toBeUndefined();
  });

  it('allocates the queues asked for on both veth ends, and refuses a count that is not one', async () => {
    const host = uniq('vq');
    const nsName = ns.path.split('/').pop()!;
    await nl.linkAddVeth(undefined, { name: host, queues: 1 }, { name: 'eth8', ns, queues: 2 });
    try {
      type Q = { num_tx_queues: number; num_rx_queues: number }[];
      expect(ipJson<Q>(['-d', 'link', 'show', host]).map((l) => [l.num_tx_queues, l.num_rx_queues])).toEqual([[1, 1]]);
      expect(ipJson<Q>(['-n', nsName, '-d', 'link', 'show', 'eth8']).map((l) => [l.num_tx_queues, l.num_rx_queues])).toEqual([[2, 2]]);
    } finally {
      await nl.linkDel(undefined, host);
    }
    for (const bad of [0, 1.5, 5000]) {
      await expect(nl.linkAddVeth(undefined, { name: uniq('vq'), queues: bad }, { name: 'eth7', ns })).rejects.toMatchObject({ code: 'EINVALIDINPUT' });
    }
    expect(ipLink('eth7', nsName)).toBeUndefined();
  });

  it('creates macvlan and vxlan links', async () => {
    const nsName = ns.path.split('/').pop()!;
    const parent = uniq('br');
    await nl.linkAddBridge(ns, { name: parent, up: true });
    const p = await nl.linkGet(ns, parent);
    await nl.linkAddMacvlan(ns, { name: uniq('mv'), parent: p.index, mode: 'bridge' });
    const vx = uniq('vx');
    await nl.linkAddVxlan(ns, { name: vx, vni: 4242, port: 4789, learning: false });
    const kinds = ipLinks(nsName).map((l) => l.linkinfo?.info_kind);
    expect(kinds).toContain('macvlan');
    expect(kinds).toContain('vxlan');
    const vxl = ipJson<{ linkinfo: { info_data: { id: number; port: number } } }[]>(['-n', nsName, '-d', 'link', 'show', vx])[0]!;
    expect(vxl.linkinfo.info_data).toMatchObject({ id: 4242, port: 4789 });
    for (const l of await nl.linkList(ns)) if (l.name !== 'lo') await nl.linkDel(ns, l.index).catch(() => undefined);
  });

  it('a VXLAN device as an overlay uses it: local VTEP, learning off, ARP proxy on, enslaved and up; read back by linkGet', async () => {
    const nsName = ns.path.split('/').pop()!;
    const br = uniq('br');
    const vx = uniq('vx');
    await nl.linkAddBridge(ns, { name: br, up: true });
    const bridge = await nl.linkGet(ns, br);
    await nl.linkAddVxlan(ns, { name: vx, vni: 70001, local: '10.205.0.1', learning: false, proxy: true, l2miss: false, l3miss: false, mtu: 1450, master: bridge.index, up: true });
    const [d] = ipJson<{ mtu: number; master: string; flags: string[]; linkinfo: { info_data: Record<string, unknown> } }[]>(['-n', nsName, '-d', 'link', 'show', vx]);
    expect(d).toMatchObject({ mtu: 1450, master: br });
    expect(d!.flags).toContain('UP');
    // iproute2 shows l2miss/l3miss only when on.
    expect(d!.linkinfo.info_data).toMatchObject({ id: 70001, local: '10.205.0.1', port: 4789, learning: false, proxy: true });
    expect([d!.linkinfo.info_data.l2miss, d!.linkinfo.info_data.l3miss]).toEqual([undefined, undefined]);
    expect((await nl.linkGet(ns, vx)).vxlan).toEqual({ vni: 70001, port: 4789, local: '10.205.0.1', learning: false, proxy: true, l2miss: false, l3miss: false });
    expect(() => nl.linkAddVxlanOp(ns, { name: vx, vni: 1 << 24 })).toThrow(/invalid VNI/);
    await nl.linkDel(ns, vx);
    await nl.linkDel(ns, br);
  });

  it('neighbour entries: set (create or replace), list, delete', async () => {
    const nsName = ns.path.split('/').pop()!;
    const vx = uniq('vx');
    await nl.linkAddVxlan(ns, { name: vx, vni: 70002, local: '10.205.0.1', learning: false, proxy: true, up: true });
    const dev = (await nl.linkGet(ns, vx)).index;
    const show = () => ipJson<{ dst: string; lladdr: string; state: string[] }[]>(['-n', nsName, 'neigh', 'show', 'dev', vx]);
    await nl.neighSet(ns, dev, '10.206.0.3', '02:42:0a:ce:00:03');
    await nl.neighSet(ns, dev, '10.206.0.4', '02:42:0a:ce:00:04');
    // Set again with another MAC: replaced, not duplicated nor refused.
    await nl.neighSet(ns, dev, '10.206.0.3', '02:42:0a:ce:00:33');
    expect(show()).toEqual(expect.arrayContaining([
      { dst: '10.206.0.3', lladdr: '02:42:0a:ce:00:33', state: ['PERMANENT'] },
      { dst: '10.206.0.4', lladdr: '02:42:0a:ce:00:04', state: ['PERMANENT'] },
    ]));
    expect(show()).toHaveLength(2);
    const listed = await nl.neighList(ns, { index: dev });
    expect(listed.map(({ ip, mac, state, index }) => ({ ip, mac, state, index })).sort((a, b) => a.ip.localeCompare(b.ip))).toEqual([
      { ip: '10.206.0.3', mac: '02:42:0a:ce:00:33', state: nl.NUD.PERMANENT, index: dev },
      { ip: '10.206.0.4', mac: '02:42:0a:ce:00:04', state: nl.NUD.PERMANENT, index: dev },
    ]);
    await nl.neighDel(ns, dev, '10.206.0.3');
    expect(show().map((n) => n.dst)).toEqual(['10.206.0.4']);
    await expect(nl.neighDel(ns, dev, '10.206.0.3')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(() => nl.neighSetOp(ns, 0, '10.206.0.5', '02:42:0a:ce:00:05')).toThrow(/ifindex/);
    expect(() => nl.neighSetOp(ns, dev, '10.206.0.5', 'nope')).toThrow(/MAC/);
    await nl.linkDel(ns, vx);
  });

  it('fdb entries of a VXLAN device: MAC → remote VTEP, replace, append, list, delete', async () => {
    const nsName = ns.path.split('/').pop()!;
    const br = uniq('br');
    const vx = uniq('vx');
    await nl.linkAddBridge(ns, { name: br, up: true });
    const bridge = await nl.linkGet(ns, br);
    await nl.linkAddVxlan(ns, { name: vx, vni: 70003, local: '10.205.0.1', learning: false, proxy: true, master: bridge.index, up: true });
    const dev = (await nl.linkGet(ns, vx)).index;
    const self = () => JSON.parse(sh('bridge', ['-j', '-n', nsName, 'fdb', 'show', 'dev', vx]) || '[]') as { mac: string; dst?: string; flags: string[]; state: string }[];
    const remotes = () => self().filter((e) => e.flags.includes('self') && e.dst).map((e) => `${e.mac}>${e.dst}:${e.state}`).sort();
    await nl.fdbSet(ns, dev, '02:42:0a:ce:00:03', { dst: '10.205.0.2' });
    await nl.fdbSet(ns, dev, '02:42:0a:ce:00:04', { dst: '10.205.0.2' });
    expect(remotes()).toEqual(['02:42:0a:ce:00:03>10.205.0.2:permanent', '02:42:0a:ce:00:04>10.205.0.2:permanent']);
    // Replace moves a MAC to another VTEP; append adds remotes to the all-zero (flooding) entry, the only kind the kernel appends to.
    const ZERO = '00:00:00:00:00:00';
    await nl.fdbSet(ns, dev, '02:42:0a:ce:00:03', { dst: '10.205.0.3' });
    await nl.fdbSet(ns, dev, ZERO, { dst: '10.205.0.2', append: true });
    await nl.fdbSet(ns, dev, ZERO, { dst: '10.205.0.4', append: true });
    expect(remotes()).toEqual([
      `${ZERO}>10.205.0.2:permanent`, `${ZERO}>10.205.0.4:permanent`, '02:42:0a:ce:00:03>10.205.0.3:permanent', '02:42:0a:ce:00:04>10.205.0.2:permanent',
    ]);
    const listed = (await nl.fdbList(ns, dev)).filter((e) => e.flags & nl.NTF.SELF && e.dst);
    expect(listed.map((e) => `${e.mac}>${e.dst}`).sort()).toEqual([`${ZERO}>10.205.0.2`, `${ZERO}>10.205.0.4`, '02:42:0a:ce:00:03>10.205.0.3', '02:42:0a:ce:00:04>10.205.0.2']);
    expect(listed.every((e) => e.index === dev && e.state === nl.NUD.PERMANENT)).toBe(true);
    // One remote of a MAC, then a MAC with all its remotes.
    await nl.fdbDel(ns, dev, ZERO, { dst: '10.205.0.2' });
    expect(remotes()).toEqual([`${ZERO}>10.205.0.4:permanent`, '02:42:0a:ce:00:03>10.205.0.3:permanent', '02:42:0a:ce:00:04>10.205.0.2:permanent']);
    for (const mac of [ZERO, '02:42:0a:ce:00:04', '02:42:0a:ce:00:03']) await nl.fdbDel(ns, dev, mac);
    expect(remotes()).toEqual([]);
    await expect(nl.fdbDel(ns, dev, '02:42:0a:ce:00:03')).rejects.toMatchObject({ code: 'ENOENT' });
    await nl.linkDel(ns, vx);
    await nl.linkDel(ns, br);
  });

  it('adds, lists and deletes IPv4 and IPv6 addresses (IPv6 without DAD)', async () => {
    const nsName = ns.path.split('/').pop()!;
    const name = uniq('br');
    await nl.linkAddBridge(ns, { name, up: true });
    const l = await nl.linkGet(ns, name);
    await nl.addrAdd(ns, l.index, '10.201.0.1/24');
    await nl.addrAdd(ns, l.index, 'fd00:99::1/64', { noDad: true });
    expect(ipAddrs(nsName, name)).toEqual(expect.arrayContaining(['10.201.0.1/24', 'fd00:99::1/64']));
    const mine = await nl.addrList(ns, { index: l.index });
    expect(mine.map((a) => a.cidr)).toEqual(expect.arrayContaining(['10.201.0.1/24', 'fd00:99::1/64']));
    const v6 = ipJson<{ addr_info: { local: string; tentative?: boolean }[] }[]>(['-n', nsName, '-6', 'addr', 'show', 'dev', name]);
    expect(v6[0]!.addr_info.find((a) => a.local === 'fd00:99::1')?.tentative).toBeUndefined();
    await nl.addrDel(ns, l.index, '10.201.0.1/24');
    expect(ipAddrs(nsName, name)).not.toContain('10.201.0.1/24');
    await nl.linkDel(ns, l.index);
  });

  it('adds, replaces, lists and deletes routes: default, prefix, gateway, onlink, metric, table', async () => {
    const nsName = ns.path.split('/').pop()!;
    const name = uniq('br');
    await nl.linkAddBridge(ns, { name, up: true });
    const l = await nl.linkGet(ns, name);
    await nl.addrAdd(ns, l.index, '10.202.0.1/24');
    await nl.routeAdd(ns, { dst: 'default', gateway: '10.202.0.254' });
    await nl.routeAdd(ns, { dst: '10.203.0.0/16', gateway: '10.99.99.1', dev: l.index, onlink: true, metric: 50 });
    await nl.routeAdd(ns, { dst: '10.204.0.0/16', dev: l.index, table: 1000 });
    await nl.routeReplace(ns, { dst: 'default', gateway: '10.202.0.253' });
    const routes = ipJson<{ dst: string; gateway?: string; metric?: number; flags: string[] }[]>(['-n', nsName, 'route', 'show']);
    expect(routes.find((r) => r.dst === 'default')?.gateway).toBe('10.202.0.253');
    const on = routes.find((r) => r.dst === '10.203.0.0/16')!;
    expect(on.flags).toContain('onlink');
    expect(on.metric).toBe(50);
    expect(ipJson<{ dst: string }[]>(['-n', nsName, 'route', 'show', 'table', '1000']).map((r) => r.dst)).toContain('10.204.0.0/16');
    const listed = await nl.routeList(ns);
    expect(listed.find((r) => r.dst === 'default')).toMatchObject({ gateway: '10.202.0.253', dev: l.index });
    expect((await nl.routeList(ns, 4, 1000)).map((r) => r.dst)).toContain('10.204.0.0/16');
    await nl.routeDel(ns, { dst: 'default', gateway: '10.202.0.253' });
    await nl.routeDel(ns, { dst: '10.204.0.0/16', dev: l.index, table: 1000 });
    expect(ipJson<{ dst: string }[]>(['-n', nsName, 'route', 'show']).map((r) => r.dst)).not.toContain('default');
    await nl.linkDel(ns, l.index);
  });

  it('reads and writes sysctls inside a namespace, leaving the host alone', async () => {
    const hostBefore = await nl.sysctlGet('net/ipv4/conf/all/route_localnet');
    await nl.sysctlSet('net/ipv4/conf/all/route_localnet', '1', ns);
    expect(await nl.sysctlGet('net/ipv4/conf/all/route_localnet', ns)).toBe('1');
    expect(sh('ip', ['netns', 'exec', ns.path.split('/').pop()!, 'cat', '/proc/sys/net/ipv4/conf/all/route_localnet']).trim()).toBe('1');
    expect(await nl.sysctlGet('net/ipv4/conf/all/route_localnet')).toBe(hostBefore);
    await expect(nl.sysctlGet('net/../../etc/passwd', ns)).rejects.toMatchObject({ code: 'EINVAL' });
    // Inside a namespace through the lane's private /proc (a walk from the
    // host's /proc/sys compares against every namespace's entries), renewed
    // after 32 lookups; afterAll checks that it closes with the last namespace.
    const made = nl.nativeStats().procMountsMade;
    for (let i = 0; i < 40; i++) expect(await nl.sysctlGet('net/ipv4/conf/all/route_localnet', ns)).toBe('1');
    expect(nl.nativeStats().procMountsMade - made).toBeGreaterThanOrEqual(1);
    expect(nl.nativeStats().procMountsOpen).toBeGreaterThanOrEqual(1);
  });

  it('after a namespace\'s first interface IPv6 sysctl, the next ones run without entering it (on the calling thread), and reach that namespace only', async () => {
    const own = await nl.netnsAdd(uniq('ns6'));
    const name = own.path.split('/').pop()!;
    try {
      await nl.linkList(own); // its socket on the fast lane
      const link = uniq('v6');
      await nl.linkAddBridge(own, { name: link });
      const inlined = () => nl.nativeStats().inlined;
      // `default` (set once per namespace) keeps nothing open: an interface's sysctl still enters, on the lane.
      await nl.sysctlSet('net/ipv6/conf/default/disable_ipv6', '1', own);
      let before = inlined();
      await nl.sysctlSet(`net/ipv6/conf/${link}/disable_ipv6`, '1', own);
      expect(inlined() - before).toBe(0);
      // That one kept the directory: the next, with an rtnetlink request in the same batch, runs inline.
      before = inlined();
      await nl.batchAll([nl.sysctlSetOp(`net/ipv6/conf/${link}/disable_ipv6`, '0', own), nl.linkSetOp(own, link, { up: true })]);
      expect(inlined() - before).toBe(1);
      expect(sh('ip', ['netns', 'exec', name, 'cat', `/proc/sys/net/ipv6/conf/${link}/disable_ipv6`]).trim()).toBe('0');
      expect(await nl.sysctlGet(`net/ipv6/conf/${link}/disable_ipv6`, own)).toBe('0');
      // The host has no such interface: the directory is the namespace's, not the caller's.
      await expect(nl.sysctlGet(`net/ipv6/conf/${link}/disable_ipv6`)).rejects.toMatchObject({ code: 'ENOENT' });
      // Names outside the directory are still refused before anything is opened.
      await expect(nl.sysctlGet('net/ipv6/conf/../../../etc/passwd', own)).rejects.toMatchObject({ code: 'EINVAL' });
    } finally {
      await nl.netnsDelete(own);
    }
  });

  it('deletes many links at once by interface group', async () => {
    const nsName = ns.path.split('/').pop()!;
    const names = Array.from({ length: 6 }, () => uniq('g'));
    await nl.batchAll(names.map((name) => nl.linkAddBridgeOp(ns, { name, group: 77 })));
    expect(ipLinks(nsName).filter((l) => l.group === '77')).toHaveLength(6);
    await nl.linkDelGroup(ns, 77);
    expect(ipLinks(nsName).filter((l) => l.group === '77')).toHaveLength(0);
    expect(() => nl.linkDelGroupOp(ns, 0)).toThrow(/group 0/);
  });

  it('runs a batch in one crossing, each request with its own result', async () => {
    const name = uniq('br');
    const res = await nl.batch([
      nl.linkAddBridgeOp(ns, { name }),
      nl.linkAddBridgeOp(ns, { name }),
      nl.linkGetOp(ns, name),
    ]);
    expect(res[0]!.ok).toBe(true);
    expect(res[1]!.ok).toBe(false);
    expect(!res[1]!.ok && (res[1]!.error as nl.KernelError).code).toBe('EEXIST');
    expect(res[2]!.ok && (res[2]!.value as nl.Link).name).toBe(name);
    const stopped = await nl.batch([nl.linkAddBridgeOp(ns, { name }), nl.linkDelOp(ns, name)], { stopOnError: true });
    expect(!stopped[1]!.ok && (stopped[1]!.error as nl.KernelError).code).toBe('ECANCELED');
    await nl.linkDel(ns, name);
  });

  it('hands the first inline answer of an event-loop turn over at once, the next after the loop turns', async () => {
    await nl.linkGet(ns, 'lo');
    await new Promise((r) => setImmediate(r));
    let turned = false;
    setImmediate(() => { turned = true; });
    const before = nl.nativeStats().inlined;
    const first = await nl.linkGet(ns, 'lo');
    expect(nl.nativeStats().inlined).toBe(before + 1);
    expect(first.name).toBe('lo');
    expect(turned).toBe(false);
    await nl.linkGet(ns, 'lo');
    expect(nl.nativeStats().inlined).toBe(before + 2);
    expect(turned).toBe(true);
  });

  it('reports the time inside the requests of the last job run on the calling thread, and only of such jobs', async () => {
    await nl.linkGet(ns, 'lo');
    const before = nl.nativeStats();
    const t = process.hrtime.bigint();
    await nl.batchAll([nl.linkGetOp(ns, 'lo'), nl.linkGetOp(ns, 'lo'), nl.linkGetOp(ns, 'lo')]);
    const visible = Number(process.hrtime.bigint() - t);
    const after = nl.nativeStats();
    expect(after.inlined).toBe(before.inlined + 1);
    expect(after.lastInlineNs).toBeGreaterThan(0);
    expect(after.lastInlineNs).toBeLessThan(visible);
    expect(after.lastInlineNs).toBeLessThanOrEqual(after.execNs - before.execNs);
    // A job on a lane (a request that must enter a namespace) leaves it alone.
    const fresh = await nl.netnsAdd(uniq('li'));
    try {
      await nl.sysctlSet('net/ipv6/conf/default/disable_ipv6', '1', fresh);
      const s = nl.nativeStats();
      expect(s.inlined).toBe(after.inlined);
      expect(s.lastInlineNs).toBe(after.lastInlineNs);
      expect(s.execNs).toBeGreaterThan(after.execNs);
    } finally {
      await nl.netnsDelete(fresh);
    }
  });

  it('awaited inline calls in a loop do not starve timers', async () => {
    await nl.linkGet(ns, 'lo');
    let fired = false;
    const timer = setTimeout(() => { fired = true; }, 0);
    const before = nl.nativeStats().inlined;
    for (let i = 0; i < 200 && !fired; i++) await nl.linkGet(ns, 'lo');
    clearTimeout(timer);
    expect(nl.nativeStats().inlined).toBeGreaterThan(before);
    expect(fired).toBe(true);
  });

  it('runs a short batch on the calling thread once its namespace has a socket, never ahead of pending work', async () => {
    const fresh = await nl.netnsAdd(uniq('in'));
    try {
      // The first request into a namespace opens its socket inside it: a namespace switch, so on a lane thread.
      let before = nl.nativeStats().inlined;
      await nl.linkList(fresh);
      expect(nl.nativeStats().inlined).toBe(before);
      // Now the same requests run inline, with the same results and errors as on a lane.
      const name = uniq('br');
      before = nl.nativeStats().inlined;
      const res = await nl.batch([nl.linkAddBridgeOp(fresh, { name }), nl.linkAddBridgeOp(fresh, { name }), nl.linkGetOp(fresh, name)]);
      expect(nl.nativeStats().inlined).toBe(before + 1);
      expect(res[0]!.ok).toBe(true);
      expect(!res[1]!.ok && res[1]!.error).toMatchObject({ code: 'EEXIST', errno: -17, op: `linkAdd bridge ${name}`, ns: fresh.path });
      expect(res[2]!.ok && (res[2]!.value as nl.Link).name).toBe(name);
      expect(ipLink(name, fresh.path.split('/').pop()!)?.ifname).toBe(name);
      // Up to 160 kernel requests run inline (a joinMany of 32 bridge joins);
      // a longer job goes to its lane. A bridge join counts as its five:
      // refused ones here (a short parameter block), which reach no kernel.
      // A bridge join also speaks to the host: its socket must be open too.
      await nl.linkList(undefined);
      const refusedJoin = () => {
        const [kind, op, ns, ino, msg, fds, a1, a2] = nl.vethJoinOp(fresh, { name: 'eth0', up: true, host: { name: 'ntnone0', mac: '02:00:00:00:00:01', group: 1, master: 1, ipv6Off: false } }).request;
        const request: nl.Op<unknown>['request'] = [kind, op, ns, ino, msg!.subarray(0, 8), fds, a1, a2];
        return { request, decode: () => undefined };
      };
      for (const [ops, inline] of [
        [Array.from({ length: 160 }, () => nl.linkGetOp(fresh, 'lo')), 1],
        [Array.from({ length: 161 }, () => nl.linkGetOp(fresh, 'lo')), 0],
        [Array.from({ length: 32 }, refusedJoin), 1],
        [Array.from({ length: 33 }, refusedJoin), 0],
      ] as const) {
        before = nl.nativeStats().inlined;
        const got = await nl.batch(ops);
        expect(got.every((r) => r.ok) || got.every((r) => !r.ok && (r.error as nl.KernelError).code === 'EINVAL')).toBe(true);
        expect(nl.nativeStats().inlined - before).toBe(inline);
      }
      // While a job is pending on any lane, nothing runs inline: a job then
      // queues on its lane and settles after the jobs before it there.
      before = nl.nativeStats().inlined;
      const order: string[] = [];
      const slow = nl.run(nl.noop(), nl.Lane.Slow);
      const first = nl.linkGet(fresh, name).then(() => order.push('first'));
      const second = nl.linkGet(fresh, name).then(() => order.push('second'));
      await Promise.all([slow, first, second]);
      expect(order).toEqual(['first', 'second']);
      expect(nl.nativeStats().inlined).toBe(before);
    } finally {
      await nl.netnsDelete(fresh);
    }
  });
  describe('errors', () => {
    it('EEXIST with the operation and errno', async () => {
      const name = uniq('br');
      await nl.linkAddBridge(ns, { name });
      const err = await nl.linkAddBridge(ns, { name }).catch((e: unknown) => e);
      expect(nl.isKernelError(err)).toBe(true);
      expect(err).toMatchObject({ code: 'EEXIST', errno: -17, op: `linkAdd bridge ${name}` });
      await nl.linkDel(ns, name);
    });

    it('ENODEV for a missing link', async () => {
      await expect(nl.linkGet(ns, 'nosuchlink0')).rejects.toMatchObject({ code: 'ENODEV', errno: -19 });
      await expect(nl.linkDel(ns, 999999)).rejects.toMatchObject({ code: 'ENODEV' });
    });

    it('carries the kernel extended ack text', async () => {
      const err = (await nl.routeAdd(ns, { dst: '10.9.0.0/16', gateway: '10.250.0.1' }).catch((e: unknown) => e)) as nl.KernelError;
      expect(err.code).toBe('ENETUNREACH');
      expect(err.extack).toMatch(/gateway/i);
      expect(err.message).toContain(err.extack!);
    });

    it('refuses invalid input before the kernel is touched', async () => {
      expect(() => nl.linkAddBridgeOp(ns, { name: 'a-name-that-is-too-long' })).toThrow(/1 to 15 bytes/);
      expect(() => nl.addrAddOp(ns, 1, '10.0.0.1/33')).toThrow(/prefix length/);
      expect(() => nl.addrAddOp(ns, 1, '10.0.0.300/24')).toThrow(/invalid IP/);
      expect(() => nl.linkSetOp(ns, 'x', { mtu: 10 })).toThrow(/MTU/);
      await expect(nl.netnsAdd('bad/name')).rejects.toThrow(/invalid network namespace name/);
      await expect(nl.netnsOpen('/run/netns/nt-does-not-exist')).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it('a namespace deleted behind nsnet’s back fails clearly instead of acting on the orphan', async () => {
      const victim = await nl.netnsAdd(uniq('vic'));
      await nl.linkAddBridge(victim, { name: 'b0' }); // caches a socket for it
      sh('ip', ['netns', 'del', victim.path.split('/').pop()!]);
      await expect(nl.linkAddBridge(victim, { name: 'b1' })).rejects.toMatchObject({ code: 'ENOENT' });
      // Same name, new namespace: the old handle must not act on it.
      const reborn = await nl.netnsAdd(victim.path.split('/').pop()!);
      await expect(nl.linkList(victim)).rejects.toMatchObject({ code: 'ESTALE' });
      await expect(nl.netnsDelete(victim)).rejects.toMatchObject({ code: 'ESTALE' });
      expect((await nl.linkList(reborn)).map((l) => l.name)).toEqual(['lo']);
      await nl.netnsDelete(reborn);
    });
  });

  it('200 concurrent operations across 10 namespaces land where they were meant, threads untouched', async () => {
    const hostIfaces = Object.keys(networkInterfaces()).sort();
    const selfNs = statSync('/proc/thread-self/ns/net').ino;
    const spaces = await Promise.all(Array.from({ length: 10 }, () => nl.netnsAdd(uniq('cc'))));
    try {
      const ops: Promise<unknown>[] = [];
      for (let i = 0; i < 200; i++) {
        const target = spaces[i % 10]!;
        ops.push(nl.batchAll([nl.linkAddBridgeOp(target, { name: `c${i}` }), nl.linkSetOp(target, `c${i}`, { alias: target.path })]));
      }
      const settled = await Promise.allSettled(ops);
      expect(settled.filter((s) => s.status === 'rejected')).toHaveLength(0);
      for (const [i, s] of spaces.entries()) {
        const links = ipLinks(s.path.split('/').pop()!).filter((l) => l.ifname !== 'lo');
        expect(links).toHaveLength(20);
        expect(links.every((l) => l.ifalias === s.path)).toBe(true);
        expect(links.map((l) => Number(l.ifname.slice(1)) % 10).every((k) => k === i)).toBe(true);
      }
      expect(ipLinks().some((l) => /^c\d+$/.test(l.ifname))).toBe(false);
      // The JS thread and libuv's pool threads are still in the host namespace.
      expect(statSync('/proc/thread-self/ns/net').ino).toBe(selfNs);
      const pool = await Promise.all(Array.from({ length: 8 }, () => stat('/proc/thread-self/ns/net')));
      expect(pool.every((s) => s.ino === selfNs)).toBe(true);
      expect(Object.keys(networkInterfaces()).sort()).toEqual(hostIfaces);
    } finally {
      await Promise.all(spaces.map((s) => nl.netnsDelete(s)));
    }
  });
});
