// Hardening of the model and the bridge driver (issue 11), against the real
// kernel: input refused before anything is made, a user's bridge left as it
// was found, network delete against racing joins, and a firewall that fails
// closed.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller, type Network, type Sandbox } from '../src/controller/controller.js';
import { daemonConfig } from '../src/daemon/config.js';
import { Daemon } from '../src/daemon/daemon.js';
import { internals } from '../src/controller/internals.js';
import { FirewallError, nftList } from '../src/firewall/nft.js';
import { checkBrNetfilter } from '../src/firewall/preflight.js';
import { Firewall } from '../src/firewall/firewall.js';
import { tableName } from '../src/firewall/ruleset.js';
import { linkAddBridge } from '../src/netlink/index.js';
import { bridgeOpt, gate, ipAddrs, ipLink, ipLinks, ipNetnsList, nsName, sh, tempDir, uniq, removeAllAndStop } from './helpers.js';

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
const linkNames = () => new Set(ipLinks().map((l) => l.ifname));
const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));

describe.skipIf(!gate.ok)(`hardening: model and bridge driver ${gate.why}`, () => {
  const dir = tempDir('hard');
  let c: Controller;

  beforeAll(async () => {
    c = await Controller.start({ dataDir: dir.path, reapDelayMs: 5 });
  });

  afterAll(async () => {
    await removeAllAndStop(c);
    dir.remove();
  });

  describe('input validation', () => {
    it('bridge names the kernel would expand or that would harm a ruleset are refused before the kernel: nothing is left', async () => {
      const before = linkNames();
      const nets = c.networks().length;
      for (const name of ['nsx%d', `${uniq().slice(0, 10)}%d`, 'a/b', 'a b', 'a:b', '.', '..', 'x'.repeat(16), 'a"b', 'a\nb', 'all', 'default', '']) {
        const r = c.newNetwork({ name: uniq('n'), options: bridgeOpt(name), ipam: { config: [{ Subnet: '10.47.1.0/24' }] } });
        // An empty name means "the default name", which is valid: that one is made and removed.
        if (name === '') { await (await r).delete(); continue; }
        expect(await code(r), JSON.stringify(name)).toBe('EINVALIDINPUT');
      }
      expect(c.networks()).toHaveLength(nets);
      const after = [...linkNames()].filter((l) => !before.has(l));
      expect(after).toEqual([]);
      expect([...linkNames()].some((l) => /^nsx\d+$/.test(l))).toBe(false);
    });

    it('the netlink layer refuses a % in an interface name too', async () => {
      await expect(linkAddBridge(undefined, { name: 'nsx%d' })).rejects.toMatchObject({ code: 'EINVALIDINPUT' });
      expect([...linkNames()].some((l) => /^nsx\d+$/.test(l))).toBe(false);
    });

    it('container_iface_prefix must leave room for the index suffix; a valid one names the interface', async () => {
      for (const prefix of ['e%d', 'x'.repeat(14), 'a/b', 'a b', '..']) {
        const r = c.newNetwork({ name: uniq('n'), options: { ...bridgeOpt(uniq('b')), 'com.docker.network.container_iface_prefix': prefix } });
        expect(await code(r), prefix).toBe('EINVALIDINPUT');
      }
      const net = await c.newNetwork({
        name: uniq('n'), options: { ...bridgeOpt(uniq('b')), 'com.docker.network.container_iface_prefix': 'c'.repeat(13) },
        ipam: { config: [{ Subnet: '10.47.2.0/24' }] },
      });
      const sb = await c.newSandbox(uniq('ctr'));
      const ep = net.createEndpoint('e');
      await ep.join(sb);
      expect(ipLink(`${'c'.repeat(13)}0`, nsName(sb.key))).toBeDefined();
      await sb.destroy();
      await net.delete();
    });

    it('network options, labels, MTU, booleans and host binding IP are checked; nothing is made', async () => {
      const before = linkNames();
      const bad: Parameters<Controller['newNetwork']>[0][] = [
        { name: uniq('n'), labels: { a: 'x\ny' } },
        { name: uniq('n'), labels: { 'a\nb': 'x' } },
        { name: uniq('n'), options: { 'com.example.opt': 'x\u0000y' } },
        { name: uniq('n'), options: { 'com.docker.network.driver.mtu': 'abc' } },
        { name: uniq('n'), options: { 'com.docker.network.driver.mtu': '70000' } },
        { name: uniq('n'), options: { 'com.docker.network.bridge.enable_icc': 'maybe' } },
        { name: uniq('n'), options: { 'com.docker.network.bridge.host_binding_ipv4': '1.2.3.4; drop' } },
        { name: uniq('n'), id: 'not-an-id' },
        { name: 'bad\nname' },
      ];
      for (const o of bad) expect(await code(c.newNetwork({ ...o, options: { ...bridgeOpt(uniq('b')), ...o.options } })), JSON.stringify(o)).toBe('EINVALIDINPUT');
      expect([...linkNames()].filter((l) => !before.has(l))).toEqual([]);
    });

    it('endpoint MAC, aliases and port bindings are checked before an address is taken', async () => {
      const net = await c.newNetwork({ name: uniq('n'), options: bridgeOpt(uniq('b')), ipam: { config: [{ Subnet: '10.47.3.0/24' }] } });
      const bad = [
        { macAddress: '01:00:5e:00:00:01' }, { macAddress: '02:42:zz:00:00:01' }, { macAddress: '00:00:00:00:00:00' }, { aliases: ['a\nb'] },
        // Names and addresses the kernel would refuse only at the join.
        { ifname: 'lo' }, { ifname: 'all' }, { ifname: 'x'.repeat(16) }, { linkLocalIps: ['169.254.9.9', '169.254.9.9'] },
        { ports: [{ proto: 'sctp' as 'tcp', containerPort: 80 }] }, { ports: [{ proto: 'tcp' as const, containerPort: 0 }] },
        { ports: [{ proto: 'tcp' as const, containerPort: 80, hostIp: '0.0.0.0\n' }] },
        { ports: [{ proto: 'tcp' as const, containerPort: 80, hostPort: '80; drop' }] },
      ];
      for (const o of bad) expect(() => net.createEndpoint(uniq('e'), o), JSON.stringify(o)).toThrow(expect.objectContaining({ code: 'EINVALIDINPUT' }));
      expect(() => net.createEndpoint('a\nb')).toThrow(expect.objectContaining({ code: 'EINVALIDINPUT' }));
      // No address was taken by the refusals: the first endpoint still gets .2.
      const ep = net.createEndpoint('ok');
      expect(ep.info().ipv4).toBe('10.47.3.2/24');
      await ep.delete();
      await net.delete();
    });

    it('a newline (or any bad value) in hostname, domainname, DNS, search, options or extra hosts is refused and no file is written', async () => {
      const netnsBefore = ipNetnsList();
      const bad = [
        { hostname: 'web\n10.0.0.1 evil' }, { hostname: '-web' }, { hostname: 'a'.repeat(65) }, { domainname: 'example.com\nx' },
        { dns: ['1.1.1.1\nnameserver 6.6.6.6'] }, { dns: ['not-an-ip'] }, { dnsSearch: ['example.com\nnameserver 6.6.6.6'] },
        { dnsOptions: ['ndots:2\nnameserver 6.6.6.6'] }, { dnsOptions: ['ndots 2'] },
        { extraHosts: [{ name: 'db\n6.6.6.6 evil', ip: '10.0.0.2' }] }, { extraHosts: [{ name: 'db', ip: '10.0.0.2\n6.6.6.6 evil' }] },
      ];
      for (const o of bad) expect(await code(c.newSandbox(uniq('ctr'), o)), JSON.stringify(o)).toBe('EINVALIDINPUT');
      expect(await code(c.newSandbox('ctr\nx'))).toBe('EINVALIDINPUT');
      const sbDir = join(dir.path, 'sandboxes');
      expect(existsSync(sbDir) ? readdirSync(sbDir) : []).toEqual([]);
      expect(ipNetnsList().filter((n) => !netnsBefore.includes(n))).toEqual([]);

      // Docker's forms are accepted and written as given.
      const sb = await c.newSandbox(uniq('ctr'), {
        hostname: 'web', domainname: 'example.com', dns: ['1.1.1.1', '2001:db8::53'], dnsSearch: ['svc.example.com', 'example.com.'],
        dnsOptions: ['ndots:2', 'rotate', 'single-request-reopen'], extraHosts: [{ name: 'db.local', ip: '10.0.0.2' }, { name: 'v6', ip: 'fd00::2' }],
      });
      const d = sb.info().dir;
      expect(readFileSync(join(d, 'resolv.conf'), 'utf8')).toBe(
        'nameserver 1.1.1.1\nnameserver 2001:db8::53\nsearch svc.example.com example.com.\noptions ndots:2 rotate single-request-reopen\n');
      expect(readFileSync(join(d, 'hosts'), 'utf8')).toContain('10.0.0.2\tdb.local\nfd00::2\tv6\n');
      expect(readFileSync(join(d, 'hostname'), 'utf8')).toBe('web\n');
      await sb.destroy();
    });
  });

  it('the daemon refuses a newline in Hostname, HostConfig.Dns or ExtraHosts at container create; nothing is stored or written', async () => {
    const dd = tempDir('hardd');
    const d = await Daemon.start(daemonConfig({ dataDir: dd.path, bridge: { name: uniq('dflt'), subnet: '10.47.50.0/24' } }));
    try {
      const bad = [
        { Hostname: 'web\n10.0.0.1 evil' },
        { HostConfig: { Dns: ['1.1.1.1\nnameserver 6.6.6.6'] } },
        { HostConfig: { DnsSearch: ['a.example\nnameserver 6.6.6.6'] } },
        { HostConfig: { ExtraHosts: ['db:10.0.0.2\n6.6.6.6 evil'] } },
      ];
      for (const req of bad) expect(() => d.createContainer(uniq('c'), req), JSON.stringify(req)).toThrow(expect.objectContaining({ code: 'EINVALIDINPUT' }));
      expect(d.containers.size).toBe(0);
      expect(existsSync(join(dd.path, 'sandboxes')) ? readdirSync(join(dd.path, 'sandboxes')) : []).toEqual([]);
    } finally {
      for (const n of d.controller.networks()) if (n.type === 'bridge') await n.delete();
      await d.stop();
      dd.remove();
    }
  });

  describe('a bridge the user made', () => {
    const br = uniq('ub');
    const port = uniq('up');
    const peer = uniq('uq');

    beforeAll(() => {
      ip('link', 'add', br, 'type', 'bridge');
      ip('addr', 'add', '10.47.9.1/24', 'dev', br);
      ip('link', 'add', port, 'type', 'veth', 'peer', 'name', peer);
      ip('link', 'set', port, 'master', br);
    });

    afterAll(() => {
      for (const l of [br, port]) try { ip('link', 'del', l); } catch { /* already gone */ }
    });

    const ports = () => ipLinks().filter((l) => l.master === br).map((l) => l.ifname).sort();
    const routeLocalnet = () => readFileSync(`/proc/sys/net/ipv4/conf/${br}/route_localnet`, 'utf8').trim();

    it('keeps its addresses, ports, down state, MTU and route_localnet after an nsnet network on it comes and goes', async () => {
      const mtu = ipLink(br)!.mtu;
      expect(ipLink(br)!.flags).not.toContain('UP');
      expect(routeLocalnet()).toBe('0');

      // A subnet of its own: nsnet adds its gateway and removes only that.
      const net = await c.newNetwork({ name: uniq('n'), options: bridgeOpt(br), ipam: { config: [{ Subnet: '10.47.10.0/24' }] } });
      expect(ipLink(br)!.flags).toContain('UP');
      expect(ipAddrs(undefined, br).sort()).toEqual(['10.47.10.1/24', '10.47.9.1/24']);
      const sb = await c.newSandbox(uniq('ctr'));
      const ep = net.createEndpoint('e');
      await ep.join(sb);
      expect(ports()).toContain(ep.info().hostIfname);
      await ep.leave(sb);
      await ep.delete();
      await sb.destroy();
      await net.delete();
      expect(ipAddrs(undefined, br)).toEqual(['10.47.9.1/24']);
      expect(ports()).toEqual([port]);
      expect(ipLink(br)!.flags).not.toContain('UP');
      expect(ipLink(br)!.mtu).toBe(mtu);
      expect(routeLocalnet()).toBe('0');

      // The user's own address as the gateway: it was there before, so it stays.
      const net2 = await c.newNetwork({ name: uniq('n'), options: bridgeOpt(br), ipam: { config: [{ Subnet: '10.47.9.0/24', Gateway: '10.47.9.1' }] } });
      expect(net2.info().driverState['found']).toMatchObject({ addresses: ['10.47.9.1/24'], up: false });
      await net2.delete();
      expect(ipAddrs(undefined, br)).toEqual(['10.47.9.1/24']);
      expect(ipLink(br)).toBeDefined();
      expect(ipLink(br)!.flags).not.toContain('UP');
    });

    it('a bridge another nsnet controller made is refused (409), and left as it was', async () => {
      const other = uniq('obr');
      ip('link', 'add', other, 'type', 'bridge');
      ip('link', 'set', other, 'alias', `nsnet:abcdef:${'1'.repeat(64)}`);
      try {
        const r = c.newNetwork({ name: uniq('n'), options: bridgeOpt(other), ipam: { config: [{ Subnet: '10.47.12.0/24' }] } });
        await expect(r).rejects.toMatchObject({ code: 'ECONFLICT', message: expect.stringContaining('another nsnet network') });
        expect(ipAddrs(undefined, other)).toEqual([]);
        expect(ipLink(other)!.flags).not.toContain('UP');
      } finally {
        ip('link', 'del', other);
      }
    });

    it('a user bridge that was up stays up', async () => {
      ip('link', 'set', br, 'up');
      const net = await c.newNetwork({ name: uniq('n'), options: bridgeOpt(br), ipam: { config: [{ Subnet: '10.47.11.0/24' }] } });
      await net.delete();
      expect(ipLink(br)!.flags).toContain('UP');
      expect(ipAddrs(undefined, br)).toEqual(['10.47.9.1/24']);
      ip('link', 'set', br, 'down');
    });
  });

  describe('network delete against joins', () => {
    let sbs: Sandbox[] = [];
    const N = 16;

    beforeAll(async () => {
      sbs = await Promise.all(Array.from({ length: N }, () => c.newSandbox(uniq('race'))));
    });

    afterAll(async () => {
      for (const s of sbs) await s.destroy();
    });

    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const controllerLinks = () => ipLinks().filter((l) => l.group === String(c.marks().liveGroup));
    const nsLinks = (sb: Sandbox) => ipLinks(nsName(sb.key)).filter((l) => l.ifname !== 'lo').map((l) => l.ifname);

    it('many joins racing a delete: never an endpoint on a deleted network, never a leaked link or address', async () => {
      let deleted = 0;
      let refused = 0;
      for (let round = 0; round < 6; round++) {
        const bridge = uniq('rb');
        const net: Network = await c.newNetwork({ name: uniq('n'), options: bridgeOpt(bridge), ipam: { config: [{ Subnet: '10.47.20.0/24' }] } });
        const joins = sbs.map(async (sb, i) => {
          await sleep(Math.random() * 6);
          const ep = net.createEndpoint(`e${i}`);
          // Some endpoints (all of them in even rounds, so the delete can
          // win) are deleted right after their join is asked for, before
          // the join has run: that join must fail, not make a link.
          const j = ep.join(sb);
          if (round % 2 === 0 || i % 2) await ep.delete().catch(() => undefined);
          try {
            await j;
          } catch (e) {
            await ep.delete().catch(() => undefined);
            throw e;
          }
          return ep;
        });
        const del = sleep(Math.random() * 6).then(() => net.delete());
        const results = await Promise.allSettled([...joins, del]);
        const delResult = results[N]!;
        for (const r of results.slice(0, N))
          if (r.status === 'rejected') expect(['ENOTFOUND', 'EENDPOINTINUSE']).toContain((r.reason as { code: string }).code);
        if (delResult.status === 'fulfilled') {
          deleted++;
          // Gone, and nothing of it anywhere.
          expect(c.networks().some((n) => n.id === net.id)).toBe(false);
          expect(results.slice(0, N).every((r) => r.status === 'rejected')).toBe(true);
          expect(ipLink(bridge)).toBeUndefined();
        } else {
          refused++;
          expect((delResult.reason as { code: string }).code).toBe('EACTIVEENDPOINTS');
          // Every endpoint still recorded is joined with its link on the bridge.
          for (const e of net.endpoints()) {
            const info = e.info();
            if (!info.sandboxId) continue;
            expect(ipLink(info.hostIfname!)?.master).toBe(bridge);
          }
          for (const s of sbs) for (const id of s.info().endpoints) await c.endpoint(id)?.leave(s);
          for (const e of net.endpoints()) await e.delete();
          await net.delete();
        }
        expect(c.stats().endpoints).toBe(0);
        for (const s of sbs) expect(s.info().endpoints).toEqual([]);
      }
      await c.flush();
      for (const s of sbs) expect(nsLinks(s)).toEqual([]);
      expect(controllerLinks()).toEqual([]);
      expect(deleted + refused).toBe(6);
      expect(deleted).toBeGreaterThanOrEqual(3);
    });

    it('a second delete of the same network waits for the first and then finds nothing', async () => {
      const net = await c.newNetwork({ name: uniq('n'), options: bridgeOpt(uniq('b')), ipam: { config: [{ Subnet: '10.47.21.0/24' }] } });
      const [a, b] = await Promise.allSettled([net.delete(), net.delete()]);
      expect(a.status).toBe('fulfilled');
      expect(b.status === 'rejected' && (b.reason as { code: string }).code).toBe('ENOTFOUND');
      expect(() => net.createEndpoint('late')).toThrow(expect.objectContaining({ code: 'ENOTFOUND' }));
    });
  });

  describe('the firewall fails closed', () => {
    it('a controller without an explicit mode uses nftables (no quiet fallback to none)', () => {
      expect(internals(c).firewall.mode).toBe('nftables');
    });

    it('a rebuild is one transaction: when it fails, the rules in force stay', async () => {
      const bridge = uniq('fb');
      const net = await c.newNetwork({ name: uniq('n'), options: bridgeOpt(bridge), ipam: { config: [{ Subnet: '10.47.30.0/24' }] } });
      const table = tableName(c.marks().tag);
      expect(nftList(table)).toContain(bridge);
      const fw = internals(c).firewall;
      const broken = { id: 'f'.repeat(64), bridge: uniq('zz'), subnets4: ['10.47.31.0/33'], subnets6: [], icc: true, masquerade: true, internal: false };
      await expect(fw.rebuild([broken], [])).rejects.toBeInstanceOf(FirewallError);
      expect(nftList(table)).toContain(bridge);
      await net.delete();
      expect(nftList(table)).toBeUndefined();
    });

    it('without libnftables and nft, a bridge network fails with EFIREWALL naming them, and no bridge is left (nft hidden in a private mount namespace)', () => {
      // A child controller (the built dist/) in its own mount namespace, where
      // /usr/sbin/nft is /dev/null and NSNET_NFT_EXEC=1 keeps libnftables out;
      // its network namespace is the host's, so the bridge would be real.
      const d = tempDir('nonft');
      const bridge = uniq('nf');
      const script = `
        import { Controller } from ${JSON.stringify(join(process.cwd(), 'dist/index.js'))};
        const c = await Controller.start({ dataDir: process.argv[1] });
        let out = { ok: true };
        try {
          await c.newNetwork({ name: 'n', options: { 'com.docker.network.bridge.name': process.argv[2] }, ipam: { config: [{ Subnet: '10.47.60.0/24' }] } });
        } catch (e) { out = { code: e.code, message: e.message }; }
        await c.stop();
        console.log(JSON.stringify(out));`;
      try {
        const res = execFileSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c',
          'for f in /usr/sbin/nft /usr/bin/nft; do [ -e "$f" ] && mount --bind /dev/null "$f"; done; exec node --input-type=module -e "$0" "$1" "$2"',
          script, d.path, bridge], { encoding: 'utf8', env: { ...process.env, NSNET_NFT_EXEC: '1' }, timeout: 20_000 });
        const out = JSON.parse(res.trim().split('\n').pop()!) as { code?: string; message?: string };
        expect(out.code).toBe('EFIREWALL');
        expect(out.message).toMatch(/libnftables.*nft/);
        expect(ipLink(bridge)).toBeUndefined();
      } finally {
        d.remove();
      }
    });

    it('br_netfilter missing or off is an EFIREWALL error naming it (checked against a fake sysctl directory)', () => {
      const fake = tempDir('brnf');
      try {
        expect(() => checkBrNetfilter(false, fake.path)).toThrow(/br_netfilter.*bridge-nf-call-iptables is missing/);
        writeFileSync(join(fake.path, 'bridge-nf-call-iptables'), '0\n');
        expect(() => checkBrNetfilter(false, fake.path)).toThrow(expect.objectContaining({ code: 'EFIREWALL' }));
        writeFileSync(join(fake.path, 'bridge-nf-call-iptables'), '1\n');
        expect(() => checkBrNetfilter(false, fake.path)).not.toThrow();
        expect(() => checkBrNetfilter(true, fake.path)).toThrow(/bridge-nf-call-ip6tables/);
        // The same check through the firewall a controller holds, before any rule is made.
        mkdirSync(join(fake.path, 'empty'));
        const fw = new Firewall('000000', 'nftables', join(fake.path, 'empty'));
        expect(() => fw.preflight({ icc: false, internal: false, ipv6: false })).toThrow(expect.objectContaining({ code: 'EFIREWALL' }));
        expect(() => fw.preflight({ icc: true, internal: false, ipv6: false })).not.toThrow();
      } finally {
        fake.remove();
      }
    });

    it('firewall "none" chosen explicitly refuses enable_icc=false, internal networks and published ports; an unknown mode is refused', async () => {
      const bad = tempDir('fwbad');
      await expect(Controller.start({ dataDir: bad.path, firewall: 'iptables' as 'none' })).rejects.toMatchObject({ code: 'EINVALIDINPUT' });
      bad.remove();
      const d = tempDir('fwnone');
      const none = await Controller.start({ dataDir: d.path, firewall: 'none' });
      try {
        const before = linkNames();
        expect(await code(none.newNetwork({ name: uniq('n'), options: { ...bridgeOpt(uniq('b')), 'com.docker.network.bridge.enable_icc': 'false' } })))
          .toBe('EINVALIDINPUT');
        expect(await code(none.newNetwork({ name: uniq('n'), internal: true, options: bridgeOpt(uniq('b')) }))).toBe('EINVALIDINPUT');
        expect([...linkNames()].filter((l) => !before.has(l))).toEqual([]);
        const net = await none.newNetwork({ name: uniq('n'), options: bridgeOpt(uniq('b')), ipam: { config: [{ Subnet: '10.47.40.0/24' }] } });
        expect(() => net.createEndpoint('p', { ports: [{ proto: 'tcp', containerPort: 80, hostPort: '18099' }] }))
          .toThrow(expect.objectContaining({ code: 'EINVALIDINPUT', message: expect.stringContaining('firewall') }));
        expect(net.endpoints()).toEqual([]);
        await net.delete();
        expect(sh('nft', ['list', 'tables'])).not.toContain(tableName(none.marks().tag));
      } finally {
        await none.stop();
        d.remove();
      }
    });
  });
});
