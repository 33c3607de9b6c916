// A CNI spec harness: build/Release/nsnet-cni exec'd with the CNI_* environment
// and a configuration on stdin, as a runtime does, against a real `nsnet
// daemon` on a temporary socket and data directory, on namespaces the test
// makes with `ip netns add`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownershipFor } from '../src/driver-api/ownership.js';
import { releaseForwardingClaims } from '../src/firewall/firewall.js';
import { tableName } from '../src/firewall/ruleset.js';
import { netnsGetId, netnsOpen } from '../src/netlink/index.js';
import { apiJson, gate, ipAddrs, ipLink, ipLinks, sh, tcpEcho, tempDir, uniq } from './helpers.js';

const SHIM = 'build/Release/nsnet-cni';
const VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
const why = !gate.ok ? gate.why : !existsSync(SHIM) ? `${SHIM} not built (npm run build:native)` : !existsSync('dist/cli/main.js') ? 'dist/ not built (npm run build)' : '';

interface Out { code: number | null; json: Record<string, unknown> | undefined; raw: string }
type Conf = Record<string, unknown>;

describe.skipIf(!!why)(`CNI plugin nsnet-cni ${why}`, () => {
  const dir = tempDir('cni');
  const socket = `${dir.path}/s.sock`;
  const dataDir = `${dir.path}/d`;
  const defaultBridge = uniq('cd');
  const bridges: string[] = [];
  const networks: string[] = [];
  const namespaces = new Set<string>();
  let daemon: ChildProcess | undefined;
  /** Attachments ADDed and not yet DELeted, for the cleanup. */
  const live = new Map<string, { c: Conf; env: { id?: string; ns?: string; ifname?: string } }>();

  async function startDaemon(): Promise<void> {
    daemon = spawn(process.execPath, ['bin/nsnet.js', 'daemon', '--socket', socket, '--data-dir', dataDir, '--bridge-name', defaultBridge, '--bridge-subnet', '10.44.0.0/24'], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(socket)).toBe(true);
  }
  async function stopDaemon(): Promise<void> {
    const d = daemon;
    daemon = undefined;
    if (!d || d.exitCode !== null) return;
    d.kill('SIGTERM');
    await new Promise((r) => d.once('exit', r));
  }

  /** One GET/DELETE on the daemon's Docker API. */
  const api = (method: string, path: string) => apiJson(socket, method, path);
  const networkContainers = async (name: string): Promise<string[]> => {
    const r = await api('GET', `/networks/${name}`);
    return r.status === 200 ? Object.values((r.body as { Containers: Record<string, { Name: string }> }).Containers).map((c) => c.Name) : [];
  };

  function netns(): string {
    const n = uniq('ns');
    sh('ip', ['netns', 'add', n]);
    namespaces.add(n);
    return n;
  }
  function dropNetns(n: string): void {
    spawnSync('ip', ['netns', 'del', n]);
    namespaces.delete(n);
  }

  let subnetN = 0;
  /** A configuration for a fresh network (or `name`'s), 10.44.x.0/24. */
  function conf(cniVersion: string, over: Conf = {}): Conf {
    const n = ++subnetN;
    const bridge = uniq('cb');
    bridges.push(bridge);
    const name = uniq('cn');
    networks.push(name);
    return { cniVersion, name, type: 'nsnet', socket, bridge, ipam: { subnet: `10.44.${n}.0/24` }, ...over };
  }

  function cni(command: string, c: Conf | string, env: { id?: string; ns?: string; ifname?: string; args?: string } = {}): Out {
    const r = spawnSync(SHIM, [], {
      input: typeof c === 'string' ? c : JSON.stringify(c),
      encoding: 'utf8',
      env: {
        PATH: process.env['PATH'] ?? '',
        CNI_COMMAND: command,
        ...(env.id ? { CNI_CONTAINERID: env.id } : {}),
        ...(env.ns ? { CNI_NETNS: /^[/.]/.test(env.ns) ? env.ns : `/run/netns/${env.ns}` } : {}),
        CNI_IFNAME: env.ifname ?? 'eth0',
        CNI_PATH: '/opt/cni/bin',
        ...(env.args ? { CNI_ARGS: env.args } : {}),
      },
    });
    const raw = r.stdout.trim();
    const key = `${env.id}/${env.ifname ?? 'eth0'}`;
    if (command === 'ADD' && r.status === 0 && typeof c !== 'string') live.set(key, { c, env });
    if (command === 'DEL' && r.status === 0) live.delete(key);
    return { code: r.status, json: raw ? JSON.parse(raw) as Record<string, unknown> : undefined, raw };
  }

  const addr = (out: Out, i = 0): string => ((out.json!['ips'] as { address: string }[])[i]!).address;

  beforeAll(startDaemon);

  afterAll(async () => {
    if (daemon) {
      // Everything through the daemon first, so it forgets what it made.
      for (const { c, env } of [...live.values()]) cni('DEL', c, env);
      for (const n of networks) await api('DELETE', `/networks/${n}`).catch(() => undefined);
    }
    await stopDaemon();
    for (const n of [...namespaces]) dropNetns(n);
    // A stopped daemon keeps its default bridge, rules and forwarding claim, as dockerd does.
    spawnSync('nft', ['delete', 'table', 'inet', tableName(ownershipFor(dataDir).tag)]);
    await releaseForwardingClaims(ownershipFor(dataDir).tag);
    for (const b of [defaultBridge, ...bridges]) if (ipLink(b)) spawnSync('ip', ['link', 'del', b]);
    dir.remove();
  });

  it('VERSION is answered by the shim itself, echoing the configuration\'s version', () => {
    for (const v of VERSIONS) {
      const out = cni('VERSION', { cniVersion: v, socket: `${dir.path}/nobody.sock` });
      expect(out.code).toBe(0);
      expect(out.json).toEqual({ cniVersion: v, supportedVersions: [...VERSIONS] });
    }
  });

  for (const v of VERSIONS) {
    it(`cniVersion ${v}: ADD, CHECK, STATUS, GC, DEL with results in that version`, async () => {
      const c = conf(v);
      const ns = netns();
      const id = uniq('id');
      const add = cni('ADD', c, { id, ns });
      expect(add.code, add.raw).toBe(0);
      const r = add.json!;
      expect(r['cniVersion']).toBe(v);
      const ifs = r['interfaces'] as { name: string; mac?: string; sandbox?: string }[];
      expect(ifs).toHaveLength(2);
      expect(ifs[0]!.name).toMatch(/^nsv/);
      expect(ifs[0]!.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      expect(ifs[1]).toEqual({ name: 'eth0', mac: expect.stringMatching(/^02:42:/), sandbox: `/run/netns/${ns}` });
      const subnet = (c['ipam'] as { subnet: string }).subnet.replace('.0/24', '');
      const ip = { address: `${subnet}.2/24`, gateway: `${subnet}.1`, interface: 1, ...(v.startsWith('0.') ? { version: '4' } : {}) };
      expect(r['ips']).toEqual([ip]);
      expect(r['routes']).toEqual([{ dst: '0.0.0.0/0', gw: `${subnet}.1` }]);
      expect(ipAddrs(ns, 'eth0')).toEqual([`${subnet}.2/24`]);
      expect(ipLink('eth0', ns)!.address).toBe(ifs[1]!.mac);
      // The host end's MAC is nsnet's choice, not read back: it must still be the kernel's.
      expect(ipLink(ifs[0]!.name)!.address).toBe(ifs[0]!.mac);

      const check = cni('CHECK', { ...c, prevResult: r }, { id, ns });
      if (v === '0.3.0' || v === '0.3.1') expect(check.json).toMatchObject({ code: 1, cniVersion: v });
      else expect([check.code, check.raw]).toEqual([0, '']);
      const status = cni('STATUS', c);
      const gc = cni('GC', { ...c, 'cni.dev/valid-attachments': [{ containerID: id, ifname: 'eth0' }] });
      if (v === '1.1.0') {
        expect([status.code, status.raw]).toEqual([0, '']);
        expect([gc.code, gc.raw]).toEqual([0, '']);
        expect(ipAddrs(ns, 'eth0')).toEqual([`${subnet}.2/24`]); // listed: kept
      } else {
        expect(status.json).toMatchObject({ code: 1 });
        expect(gc.json).toMatchObject({ code: 1 });
      }

      expect(cni('DEL', { ...c, prevResult: r }, { id, ns })).toMatchObject({ code: 0, raw: '' });
      expect(ipLink('eth0', ns)).toBeUndefined();
      expect(await networkContainers(c['name'] as string)).toEqual([]);
    });
  }

  it('two namespaces attached by ADD exchange TCP; a second ADD with another ifname joins the same sandbox', async () => {
    const c = conf('1.0.0');
    const [a, b] = [netns(), netns()];
    const [ia, ib] = [uniq('id'), uniq('id')];
    const ra = cni('ADD', c, { id: ia, ns: a });
    const rb = cni('ADD', c, { id: ib, ns: b });
    expect([ra.code, rb.code]).toEqual([0, 0]);
    const ipA = addr(ra).split('/')[0]!;
    expect(await tcpEcho(a, ipA, b, 'over cni')).toBe('echo:over cni');
    // Numbered in the host by their first join's crossing, downward in nsnet's range (the kernel would give the lowest free).
    const [idA, idB] = [await netnsGetId(await netnsOpen(`/run/netns/${a}`)), await netnsGetId(await netnsOpen(`/run/netns/${b}`))];
    expect(idA >= 2 ** 24 && idA < 2 ** 30 && idB >= 2 ** 24).toBe(true);
    expect(idB).toBeLessThan(idA);
    // Same container, another interface on another network.
    const c2 = conf('1.0.0');
    const second = cni('ADD', c2, { id: ia, ns: a, ifname: 'net1' });
    expect(second.code, second.raw).toBe(0);
    expect(ipAddrs(a, 'net1')).toEqual([addr(second)]);
    expect((await api('GET', '/networks/' + (c2['name'] as string))).status).toBe(200);
    // The same (container, ifname) twice is refused with nothing changed.
    const dup = cni('ADD', c, { id: ia, ns: a });
    expect(dup.json).toMatchObject({ code: 101, cniVersion: '1.0.0' });
    expect(ipAddrs(a, 'eth0')).toEqual([addr(ra)]);
    for (const [cc, id, ns, ifname] of [[c, ia, a, 'eth0'], [c2, ia, a, 'net1'], [c, ib, b, 'eth0']] as const)
      expect(cni('DEL', cc, { id, ns, ifname }).code).toBe(0);
    expect(ipLinks(a).map((l) => l.ifname).filter((n) => n === 'eth0' || n === 'net1')).toEqual([]);
  });

  it('chained: prevResult\'s interfaces and IPs come first, ours are appended with shifted indexes', () => {
    const c = conf('1.1.0');
    const ns = netns();
    const id = uniq('id');
    const prevResult = {
      cniVersion: '1.1.0',
      interfaces: [{ name: 'dummy0', mac: '02:00:00:00:00:01', sandbox: `/run/netns/${ns}` }],
      ips: [{ address: '192.0.2.5/24', interface: 0 }],
      routes: [{ dst: '198.51.100.0/24' }],
      dns: { nameservers: ['192.0.2.53'] },
    };
    const out = cni('ADD', { ...c, prevResult }, { id, ns });
    expect(out.code, out.raw).toBe(0);
    const r = out.json!;
    expect((r['interfaces'] as { name: string }[]).map((i) => i.name)).toEqual(['dummy0', expect.stringMatching(/^nsv/), 'eth0']);
    expect(r['ips']).toEqual([{ address: '192.0.2.5/24', interface: 0 }, expect.objectContaining({ interface: 2 })]);
    expect((r['routes'] as { dst: string }[]).map((x) => x.dst)).toEqual(['198.51.100.0/24', '0.0.0.0/0']);
    expect(r['dns']).toEqual({ nameservers: ['192.0.2.53'] });
    // An older prevResult shape is converted: ips gain "version" in 0.4.0.
    const old = cni('ADD', { ...conf('0.4.0'), prevResult: { ...prevResult, cniVersion: '0.4.0' } }, { id: uniq('id'), ns: netns() });
    expect((old.json!['ips'] as { version?: string }[]).map((x) => x.version)).toEqual(['4', '4']);
    expect(cni('DEL', c, { id, ns }).code).toBe(0);
  });

  it('DEL is idempotent: twice, for an unknown container, and after the namespace is gone', async () => {
    const c = conf('1.0.0');
    const ns = netns();
    const id = uniq('id');
    expect(cni('ADD', c, { id, ns }).code).toBe(0);
    expect(cni('DEL', c, { id, ns })).toMatchObject({ code: 0, raw: '' });
    expect(cni('DEL', c, { id, ns })).toMatchObject({ code: 0, raw: '' });
    expect(cni('DEL', c, { id: uniq('never'), ns })).toMatchObject({ code: 0, raw: '' });
    // The runtime removed the namespace before DEL: the endpoint, its address and host end still go.
    const id2 = uniq('id');
    const add = cni('ADD', c, { id: id2, ns });
    const host = (add.json!['interfaces'] as { name: string }[])[0]!.name;
    dropNetns(ns);
    expect(cni('DEL', c, { id: id2, ns })).toMatchObject({ code: 0, raw: '' });
    expect(await networkContainers(c['name'] as string)).toEqual([]);
    for (let i = 0; i < 50 && ipLink(host); i++) await new Promise((r) => setTimeout(r, 20));
    expect(ipLink(host)).toBeUndefined();
    // Its address is free again (allocation is serial, so ask for it).
    const again = cni('ADD', c, { id: uniq('id'), ns: netns(), args: `IP=${addr(add).split('/')[0]!}` });
    expect(again.code, again.raw).toBe(0);
    expect(addr(again)).toBe(addr(add));
  });

  it('GC removes the attachments of that network the runtime does not list, and only those', async () => {
    const c = conf('1.1.0');
    const other = conf('1.1.0');
    const [a, b, o] = [netns(), netns(), netns()];
    const [ia, ib, io] = [uniq('id'), uniq('id'), uniq('id')];
    const results = ([[c, ia, a], [c, ib, b], [other, io, o]] as const).map(([cc, id, ns]) => {
      const r = cni('ADD', cc, { id, ns });
      expect(r.code, r.raw).toBe(0);
      return r.json;
    });
    // Without the list of attachments to keep, a GC would remove them all: refused, nothing removed.
    expect(cni('GC', c)).toMatchObject({ code: 1, json: { code: 7, msg: expect.stringContaining('cni.dev/valid-attachments') } });
    expect(ipLink('eth0', b)).toBeDefined();
    const gc = cni('GC', { ...c, 'cni.dev/valid-attachments': [{ containerID: ia, ifname: 'eth0' }] });
    expect([gc.code, gc.raw]).toEqual([0, '']);
    expect(ipLink('eth0', b)).toBeUndefined();
    expect(cni('CHECK', { ...c, prevResult: results[0] }, { id: ia, ns: a }).code).toBe(0);
    expect(cni('CHECK', { ...other, prevResult: results[2] }, { id: io, ns: o }).code).toBe(0); // another network: untouched
    expect(cni('CHECK', { ...c, prevResult: results[1] }, { id: ib, ns: b }).json).toMatchObject({ code: 3 });
    // The list under the name the 1.1 text first gave it ("cni.dev/attachments") is honoured too.
    expect(cni('GC', { ...c, 'cni.dev/attachments': [] }).code).toBe(0);
    expect(ipLink('eth0', a)).toBeUndefined();
    expect(cni('CHECK', { ...other, prevResult: results[2] }, { id: io, ns: o }).code).toBe(0);
    expect(cni('DEL', c, { id: ia, ns: a }).code).toBe(0);
    expect(cni('DEL', other, { id: io, ns: o }).code).toBe(0);
  });

  it('CHECK reports an attachment the kernel no longer matches', () => {
    const c = conf('1.0.0');
    const ns = netns();
    const id = uniq('id');
    const out = cni('ADD', c, { id, ns });
    sh('ip', ['-n', ns, 'addr', 'flush', 'dev', 'eth0']);
    expect(cni('CHECK', { ...c, prevResult: out.json }, { id, ns }).json).toMatchObject({ code: 102, msg: expect.stringContaining(`lacks address ${addr(out)}`) });
    expect(cni('DEL', c, { id, ns }).code).toBe(0);
  });

  it('CHECK goes by prevResult: a MAC a later plugin set passes, a missing route fails, no prevResult is refused', () => {
    const c = conf('1.0.0');
    const ns = netns();
    const id = uniq('id');
    const out = cni('ADD', c, { id, ns });
    expect(out.code, out.raw).toBe(0);
    expect(cni('CHECK', c, { id, ns }).json).toMatchObject({ code: 7, msg: expect.stringContaining('prevResult') });
    // A tuning plugin after nsnet changes the MAC and passes the result on with it.
    sh('ip', ['-n', ns, 'link', 'set', 'dev', 'eth0', 'address', '02:00:00:00:dd:01']);
    const tuned = structuredClone(out.json!) as { interfaces: { name: string; mac?: string; sandbox?: string }[] };
    tuned.interfaces[1]!.mac = '02:00:00:00:dd:01';
    const check = cni('CHECK', { ...c, prevResult: tuned }, { id, ns });
    expect([check.code, check.raw]).toEqual([0, '']);
    // The result the runtime holds no longer matches the kernel's MAC.
    expect(cni('CHECK', { ...c, prevResult: out.json }, { id, ns }).json).toMatchObject({ code: 102, msg: expect.stringContaining('MAC') });
    // A route the result lists must be there.
    sh('ip', ['-n', ns, 'route', 'del', 'default']);
    expect(cni('CHECK', { ...c, prevResult: tuned }, { id, ns }).json).toMatchObject({ code: 102, msg: expect.stringContaining('no route to 0.0.0.0/0') });
    expect(cni('DEL', c, { id, ns }).code).toBe(0);
  });

  it('DEL is for its own network: the DEL after an ADD refused for a taken ifname leaves the other network\'s interface', () => {
    const c1 = conf('1.0.0');
    const c2 = conf('1.0.0');
    const ns = netns();
    const id = uniq('id');
    const first = cni('ADD', c1, { id, ns });
    expect(first.code, first.raw).toBe(0);
    // The runtime's ADD on a second network with the same ifname fails; it then DELs that attachment, as the spec has it.
    expect(cni('ADD', c2, { id, ns }).json).toMatchObject({ code: 101 });
    expect(cni('DEL', c2, { id, ns })).toMatchObject({ code: 0, raw: '' });
    expect(ipAddrs(ns, 'eth0')).toEqual([addr(first)]);
    expect(cni('CHECK', { ...c1, prevResult: first.json }, { id, ns }).code).toBe(0);
    expect(cni('DEL', c1, { id, ns }).code).toBe(0);
    expect(ipLink('eth0', ns)).toBeUndefined();
  });

  it('a configuration naming an existing network with another bridge or subnet is refused, and changes nothing', async () => {
    const c = conf('1.0.0');
    const ns = netns();
    const id = uniq('id');
    const first = cni('ADD', c, { id, ns });
    expect(first.code, first.raw).toBe(0);
    const otherBridge = uniq('cb');
    bridges.push(otherBridge);
    const ns2 = netns();
    expect(cni('ADD', { ...c, bridge: otherBridge }, { id: uniq('id'), ns: ns2 }).json).toMatchObject({ code: 7, msg: expect.stringContaining(`not ${otherBridge}`) });
    expect(cni('ADD', { ...c, ipam: { subnet: '10.44.250.0/24' } }, { id: uniq('id'), ns: ns2 }).json).toMatchObject({ code: 7, msg: expect.stringContaining('not 10.44.250.0/24') });
    expect(ipLink(otherBridge)).toBeUndefined();
    expect(ipLinks(ns2).map((l) => l.ifname)).toEqual(['lo']);
    // The same network, configured as it was (or leaving the subnet out), still attaches.
    const { ipam: _ipam, ...bare } = c;
    const id3 = uniq('id');
    const third = cni('ADD', bare, { id: id3, ns: ns2 });
    expect(third.code, third.raw).toBe(0);
    expect(await networkContainers(c['name'] as string)).toHaveLength(2);
    expect(cni('DEL', c, { id: id3, ns: ns2 }).code).toBe(0);
    expect(cni('DEL', c, { id, ns }).code).toBe(0);
  });

  it('capabilities: portMappings publish a port reachable via 127.0.0.1; ips and mac (runtimeConfig and CNI_ARGS)', async () => {
    const hostPort = 20000 + (process.pid % 20000);
    const c = conf('1.0.0', { runtimeConfig: { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }], ips: ['10.44.90.7/24'], mac: '02:00:00:aa:bb:cc' } });
    (c['ipam'] as { subnet: string }).subnet = '10.44.90.0/24';
    const ns = netns();
    const id = uniq('id');
    const out = cni('ADD', c, { id, ns });
    expect(out.code, out.raw).toBe(0);
    expect(addr(out)).toBe('10.44.90.7/24');
    expect(ipLink('eth0', ns)!.address).toBe('02:00:00:aa:bb:cc');
    const server = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', `
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('10.44.90.7', 80)); s.listen(1)
print('ready', flush=True); s.settimeout(8)
c, a = s.accept(); c.recv(100); c.sendall(b'published'); c.close()
`], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((r) => server.stdout!.once('data', r));
    const answer = await new Promise<string>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: hostPort }, () => s.write('hi'));
      let text = '';
      s.on('data', (d) => { text += d.toString(); });
      s.on('end', () => resolve(text));
      s.on('error', reject);
      s.setTimeout(5000, () => s.destroy(new Error('timeout')));
    }).finally(() => server.kill());
    expect(answer).toBe('published');
    expect(cni('DEL', c, { id, ns }).code).toBe(0);
    // CNI_ARGS: IP= and MAC=, unknown keys refused unless IgnoreUnknown=1.
    const c2 = conf('1.0.0');
    const sub = (c2['ipam'] as { subnet: string }).subnet.replace('.0/24', '');
    const ns2 = netns();
    const refused = cni('ADD', c2, { id: uniq('id'), ns: ns2, args: `K8S_POD_NAME=x;FOO=bar;IP=${sub}.9` });
    expect(refused.json).toMatchObject({ code: 4, msg: expect.stringContaining('FOO') });
    const id2 = uniq('id');
    const ok = cni('ADD', c2, { id: id2, ns: ns2, args: `IgnoreUnknown=1;FOO=bar;IP=${sub}.9;MAC=02:00:00:00:00:09` });
    expect(ok.code, ok.raw).toBe(0);
    expect(addr(ok)).toBe(`${sub}.9/24`);
    expect(ipLink('eth0', ns2)!.address).toBe('02:00:00:00:00:09');
    expect(cni('DEL', c2, { id: id2, ns: ns2 }).code).toBe(0);
  });

  it('bad configurations get the spec\'s error JSON and change nothing', async () => {
    const ns = netns();
    const base = conf('1.0.0');
    const cases: [string, Conf | string, number, string?][] = [
      ['invalid JSON', '{"cniVersion": "1.0.0", "name": ', 6],
      ['not an object', '["x"]', 6],
      ['missing name', { ...base, name: undefined }, 7],
      ['missing cniVersion', { ...base, cniVersion: undefined }, 7],
      ['name of the wrong type', { ...base, name: 5 }, 7],
      ['mtu of the wrong type', { ...base, mtu: '1500' }, 7],
      ['ipam of the wrong type', { ...base, ipam: 'x' }, 7],
      ['invalid subnet', { ...base, ipam: { subnet: '10.44.300.0/24' } }, 7],
      ['gateway outside the subnet', { ...base, ipam: { subnet: '10.44.91.0/24', gateway: '10.45.0.1' } }, 7],
      ['unknown version', { ...base, cniVersion: '9.9.9' }, 1],
      ['unknown network option', { ...base, options: { 'com.example.bogus': 'x' } }, 2],
      ['unsupported ipam type', { ...base, ipam: { type: 'dhcp' } }, 2],
      ['socket of the wrong type', { ...base, socket: 7 }, 7],
      ['no host port', { ...base, runtimeConfig: { portMappings: [{ hostPort: 0, containerPort: 80 }] } }, 7],
    ];
    for (const [what, c, code] of cases) {
      const out = cni('ADD', c, { id: uniq('id'), ns });
      expect([what, out.code, out.json?.['code']]).toEqual([what, 1, code]);
      expect(Object.keys(out.json!).sort()).toEqual(['cniVersion', 'code', 'msg', ...(out.json!['details'] !== undefined ? ['details'] : [])].sort());
      expect(typeof out.json!['msg']).toBe('string');
    }
    expect(cni('ADD', base, { ns }).json).toMatchObject({ code: 4, msg: 'CNI_CONTAINERID is required for ADD' });
    expect(cni('BOGUS', base, { id: 'x', ns }).json).toMatchObject({ code: 4 });
    expect(cni('ADD', base, { id: 'x', ns: '/nonexistent/ns' }).json).toMatchObject({ code: 4 });
    writeFileSync(`${dir.path}/plain-file`, '');
    for (const notNs of [`${dir.path}/plain-file`, dir.path, '/dev/null', '/proc/self/ns/mnt'])
      expect([notNs, cni('ADD', base, { id: 'x', ns: notNs }).json?.['code']]).toEqual([notNs, 4]);
    // The daemon's own namespace (the host's) is no container's: a container end there would take the host's default route.
    expect(cni('ADD', base, { id: 'x', ns: '/proc/self/ns/net' }).json).toMatchObject({ code: 4, msg: expect.stringContaining("host's network namespace") });
    expect(cni('ADD', base, { id: 'x', ns: './relative/ns' }).json).toMatchObject({ code: 4, msg: expect.stringContaining('absolute') });
    expect(cni('ADD', base, { id: 'x', ns, args: 'IP=notanip' }).json).toMatchObject({ code: 4, msg: expect.stringContaining('notanip') });
    // Nothing was made: no network by that name, no interface in the namespace.
    expect((await api('GET', `/networks/${base['name'] as string}`)).status).toBe(404);
    expect(ipLinks(ns).map((l) => l.ifname)).toEqual(['lo']);
  });

  it('the shim relays only CNI answers: another server on the socket, one that never answers, a body over the daemon\'s limit', async () => {
    const { createServer } = await import('node:net');
    const fake = `${dir.path}/fake.sock`;
    let answer = 'HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 29\r\n\r\n{"message":"page not found"}\n';
    const server = createServer((c) => {
      c.on('data', () => { if (answer) c.end(answer); });
      c.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(fake, r));
    // The shim blocks this thread; the server answers from the event loop only between calls, so each call runs in a child.
    const call = (command: string, extra: Record<string, string> = {}) => new Promise<Out>((resolve) => {
      const child = spawn(SHIM, [], { env: { PATH: process.env['PATH'] ?? '', CNI_COMMAND: command, CNI_CONTAINERID: 'x', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', ...extra } });
      let raw = '';
      child.stdout!.on('data', (d: Buffer) => { raw += d.toString(); });
      child.on('close', (code) => resolve({ code, json: raw.trim() ? JSON.parse(raw) as Record<string, unknown> : undefined, raw: raw.trim() }));
      child.stdin!.end(JSON.stringify({ cniVersion: '1.0.0', name: 'x', type: 'nsnet', socket: fake }));
    });
    try {
      expect(await call('DEL')).toMatchObject({ code: 1, json: { code: 5, msg: expect.stringContaining('not an nsnet daemon: it answered HTTP 404') } });
      answer = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello';
      expect(await call('ADD')).toMatchObject({ code: 1, json: { code: 5, msg: expect.stringContaining('HTTP 200') } });
      answer = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
      expect(await call('ADD')).toMatchObject({ code: 1, json: { code: 5, msg: expect.stringContaining('with nothing') } });
      expect(await call('DEL')).toMatchObject({ code: 0, raw: '' });
      // A daemon that takes the request and never answers: code 11 after NSNET_CNI_TIMEOUT, not a hung runtime.
      answer = '';
      const t0 = Date.now();
      expect(await call('DEL', { NSNET_CNI_TIMEOUT: '1' })).toMatchObject({ code: 1, json: { code: 11, msg: expect.stringContaining('within 1 s') } });
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(await call('DEL', { NSNET_CNI_TIMEOUT: 'soon' })).toMatchObject({ code: 1, json: { code: 4 } });
      // A daemon that accepts no connection (its listen backlog full): the same deadline covers the connect.
      const stuck = `${dir.path}/stuck.sock`;
      const listener = spawn('python3', ['-c', [
        'import socket, sys',
        's = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(0)',
        'held = []',
        'while True:',
        '    c = socket.socket(socket.AF_UNIX); c.setblocking(False)',
        '    try: c.connect(sys.argv[1]); held.append(c)',
        '    except BlockingIOError: break',
        'print("full", flush=True); sys.stdin.read()'].join('\n'), stuck], { stdio: ['pipe', 'pipe', 'inherit'] });
      try {
        await new Promise<void>((r) => listener.stdout!.once('data', () => r()));
        const t1 = Date.now();
        const stuckCall = new Promise<Out>((resolve) => {
          const child = spawn(SHIM, [], { env: { PATH: process.env['PATH'] ?? '', CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'x', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', NSNET_CNI_TIMEOUT: '1' } });
          let raw = '';
          const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          child.stdout!.on('data', (d: Buffer) => { raw += d.toString(); });
          child.on('close', (code) => { clearTimeout(killer); resolve({ code, json: raw.trim() ? JSON.parse(raw) as Record<string, unknown> : undefined, raw: raw.trim() }); });
          child.stdin!.end(JSON.stringify({ cniVersion: '1.0.0', name: 'x', type: 'nsnet', socket: stuck }));
        });
        expect(await stuckCall).toMatchObject({ code: 1, json: { code: 11, msg: expect.stringContaining('accepted no connection within 1 s') } });
        expect(Date.now() - t1).toBeLessThan(5000);
      } finally {
        listener.kill();
      }
      // A daemon that is not ready (503 without a CNI body) is worth retrying.
      answer = 'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 27\r\n\r\n{"message":"shutting down"}';
      expect(await call('DEL')).toMatchObject({ code: 1, json: { code: 11, msg: expect.stringContaining('not ready') } });
    } finally {
      await new Promise((r) => server.close(r));
    }
    // Over the daemon's 1 MiB body limit (a configuration under it, with CNI_ARGS that push the whole past):
    // refused by the shim with the reason (not "try again later"), nothing sent.
    const big = { ...conf('1.0.0'), args: { pad: 'x'.repeat(950_000) } };
    expect(cni('DEL', big, { id: uniq('id'), args: `IgnoreUnknown=1;PAD=${'y'.repeat(120_000)}` })).toMatchObject({ code: 1, json: { code: 6, msg: expect.stringContaining('1048576') } });
  });

  it('without a daemon: STATUS answers 50 and ADD 11, naming the socket', () => {
    const gone = `${dir.path}/stopped.sock`;
    const c = { ...conf('1.1.0'), socket: gone };
    expect(cni('STATUS', c)).toMatchObject({ code: 1, json: { cniVersion: '1.1.0', code: 50, msg: expect.stringContaining(gone) } });
    expect(cni('ADD', c, { id: 'x', ns: netns() })).toMatchObject({ code: 1, json: { code: 11, msg: expect.stringContaining(gone) } });
  });

  it('a daemon restart keeps an attachment: CHECK passes, TCP still flows, DEL frees it', async () => {
    const c = conf('1.1.0');
    const [a, b] = [netns(), netns()];
    const [ia, ib] = [uniq('id'), uniq('id')];
    const ra = cni('ADD', c, { id: ia, ns: a });
    expect(cni('ADD', c, { id: ib, ns: b }).code).toBe(0);
    await stopDaemon();
    expect(cni('STATUS', c).json).toMatchObject({ code: 50 });
    expect(cni('ADD', c, { id: uniq('id'), ns: netns() }).json).toMatchObject({ code: 11 });
    await startDaemon();
    expect(cni('CHECK', { ...c, prevResult: ra.json }, { id: ia, ns: a }).code).toBe(0);
    const ipB = ipAddrs(b, 'eth0')[0]!.split('/')[0]!;
    expect(await tcpEcho(b, ipB, a, 'after restart')).toBe('echo:after restart');
    expect(cni('DEL', c, { id: ia, ns: a }).code).toBe(0);
    expect(cni('DEL', c, { id: ib, ns: b }).code).toBe(0);
    expect(await networkContainers(c['name'] as string)).toEqual([]);
  });
});
