// The overlay driver. In this process's namespace: its kernel shape (a bridge
// with a VXLAN port; peers as neighbour and FDB entries), peer replacement,
// refusals that change nothing, and a restart. Across "hosts": network
// namespaces the test makes, joined by an underlay bridge the test makes,
// each running a controller of the built dist/ in a child process started
// inside it with nsenter; containers on different hosts exchange TCP over one
// overlay network whose peers the test feeds, as the cluster layer would.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller, type Network, type OverlayPeer } from '../src/index.js';
import { internals } from '../src/controller/internals.js';
import { faults } from '../src/driver-api/faults.js';
import { tableName } from '../src/firewall/ruleset.js';
import { OverlayHost, plugHost } from './fixtures/overlay-hosts.js';
import { gate, ipAddrs, ipJson, ipLink, ipLinks, removeAllAndStop, sh, tcpEcho, tcpProbe, tempDir, uniq } from './helpers.js';

const DIST = join(process.cwd(), 'dist/index.js');
const why = !gate.ok ? gate.why : !existsSync(DIST) ? 'dist/ not built (npm run build)' : '';
const VNI = 'com.docker.network.driver.overlay.vxlanid_list';

interface VxlanLink { ifname: string; ifindex: number; mtu: number; master?: string; flags: string[]; ifalias?: string; linkinfo: { info_kind: string; info_data: Record<string, unknown> } }
const vxlanLink = (name: string, ns?: string): VxlanLink | undefined =>
  ipJson<VxlanLink[]>([...(ns ? ['-n', ns] : []), '-d', 'link', 'show']).find((l) => l.ifname === name);
/** The VXLAN device's own FDB entries (`self`), as "mac>dst". */
const selfFdb = (dev: string, ns?: string): string[] =>
  (JSON.parse(sh('bridge', ['-j', ...(ns ? ['-n', ns] : []), 'fdb', 'show', 'dev', dev]) || '[]') as { mac: string; dst?: string; flags: string[]; state?: string }[])
    .filter((e) => e.flags.includes('self')).map((e) => `${e.mac}>${e.dst ?? ''}${e.state === 'permanent' ? '' : `:${e.state ?? ''}`}`).sort();
/** Its permanent neighbour entries, as "ip>mac". */
const neighbours = (dev: string, ns?: string): string[] =>
  ipJson<{ dst: string; lladdr?: string; state: string[] }[]>([...(ns ? ['-n', ns] : []), 'neigh', 'show', 'dev', dev])
    .filter((n) => n.state.includes('PERMANENT')).map((n) => `${n.dst}>${n.lladdr ?? ''}`).sort();

const netId = (): string => [...Array(64)].map(() => Math.floor(Math.random() * 16).toString(16)).join('');

describe.skipIf(!!why)(`overlay driver ${why}`, () => {
  describe('in this namespace', () => {
    const dir = tempDir('ov');
    const underlay = uniq('ovu');
    const ADV = '10.61.9.1';
    let c: Controller;

    beforeAll(async () => {
      // The underlay: an interface holding the advertise address, MTU 1400 (an empty bridge will do).
      sh('ip', ['link', 'add', underlay, 'mtu', '1400', 'type', 'bridge']);
      sh('ip', ['addr', 'add', `${ADV}/24`, 'dev', underlay]);
      sh('ip', ['link', 'set', underlay, 'up']);
      c = await Controller.start({ dataDir: dir.path, advertiseAddress: ADV });
    });

    afterAll(async () => {
      faults.clear();
      if (c) await removeAllAndStop(c);
      spawnSync('ip', ['link', 'del', underlay]);
      dir.remove();
    });

    const overlay = (vni: string | undefined, subnet = '10.62.9.0/24', extra: Partial<Parameters<Controller['newNetwork']>[0]> = {}, ctl = c): Promise<Network> =>
      ctl.newNetwork({ name: uniq('ov'), driver: 'overlay', options: vni === undefined ? {} : { [VNI]: vni }, ipam: { config: [{ Subnet: subnet, Gateway: subnet.replace(/0\/\d+$/, '1') }] }, ...extra });

    it('a bridge with the gateway and a VXLAN port (VNI, local VTEP, port 4789, learning off, ARP proxy on, no miss notifications) at the underlay MTU less 50; scope global', async () => {
      const net = await overlay('4301');
      const id12 = net.id.slice(0, 12);
      const info = net.info();
      expect(info).toMatchObject({ driver: 'overlay', scope: 'global' });
      expect(info.driverState).toEqual({ vni: 4301, vxlan: `vx-${id12}`, local: ADV, mtu: 1350, bridge: `br-${id12}`, created: true });
      const vx = vxlanLink(`vx-${id12}`)!;
      expect(vx.linkinfo.info_kind).toBe('vxlan');
      // iproute2 shows l2miss, l3miss and a remote (group) only when set.
      expect(vx.linkinfo.info_data).toMatchObject({ id: 4301, local: ADV, port: 4789, learning: false, proxy: true });
      expect([vx.linkinfo.info_data.l2miss, vx.linkinfo.info_data.l3miss, vx.linkinfo.info_data.group]).toEqual([undefined, undefined, undefined]);
      expect(vx).toMatchObject({ mtu: 1350, master: `br-${id12}`, ifalias: `nsnet:${c.marks().tag}:${net.id}` });
      expect(vx.flags).toContain('UP');
      expect(ipLink(`br-${id12}`)).toMatchObject({ mtu: 1350 });
      expect(ipAddrs(undefined, `br-${id12}`)).toEqual(['10.62.9.1/24']);
      // The same firewall treatment as a bridge network.
      expect(sh('nft', ['list', 'set', 'inet', tableName(c.marks().tag), 'bridges'])).toContain(`br-${id12}`);
      // No flooding entry, no peers yet.
      expect(selfFdb(`vx-${id12}`)).toEqual([]);
      const sb = await c.newSandbox(uniq('os'));
      const ep = net.createEndpoint('a', { ipv4Address: '10.62.9.5' });
      await ep.join(sb);
      expect(ep.info()).toMatchObject({ ipv4: '10.62.9.5/24', mac: '02:42:0a:3e:09:05' });
      expect(ipLink(ep.info().hostIfname!)).toMatchObject({ master: `br-${id12}`, mtu: 1350 });
      expect(ipLink('eth0', sb.key.split('/').pop())).toMatchObject({ mtu: 1350 });
      await sb.destroy();
      await net.delete();
      expect(vxlanLink(`vx-${id12}`)).toBeUndefined();
      expect(ipLink(`br-${id12}`)).toBeUndefined();
    });

    it('peers: a neighbour and an FDB entry each on the VXLAN device; same endpoint replaced, a new holder of an IP or MAC displaces the old; remove is idempotent', async () => {
      const net = await overlay('4302');
      const vx = `vx-${net.id.slice(0, 12)}`;
      const p1: OverlayPeer = { endpointId: 'e1', ip: '10.62.9.11', mac: '02:42:0a:3e:09:0b', vtep: '10.61.9.2', name: 'h2' };
      const p2: OverlayPeer = { endpointId: 'e2', ip: '10.62.9.12', mac: '02:42:0a:3e:09:0c', vtep: '10.61.9.3' };
      await c.addPeer(net.id, p1);
      await c.addPeer(net.name, p2);
      expect(c.peers(net.id)).toEqual([p1, p2]);
      expect(neighbours(vx)).toEqual(['10.62.9.11>02:42:0a:3e:09:0b', '10.62.9.12>02:42:0a:3e:09:0c']);
      expect(selfFdb(vx)).toEqual(['02:42:0a:3e:09:0b>10.61.9.2', '02:42:0a:3e:09:0c>10.61.9.3']);
      // Idempotent; then the same endpoint moved to another host.
      await c.addPeer(net.id, p1);
      await c.addPeer(net.id, { ...p1, vtep: '10.61.9.4' });
      expect(selfFdb(vx)).toEqual(['02:42:0a:3e:09:0b>10.61.9.4', '02:42:0a:3e:09:0c>10.61.9.3']);
      // e2's address reused by a new endpoint e3 (its old holder's removal not yet seen): e3 wins, e2's late removal changes nothing.
      const p3: OverlayPeer = { endpointId: 'e3', ip: '10.62.9.12', mac: '02:42:0a:3e:09:0d', vtep: '10.61.9.2' };
      await c.addPeer(net.id, p3);
      expect(c.peers(net.id).map((p) => p.endpointId)).toEqual(['e1', 'e3']);
      expect(neighbours(vx)).toEqual(['10.62.9.11>02:42:0a:3e:09:0b', '10.62.9.12>02:42:0a:3e:09:0d']);
      expect(selfFdb(vx)).toEqual(['02:42:0a:3e:09:0b>10.61.9.4', '02:42:0a:3e:09:0d>10.61.9.2']);
      await c.removePeer(net.id, 'e2');
      expect(c.peers(net.id).map((p) => p.endpointId)).toEqual(['e1', 'e3']);
      await c.removePeer(net.id, 'e1');
      await c.removePeer(net.id, 'e1');
      expect(neighbours(vx)).toEqual(['10.62.9.12>02:42:0a:3e:09:0d']);
      expect(selfFdb(vx)).toEqual(['02:42:0a:3e:09:0d>10.61.9.2']);
      // Deleting the network takes its peers with it.
      await net.delete();
      await expect(c.addPeer(net.id, p1)).rejects.toMatchObject({ code: 'ENOTFOUND' });
    });

    it('bad input is refused with its typed error and changes nothing', async () => {
      const net = await overlay('4303');
      const vx = `vx-${net.id.slice(0, 12)}`;
      const good: OverlayPeer = { endpointId: 'g', ip: '10.62.9.20', mac: '02:42:0a:3e:09:14', vtep: '10.61.9.2' };
      await c.addPeer(net.id, good);
      const sb = await c.newSandbox(uniq('or'));
      await net.createEndpoint('local', { ipv4Address: '10.62.9.30' }).join(sb);
      const bridgeNet = await c.newNetwork({ name: uniq('br'), ipam: { config: [{ Subnet: '10.62.19.0/24' }] } });
      const snap = () => ({
        stats: c.stats(), pools: internals(c).ipam.poolIds().length, links: ipLinks().map((l) => l.ifname).sort(),
        peers: c.peers(net.id), neigh: neighbours(vx), fdb: selfFdb(vx),
      });
      const before = snap();
      const invalid = { code: 'EINVALIDINPUT' };
      // Networks.
      await expect(overlay(undefined, '10.62.10.0/24')).rejects.toMatchObject({ ...invalid, message: expect.stringMatching(/needs its VNI/) });
      for (const vni of ['0', '16777216', 'abc', '4097,4098', '-1', ' 12'])
        await expect(overlay(vni, '10.62.10.0/24')).rejects.toMatchObject({ ...invalid, message: expect.stringMatching(/invalid VNI/) });
      await expect(overlay('4303', '10.62.10.0/24')).rejects.toMatchObject({ code: 'ECONFLICT', message: `VNI 4303 is already used by overlay network ${net.name}` });
      await expect(c.newNetwork({ name: uniq('ov'), driver: 'overlay', options: { [VNI]: '4310' } })).rejects.toMatchObject({ ...invalid, message: expect.stringMatching(/subnet given/) });
      await expect(overlay('4311', '10.62.10.0/24', { enableIPv6: true })).rejects.toMatchObject({ ...invalid, message: expect.stringMatching(/IPv4 only/) });
      for (const point of ['overlay.create.underlay', 'overlay.create.vxlan', 'network.create.store']) {
        faults.arm(point);
        await expect(overlay('4312', '10.62.10.0/24')).rejects.toMatchObject({ code: 'EINJECTED' });
      }
      // Peers.
      const bad: [unknown, string | RegExp][] = [
        [{ ...good, endpointId: 'v6', ip: 'fd00::5' }, /IPv6 peers are not supported/],
        [{ ...good, endpointId: 'v6', vtep: 'fd00::2' }, /IPv6 peers are not supported/],
        [{ ...good, endpointId: 'out', ip: '10.62.99.5' }, /not in the subnets/],
        [{ ...good, endpointId: 'gw', ip: '10.62.9.1' }, /gateway address/],
        [{ ...good, endpointId: 'me', vtep: ADV }, /this host's advertise address/],
        [{ ...good, endpointId: 'mac', mac: '01:00:5e:00:00:01' }, /multicast/],
        [{ ...good, endpointId: 'mac', mac: 'zz' }, /invalid MAC/],
        [{ ...good, endpointId: '' }, /empty endpointId/],
        [{ ...good, endpointId: 'ip', ip: 12 }, /not a string/],
        [null, /not an object/],
      ];
      for (const [peer, msg] of bad) await expect(c.addPeer(net.id, peer as OverlayPeer)).rejects.toMatchObject({ ...invalid, message: expect.stringMatching(msg) });
      await expect(c.addPeer(net.id, { ...good, endpointId: 'l', ip: '10.62.9.30' })).rejects.toMatchObject({ code: 'ECONFLICT', message: expect.stringMatching(/local endpoint local/) });
      await expect(c.addPeer(bridgeNet.id, good)).rejects.toMatchObject({ ...invalid, message: expect.stringMatching(/takes no peers/) });
      await expect(c.removePeer(bridgeNet.id, 'g')).rejects.toMatchObject(invalid);
      await expect(c.addPeer(netId(), good)).rejects.toMatchObject({ code: 'ENOTFOUND' });
      expect(c.peers(bridgeNet.id)).toEqual([]);
      faults.arm('overlay.peer.add');
      await expect(c.addPeer(net.id, { ...good, endpointId: 'f', ip: '10.62.9.21', mac: '02:42:0a:3e:09:15' })).rejects.toMatchObject({ code: 'EINJECTED' });
      expect(snap()).toEqual(before);
      await sb.destroy();
      await bridgeNet.delete();
      await net.delete();
    });

    it('a controller without an advertise address refuses overlay networks, one with an address on no interface too, another controller a VNI taken on this host; an IPv6 or malformed address does not start', async () => {
      const others = tempDir('ov2');
      const links = ipLinks().length;
      try {
        const plain = await Controller.start({ dataDir: `${others.path}/a`, firewall: 'none' });
        expect(plain.advertiseAddress).toBeUndefined();
        await expect(overlay('4320', '10.62.20.0/24', {}, plain)).rejects.toMatchObject({ code: 'EINVALIDINPUT', message: expect.stringMatching(/advertise address/) });
        await plain.stop();
        const away = await Controller.start({ dataDir: `${others.path}/b`, firewall: 'none', advertiseAddress: '10.61.9.250' });
        await expect(overlay('4320', '10.62.20.0/24', {}, away)).rejects.toMatchObject({ code: 'EINVALIDINPUT', message: expect.stringMatching(/10\.61\.9\.250 is on no interface/) });
        expect(away.stats().networks).toBe(0);
        expect(internals(away).ipam.poolIds()).toEqual([]);
        await away.stop();
        // Another controller on this host with a VNI already taken here: the kernel refuses the device, the bridge is undone.
        const taken = await overlay('4321', '10.62.21.0/24');
        const twin = await Controller.start({ dataDir: `${others.path}/d`, firewall: 'none', advertiseAddress: ADV });
        await expect(overlay('4321', '10.62.22.0/24', {}, twin)).rejects.toMatchObject({ code: 'ECONFLICT', message: expect.stringMatching(/VNI 4321 .*already in use on this host/) });
        expect(twin.stats().networks).toBe(0);
        await twin.stop();
        await taken.delete();
        for (const a of ['fd00::1', 'nope', '10.61.9.01'])
          await expect(Controller.start({ dataDir: `${others.path}/c`, firewall: 'none', advertiseAddress: a })).rejects.toMatchObject({ code: 'EINVALIDINPUT' });
        expect(ipLinks().length).toBe(links);
      } finally {
        others.remove();
      }
    });

    it('a restart keeps the VXLAN device, flushes the entries of peers nobody has fed again, remakes a missing device, and keeps the firewall', async () => {
      const net = await overlay('4330');
      const vx = `vx-${net.id.slice(0, 12)}`;
      await c.addPeer(net.id, { endpointId: 'r1', ip: '10.62.9.40', mac: '02:42:0a:3e:09:28', vtep: '10.61.9.2' });
      const before = vxlanLink(vx)!;
      await c.stop();
      c = await Controller.start({ dataDir: dir.path, advertiseAddress: ADV });
      expect(vxlanLink(vx)!.ifindex).toBe(before.ifindex);
      expect(c.peers(net.id)).toEqual([]);
      expect(selfFdb(vx)).toEqual([]);
      expect(neighbours(vx)).toEqual([]);
      expect(sh('nft', ['list', 'set', 'inet', tableName(c.marks().tag), 'bridges'])).toContain(`br-${net.id.slice(0, 12)}`);
      await c.stop();
      sh('ip', ['link', 'del', vx]);
      c = await Controller.start({ dataDir: dir.path, advertiseAddress: ADV });
      const again = vxlanLink(vx)!;
      expect(again.linkinfo.info_data).toMatchObject({ id: 4330, local: ADV, port: 4789, learning: false, proxy: true });
      expect(again).toMatchObject({ master: `br-${net.id.slice(0, 12)}`, mtu: 1350 });
      expect(again.flags).toContain('UP');
      await c.addPeer(net.id, { endpointId: 'r1', ip: '10.62.9.40', mac: '02:42:0a:3e:09:28', vtep: '10.61.9.2' });
      expect(selfFdb(vx)).toEqual(['02:42:0a:3e:09:28>10.61.9.2']);
      await c.network(net.id).delete();
      expect(vxlanLink(vx)).toBeUndefined();
    });
  });

  describe('across hosts (network namespaces on an underlay bridge, a controller in each)', () => {
    interface Container { host: OverlayHost; sandbox: string; key: string; ip: string; peer: OverlayPeer }

    const underlay = uniq('ul');
    const dirs = ['a', 'b', 'c'].map(() => tempDir('ovh'));
    const hosts = ['a', 'b', 'c'].map((x, i) => new OverlayHost(uniq(`h${x}`), `10.61.0.${i + 1}`, dirs[i]!.path));
    const ports = hosts.map(() => uniq('up'));
    const id = netId();
    const vx = `vx-${id.slice(0, 12)}`;
    const br = `br-${id.slice(0, 12)}`;
    const containers: Container[] = [];

    beforeAll(async () => {
      sh('ip', ['link', 'add', underlay, 'type', 'bridge']);
      sh('ip', ['link', 'set', underlay, 'up']);
      hosts.forEach((h, i) => plugHost(underlay, h.ns, ports[i]!, h.addr));
      await Promise.all(hosts.map((h) => h.start()));
    });

    afterAll(async () => {
      // Best effort: a failed test may have left controllers or state behind.
      for (const h of hosts) await h.remove();
      for (const d of dirs) d.remove();
      for (const p of ports) spawnSync('ip', ['link', 'del', p]);
      spawnSync('ip', ['link', 'del', underlay]);
    });

    const feedPeers = async (): Promise<void> => {
      for (const h of hosts)
        for (const other of containers.filter((x) => x.host !== h)) await h.call('addPeer', { network: id, peer: other.peer });
    };

    it('containers on three hosts exchange TCP over one overlay network (same ID, VNI and subnet on every host, peers fed in)', async () => {
      for (const h of hosts) {
        const info = await h.call<{ scope: string; driverState: Record<string, unknown> }>('createNetwork', { id, name: 'ov', vni: 5001, subnet: '10.62.1.0/24', gateway: '10.62.1.1' });
        expect(info).toMatchObject({ scope: 'global', driverState: { vni: 5001, local: h.addr, mtu: 1450 } });
      }
      for (const [i, h] of hosts.entries()) {
        const ip = `10.62.1.${11 + i}`;
        const r = await h.call<{ sandbox: string; key: string; endpoint: { id: string; mac: string } }>('run', { network: id, container: `${h.ns}c`, ip });
        containers.push({ host: h, sandbox: r.sandbox, key: r.key, ip, peer: { endpointId: r.endpoint.id, ip, mac: r.endpoint.mac, vtep: h.addr, name: h.ns } });
      }
      await feedPeers();
      const [a, b, cc] = containers as [Container, Container, Container];
      expect(await a.host.call('peers', { network: id })).toEqual([b.peer, cc.peer]);
      // On host a: the VXLAN device as specified, one neighbour and one FDB entry per remote container, nothing else.
      const dev = vxlanLink(vx, a.host.ns)!;
      expect(dev.linkinfo.info_data).toMatchObject({ id: 5001, local: a.host.addr, port: 4789, learning: false, proxy: true });
      expect(dev).toMatchObject({ master: br, mtu: 1450 });
      expect(neighbours(vx, a.host.ns)).toEqual([`${b.ip}>${b.peer.mac}`, `${cc.ip}>${cc.peer.mac}`]);
      expect(selfFdb(vx, a.host.ns)).toEqual([`${b.peer.mac}>${b.host.addr}`, `${cc.peer.mac}>${cc.host.addr}`]);
      expect(await tcpEcho(b.key, b.ip, a.key, 'a to b')).toBe('echo:a to b');
      expect(await tcpEcho(cc.key, cc.ip, b.key, 'b to c')).toBe('echo:b to c');
      expect(await tcpEcho(a.key, a.ip, cc.key, 'c to a')).toBe('echo:c to a');
      // A full-size segment (MSS 1410 at MTU 1450): the container MTU leaves room for the encapsulation.
      const big = 'x'.repeat(1400);
      expect(await tcpEcho(b.key, b.ip, a.key, big)).toBe(`echo:${big}`);
    });

    it('removing a peer makes its container unreachable from that host (the others stay reachable); adding it back restores it', async () => {
      const [a, b, cc] = containers as [Container, Container, Container];
      const left = await a.host.call<OverlayPeer[]>('removePeer', { network: id, endpointId: b.peer.endpointId });
      expect(left).toEqual([cc.peer]);
      expect(selfFdb(vx, a.host.ns)).toEqual([`${cc.peer.mac}>${cc.host.addr}`]);
      expect(tcpProbe(a.key, b.ip)).toBe('timeout');
      expect(tcpProbe(a.key, cc.ip)).toBe('refused');
      // Idempotent.
      await a.host.call('removePeer', { network: id, endpointId: b.peer.endpointId });
      await a.host.call('addPeer', { network: id, peer: b.peer });
      expect(tcpProbe(a.key, b.ip)).toBe('refused');
      expect(await tcpEcho(b.key, b.ip, a.key, 'back')).toBe('echo:back');
    });

    it('restarted controllers restore their bridge and VXLAN device (remade on a host where it was deleted, flushed of stale peers where kept), and carry traffic again once fed', async () => {
      const [a, b, cc] = containers as [Container, Container, Container];
      const kept = vxlanLink(vx, b.host.ns)!;
      expect(selfFdb(vx, b.host.ns)).toHaveLength(2);
      await a.host.call('stop');
      await b.host.call('stop');
      await a.host.exit();
      await b.host.exit();
      sh('ip', ['-n', a.host.ns, 'link', 'del', vx]);
      await a.host.start([a.sandbox]);
      await b.host.start([b.sandbox]);
      const remade = vxlanLink(vx, a.host.ns)!;
      expect(remade.linkinfo.info_data).toMatchObject({ id: 5001, local: a.host.addr, learning: false, proxy: true });
      expect(remade).toMatchObject({ master: br, mtu: 1450 });
      expect(remade.flags).toContain('UP');
      expect(vxlanLink(vx, b.host.ns)!.ifindex).toBe(kept.ifindex);
      for (const h of [a.host, b.host]) {
        expect(await h.call('peers', { network: id })).toEqual([]);
        expect(selfFdb(vx, h.ns)).toEqual([]);
        expect(neighbours(vx, h.ns)).toEqual([]);
      }
      await feedPeers();
      expect(await tcpEcho(b.key, b.ip, a.key, 'after restart')).toBe('echo:after restart');
      expect(await tcpEcho(a.key, a.ip, cc.key, 'c to restarted a')).toBe('echo:c to restarted a');
    });

    it('everything is removed: no sandbox, link, neighbour or namespace of the overlay is left in any host', async () => {
      for (const h of hosts) {
        const stats = await h.call<Record<string, number>>('teardown');
        expect(stats).toMatchObject({ networks: 0, endpoints: 0, sandboxes: 0, deferredDeletes: 0 });
        await h.exit();
        expect(ipLinks(h.ns).map((l) => l.ifname).sort()).toEqual(['eth0', 'lo']);
        expect(ipAddrs(h.ns, 'eth0')).toEqual([`${h.addr}/24`]);
        expect(ipJson<{ dst: string }[]>(['-n', h.ns, 'route', 'show']).map((r) => r.dst)).toEqual(['10.61.0.0/24']);
        expect(readdirSync(h.runDir)).toEqual([]);
      }
    });
  });
});
