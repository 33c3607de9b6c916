// The real docker CLI (client only) driving a running `nsnet daemon`.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownershipFor } from '../src/driver-api/ownership.js';
import { tableName } from '../src/firewall/ruleset.js';
import { gate, tempDir, uniq } from './helpers.js';
import { releaseForwardingClaims } from '../src/firewall/firewall.js';

const dockerBin = spawnSync('docker', ['--version']).status === 0;
const why = !gate.ok ? gate.why : !dockerBin ? 'needs the docker CLI on PATH' : '';

describe.skipIf(!!why)(`docker CLI against nsnet daemon ${why}`, () => {
  const dir = tempDir('dcli');
  const socket = `${dir.path}/nsnet.sock`;
  const bridgeName = uniq('dk');
  let daemon: ChildProcess;

  const docker = (...args: string[]) => {
    const r = spawnSync('docker', args, { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: `unix://${socket}` } });
    return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
  };
  const nsnet = (...args: string[]) => spawnSync(process.execPath, ['bin/nsnet.js', '--socket', socket, ...args], { encoding: 'utf8' });

  beforeAll(async () => {
    daemon = spawn(process.execPath, ['bin/nsnet.js', 'daemon', '--socket', socket, '--data-dir', `${dir.path}/data`, '--bridge-name', bridgeName, '--bridge-subnet', '10.35.0.0/24'], { stdio: ['ignore', 'ignore', 'pipe'] });
    for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(socket)).toBe(true);
  });

  afterAll(async () => {
    for (const c of docker('ps', '-aq').out.split('\n').filter(Boolean)) docker('rm', '-f', c);
    docker('network', 'prune', '-f');
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
    // The default bridge and its rules stay with the daemon's state, as docker0's do: remove them here.
    spawnSync('ip', ['link', 'del', bridgeName]);
    spawnSync('nft', ['delete', 'table', 'inet', tableName(ownershipFor(`${dir.path}/data`).tag)]);
    await releaseForwardingClaims(ownershipFor(`${dir.path}/data`).tag);
    dir.remove();
  });

  it('answers ping and version the way the CLI expects', () => {
    const v = docker('version', '--format', '{{.Server.APIVersion}} {{.Server.Os}}');
    expect(v.code).toBe(0);
    expect(v.out).toBe('1.50 linux');
  });

  it('network create with every IPAM flag, options and labels; inspect shows them', () => {
    const name = uniq('n');
    const br = uniq('b');
    const r = docker('network', 'create', '--subnet', '10.35.1.0/24', '--gateway', '10.35.1.254', '--ip-range', '10.35.1.128/25',
      '--aux-address', 'printer=10.35.1.5', '--internal', '-o', `com.docker.network.bridge.name=${br}`, '-o', 'com.docker.network.driver.mtu=1400', '--label', 'team=net', name);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^[0-9a-f]{64}$/);
    const [n] = JSON.parse(docker('network', 'inspect', name).out) as Record<string, unknown>[];
    expect(n).toMatchObject({
      Name: name, Driver: 'bridge', Scope: 'local', Internal: true,
      IPAM: { Driver: 'default', Config: [{ Subnet: '10.35.1.0/24', IPRange: '10.35.1.128/25', Gateway: '10.35.1.254', AuxiliaryAddresses: { printer: '10.35.1.5' } }] },
      Options: { 'com.docker.network.bridge.name': br, 'com.docker.network.driver.mtu': '1400' }, Labels: { team: 'net' },
    });
    const link = JSON.parse(execFileSync('ip', ['-j', 'link', 'show', br], { encoding: 'utf8' })) as { mtu: number }[];
    expect(link[0]!.mtu).toBe(1400);
    expect(docker('network', 'rm', name).out).toBe(name);
  });

  it('ls with filters', () => {
    const a = uniq('fa');
    const b = uniq('fb');
    docker('network', 'create', '--label', 'tier=front', '-o', `com.docker.network.bridge.name=${uniq('b')}`, a);
    docker('network', 'create', '--label', 'tier=back', '-o', `com.docker.network.bridge.name=${uniq('b')}`, b);
    const names = (...f: string[]) => docker('network', 'ls', '--format', '{{.Name}}', ...f.flatMap((x) => ['--filter', x])).out.split('\n').filter(Boolean).sort();
    expect(names('label=tier=front')).toEqual([a]);
    expect(names('label=tier')).toEqual([a, b].sort());
    expect(names(`name=${a}`)).toEqual([a]);
    expect(names('driver=null')).toEqual(['none']);
    expect(names('type=builtin')).toEqual(['bridge', 'host', 'none']);
    expect(names('type=custom', 'label=tier')).toEqual([a, b].sort());
    expect(names('dangling=true', 'label=tier')).toEqual([a, b].sort());
    const id = docker('network', 'inspect', '-f', '{{.Id}}', a).out;
    expect(names(`id=${id.slice(0, 10)}`)).toEqual([a]);
    expect(docker('network', 'ls').out.split('\n')[0]).toMatch(/^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/);
    expect(docker('network', 'rm', id.slice(0, 12), b).code).toBe(0);
  });

  it('errors exactly as Docker gives them', () => {
    const name = uniq('e');
    docker('network', 'create', '-o', `com.docker.network.bridge.name=${uniq('b')}`, name);
    expect(docker('network', 'create', name).err).toBe(`Error response from daemon: network with name ${name} already exists`);
    expect(docker('network', 'create', 'bridge').err).toBe('Error response from daemon: operation is not permitted on predefined bridge network');
    expect(docker('network', 'inspect', 'nosuchnet').err).toBe('Error response from daemon: network nosuchnet not found');
    expect(docker('network', 'rm', 'host').err).toContain('host is a pre-defined network and cannot be removed');
    // Ambiguous ID prefix: 17 networks guarantee two that share a first hex digit.
    const extra = Array.from({ length: 14 }, () => uniq('am'));
    for (const x of extra) docker('network', 'create', '-o', `com.docker.network.bridge.name=${uniq('b')}`, x);
    const ids = docker('network', 'ls', '-q', '--no-trunc').out.split('\n');
    const first = [...'0123456789abcdef'].find((ch) => ids.filter((i) => i.startsWith(ch)).length > 1)!;
    const n = ids.filter((i) => i.startsWith(first)).length;
    expect(docker('network', 'inspect', first).err).toBe(`Error response from daemon: network ${first} is ambiguous (${n} matches found based on ID prefix)`);
    docker('create', '--network', name, '--name', `${name}-c`, 'img');
    docker('start', `${name}-c`);
    expect(docker('network', 'rm', name).err).toMatch(new RegExp(`Error response from daemon: error while removing network: network ${name} id [0-9a-f]{64} has active endpoints`));
    docker('rm', '-f', `${name}-c`);
    const pruned = docker('network', 'prune', '-f');
    expect(pruned.out.split('\n')[0]).toBe('Deleted Networks:');
    expect(pruned.out).toContain(name);
    for (const x of extra) expect(pruned.out).toContain(x);
  });

  it('--config-only and --config-from: the configuration stored and nothing made, taken whole, never attached to, kept while used and by prune', () => {
    const conf = uniq('cf');
    const net = uniq('cn');
    const br = uniq('b');
    const err = (...args: string[]) => docker(...args).err;
    expect(docker('network', 'create', '--config-only', '--subnet', '10.35.9.0/24', '--gateway', '10.35.9.254', '--ip-range', '10.35.9.128/25',
      '-o', `com.docker.network.bridge.name=${br}`, '--label', 'from=conf', conf).code).toBe(0);
    const [c] = JSON.parse(docker('network', 'inspect', conf).out) as Record<string, unknown>[];
    expect(c).toMatchObject({
      Name: conf, Driver: 'null', Scope: 'local', ConfigOnly: true, ConfigFrom: { Network: '' },
      IPAM: { Config: [{ Subnet: '10.35.9.0/24', Gateway: '10.35.9.254', IPRange: '10.35.9.128/25' }] },
      Options: { 'com.docker.network.bridge.name': br }, Labels: { from: 'conf' },
    });
    expect(spawnSync('ip', ['link', 'show', br]).status).not.toBe(0); // nothing in the kernel
    const tried: string[] = [];
    const refused = () => { const n = uniq('x'); tried.push(n); return n; };
    const operator = 'Error response from daemon: configuration network can only contain network specific fields. Network operator fields like [ ingress | internal | attachable | scope ] are not supported.';
    expect(err('network', 'create', '--config-only', '--internal', refused())).toBe(operator);
    expect(err('network', 'create', '--config-only', '--scope', 'local', refused())).toBe(operator);
    expect(err('network', 'create', '--config-from', conf, '--subnet', '10.35.8.0/24', refused()))
      .toBe('Error response from daemon: user specified configurations are not supported if the network depends on a configuration network');
    expect(err('network', 'create', '--config-from', conf, '--label', 'a=b', refused()))
      .toBe('Error response from daemon: user specified configurations are not supported if the network depends on a configuration network');
    expect(err('network', 'create', '--config-from', conf, '-o', 'a=b', refused()))
      .toBe('Error response from daemon: network driver options are not supported if the network depends on a configuration network');
    expect(err('network', 'create', '--config-from', 'nosuchconf', refused())).toBe('Error response from daemon: configuration network "nosuchconf" does not exist');
    for (const n of tried) expect(docker('network', 'inspect', n).code).not.toBe(0); // none of the refused ones exists

    expect(docker('network', 'create', '--config-from', conf, net).code).toBe(0);
    const [n] = JSON.parse(docker('network', 'inspect', net).out) as Record<string, unknown>[];
    expect(n).toMatchObject({
      Name: net, Driver: 'bridge', ConfigOnly: false, ConfigFrom: { Network: conf },
      IPAM: { Config: [{ Subnet: '10.35.9.0/24', Gateway: '10.35.9.254', IPRange: '10.35.9.128/25' }] },
      Options: { 'com.docker.network.bridge.name': br }, Labels: { from: 'conf' },
    });
    expect(execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', br], { encoding: 'utf8' })).toContain('10.35.9.254/24');
    expect(docker('run', '-d', '--network', net, '--name', `${net}-c`, 'img').code).toBe(0);
    const ip = docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, `${net}-c`).out;
    expect(Number(ip.split('.')[3])).toBeGreaterThanOrEqual(128); // from the taken ip-range
    expect(err('network', 'connect', conf, `${net}-c`)).toBe('Error response from daemon: cannot create endpoint on configuration-only network');
    // (the CLI adds its own "exit status 1" line after a failed rm)
    expect(err('network', 'rm', conf).split('\n')[0]).toBe(`Error response from daemon: configuration network "${conf}" is in use`);
    docker('rm', '-f', `${net}-c`);
    const pruned = docker('network', 'prune', '-f').out;
    expect(pruned).toContain(net);
    expect(pruned).not.toContain(conf);
    expect(docker('network', 'rm', conf).out).toBe(conf);
  });

  it('docker run --add-host host.docker.internal:host-gateway writes the default bridge\'s gateway', () => {
    const name = uniq('hg');
    expect(docker('run', '-d', '--add-host', 'host.docker.internal:host-gateway', '--name', name, 'img').code).toBe(0);
    const hosts = readFileSync(docker('inspect', '-f', '{{.HostsPath}}', name).out, 'utf8');
    expect(hosts).toContain('10.35.0.1\thost.docker.internal\n');
    docker('rm', '-f', name);
  });

  it('containers: create, start, connect, disconnect, inspect; traffic checked with nsnet exec', async () => {
    const net = uniq('cn');
    const other = uniq('co');
    docker('network', 'create', '--subnet', '10.35.2.0/24', '-o', `com.docker.network.bridge.name=${uniq('b')}`, net);
    docker('network', 'create', '--subnet', '10.35.3.0/24', '-o', `com.docker.network.bridge.name=${uniq('b')}`, other);
    const c1 = uniq('c1');
    const c2 = uniq('c2');
    expect(docker('create', '--network', net, '--name', c1, 'alpine').code).toBe(0);
    expect(docker('run', '-d', '--network', net, '--ip', '10.35.2.50', '--name', c2, 'alpine').code).toBe(0);
    expect(docker('start', c1).out).toBe(c1);
    const ip1 = docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, c1).out;
    expect(ip1).toBe('10.35.2.2');
    expect(docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, c2).out).toBe('10.35.2.50');
    expect(docker('inspect', '-f', '{{.NetworkSettings.SandboxKey}}', c1).out).toMatch(/^\/run\/netns\/nsn[0-9a-f]{6}-[0-9a-f]{12}$/);
    expect(docker('ps', '--format', '{{.Names}}').out.split('\n')).toEqual(expect.arrayContaining([c1, c2]));

    const server = spawn(process.execPath, ['bin/nsnet.js', '--socket', socket, 'exec', c2, '--', 'python3', '-c',
      "import socket\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('10.35.2.50', 7100)); s.listen(1); print('ready', flush=True)\nc,_=s.accept(); c.sendall(b'pong:'+c.recv(100)); c.close()"], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((r) => server.stdout!.once('data', r));
    const client = nsnet('exec', c1, '--', 'python3', '-c', "import socket\ns=socket.create_connection(('10.35.2.50', 7100), timeout=5); s.sendall(b'ping'); print(s.recv(100).decode())");
    server.kill();
    expect(client.stdout.trim()).toBe('pong:ping');

    expect(docker('network', 'connect', '--ip', '10.35.3.9', other, c1).code).toBe(0);
    expect(docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${other}").IPAddress}}`, c1).out).toBe('10.35.3.9');
    expect(nsnet('exec', c1, '--', 'ip', '-br', 'addr', 'show', 'eth1').stdout).toContain('10.35.3.9/24');
    expect(docker('network', 'connect', other, c1).err).toBe(`Error response from daemon: endpoint with name ${c1} already exists in network ${other}`);
    const key = docker('inspect', '-f', '{{.NetworkSettings.SandboxKey}}', c1).out;
    expect(docker('network', 'disconnect', other, c1).code).toBe(0);
    // Gone from the container when disconnect returns, as with dockerd (not renamed and waiting for the reaper).
    const links = spawnSync('nsenter', [`--net=${key}`, 'ip', '-o', 'link', 'show'], { encoding: 'utf8' }).stdout;
    expect(links.trim().split('\n').map((l) => l.split(':')[1]!.trim().split('@')[0])).toEqual(['lo', 'eth0']);
    expect(docker('inspect', '-f', '{{len .NetworkSettings.Networks}}', c1).out).toBe('1');
    const [ni] = JSON.parse(docker('network', 'inspect', net).out) as { Containers: Record<string, { Name: string; IPv4Address: string }> }[];
    expect(Object.values(ni!.Containers).map((x) => x.Name).sort()).toEqual([c1, c2].sort());
    expect(docker('stop', c1, c2).code).toBe(0);
    expect(docker('rm', c1, c2).code).toBe(0);
    expect(docker('network', 'rm', net, other).code).toBe(0);
  });

  it('docker run -p publishes a port: inspect and docker port show it, traffic flows, a second binding is refused', async () => {
    const net = uniq('pn');
    docker('network', 'create', '--subnet', '10.35.4.0/24', '-o', `com.docker.network.bridge.name=${uniq('b')}`, net);
    const web = uniq('web');
    expect(docker('run', '-d', '-p', '18181:80', '--network', net, '--name', web, 'nginx').code).toBe(0);
    expect(JSON.parse(docker('inspect', '-f', '{{json .NetworkSettings.Ports}}', web).out)).toEqual({ '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '18181' }] });
    expect(docker('port', web).out).toBe('80/tcp -> 0.0.0.0:18181');
    const ip = docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, web).out;
    const server = spawn(process.execPath, ['bin/nsnet.js', '--socket', socket, 'exec', web, '--', 'python3', '-c',
      `import socket\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('${ip}', 80)); s.listen(1); print('ready', flush=True)\nc,_=s.accept(); c.recv(10); c.sendall(b'served'); c.close()`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((r) => server.stdout!.once('data', r));
    const got = spawnSync('python3', ['-c', "import socket\ns=socket.create_connection(('127.0.0.1', 18181), timeout=5); s.sendall(b'x'); print(s.recv(100).decode())"], { encoding: 'utf8' });
    server.kill();
    expect(got.stdout.trim()).toBe('served');
    const clash = uniq('cl');
    docker('create', '-p', '18181:80', '--network', net, '--name', clash, 'nginx');
    expect(docker('start', clash).err).toContain('Bind for 0.0.0.0:18181 failed: port is already allocated');
    expect(docker('inspect', '-f', '{{.State.Running}}', clash).out).toBe('false');
    docker('rm', '-f', web, clash);
    expect(docker('network', 'rm', net).code).toBe(0);
  });

  it('docker run --link-local-ip: the extra address on the container\'s interface, gone with the leave; IPv6 ones need an IPv6 network', () => {
    const net = uniq('ll');
    docker('network', 'create', '--subnet', '10.35.6.0/24', '-o', `com.docker.network.bridge.name=${uniq('b')}`, net);
    const c = uniq('llc');
    expect(docker('run', '-d', '--network', net, '--link-local-ip', '169.254.8.8', '--name', c, 'img').code).toBe(0);
    expect(JSON.parse(docker('inspect', '-f', `{{json (index .NetworkSettings.Networks "${net}").IPAMConfig}}`, c).out)).toMatchObject({ LinkLocalIPs: ['169.254.8.8'] });
    const key = docker('inspect', '-f', '{{.NetworkSettings.SandboxKey}}', c).out;
    const addrs = () => execFileSync('nsenter', [`--net=${key}`, 'ip', '-o', '-4', 'addr', 'show'], { encoding: 'utf8' });
    expect(addrs()).toMatch(/eth0\s+inet 169\.254\.8\.8\/16 /);
    expect(addrs()).toMatch(/eth0\s+inet 10\.35\.6\.2\/24 /);
    docker('network', 'disconnect', net, c);
    expect(addrs()).not.toContain('169.254.8.8');
    const c6 = uniq('llc');
    docker('create', '--network', net, '--link-local-ip', 'fe80::8', '--name', c6, 'img');
    expect(docker('start', c6).err).toContain('link-local IPv6 address fe80::8 needs an IPv6-enabled network');
    docker('rm', '-f', c, c6);
    expect(docker('network', 'rm', net).code).toBe(0);
  });

  it('docker run -P publishes every exposed port without a binding on an ephemeral host port; traffic flows to it', async () => {
    const net = uniq('pa');
    docker('network', 'create', '--subnet', '10.35.5.0/24', '-o', `com.docker.network.bridge.name=${uniq('b')}`, net);
    const web = uniq('web');
    expect(docker('run', '-d', '-P', '--expose', '80', '--expose', '5353/udp', '-p', '18282:81', '--network', net, '--name', web, 'img').code).toBe(0);
    const ports = JSON.parse(docker('inspect', '-f', '{{json .NetworkSettings.Ports}}', web).out) as Record<string, { HostIp: string; HostPort: string }[]>;
    expect(Object.keys(ports).sort()).toEqual(['5353/udp', '80/tcp', '81/tcp']);
    expect(ports['81/tcp']).toEqual([{ HostIp: '0.0.0.0', HostPort: '18282' }]); // its own binding, kept
    const eph = Number(ports['80/tcp']![0]!.HostPort);
    expect(eph).toBeGreaterThanOrEqual(32768);
    expect(Number(ports['5353/udp']![0]!.HostPort)).toBeGreaterThanOrEqual(32768);
    expect(docker('port', web, '80').out).toBe(`0.0.0.0:${eph}`);
    const ip = docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, web).out;
    const server = spawn(process.execPath, ['bin/nsnet.js', '--socket', socket, 'exec', web, '--', 'python3', '-c',
      `import socket\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('${ip}', 80)); s.listen(1); print('ready', flush=True)\nc,_=s.accept(); c.recv(10); c.sendall(b'served'); c.close()`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((r) => server.stdout!.once('data', r));
    const got = spawnSync('python3', ['-c', `import socket\ns=socket.create_connection(('127.0.0.1', ${eph}), timeout=5); s.sendall(b'x'); print(s.recv(100).decode())`], { encoding: 'utf8' });
    server.kill();
    expect(got.stdout.trim()).toBe('served');
    docker('rm', '-f', web);
    expect(docker('network', 'rm', net).code).toBe(0);
  });
  it('docker events: the past between --since and --until in dockerd\'s order and attributes, filtered; live events stream', async () => {
    const net = uniq('ev');
    const a = uniq('eva');
    const b = uniq('evb');
    const t0 = (Date.now() / 1000).toFixed(3);
    docker('network', 'create', '--subnet', '10.35.7.0/24', '-o', `com.docker.network.bridge.name=${uniq('b')}`, net);
    expect(docker('run', '-d', '--network', net, '--label', 'team=ev', '--name', a, 'img').code).toBe(0);
    expect(docker('stop', a).code).toBe(0);
    expect(docker('start', a).code).toBe(0);
    expect(docker('kill', '-s', 'WINCH', a).code).toBe(0); // ignored by default: still running
    expect(docker('inspect', '-f', '{{.State.Running}}', a).out).toBe('true');
    expect(docker('kill', a).code).toBe(0);
    expect(docker('rename', a, b).code).toBe(0);
    expect(docker('rm', b).code).toBe(0);
    expect(docker('network', 'rm', net).code).toBe(0);
    const t1 = (Date.now() / 1000 + 0.001).toFixed(3);
    const events = (...f: string[]) => {
      const r = docker('events', '--since', t0, '--until', t1, '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{index .Actor.Attributes "signal"}}{{index .Actor.Attributes "exitCode"}}{{index .Actor.Attributes "container"}}{{index .Actor.Attributes "oldName"}}', ...f.flatMap((x) => ['--filter', x]));
      expect(r.err).toBe('');
      return r.out.split('\n').filter(Boolean).map((l) => l.trim());
    };
    const all = events();
    const cid = all.find((l) => l.startsWith('network connect'))!.split(' ').at(-1)!;
    expect(cid).toMatch(/^[0-9a-f]{64}$/);
    expect(all).toEqual([
      `network create ${net}`,
      `container create ${a}`,
      `network connect ${net} ${cid}`,
      `container start ${a}`,
      `container kill ${a} 15`,
      `container die ${a} 0`,
      `network disconnect ${net} ${cid}`,
      `container stop ${a}`,
      `network connect ${net} ${cid}`,
      `container start ${a}`,
      `container kill ${a} 28`,
      `container kill ${a} 9`,
      `container die ${a} 137`,
      `network disconnect ${net} ${cid}`,
      `container rename ${b} /${a}`,
      `container destroy ${b}`,
      `network destroy ${net}`,
    ]);
    expect(events('type=network', 'event=connect')).toEqual([`network connect ${net} ${cid}`, `network connect ${net} ${cid}`]);
    expect(events(`container=${cid.slice(0, 12)}`, 'event=die')).toEqual([`container die ${a} 0`, `container die ${a} 137`]);
    expect(events(`network=${net}`, 'event=destroy')).toEqual([`network destroy ${net}`]);
    expect(events('label=team=ev', 'event=create')).toEqual([`container create ${a}`]);
    expect(events('image=img', 'event=destroy')).toEqual([`container destroy ${b}`]);
    expect(events('volume=x')).toEqual([]);
    expect(docker('events', '--filter', 'colour=red', '--until', t1).err).toContain("invalid filter 'colour'");

    // Live: a stream started before the event gets it, in Docker's JSON.
    const c = uniq('evc');
    const live = spawn('docker', ['events', '--filter', 'type=container', '--filter', 'event=start', '--format', '{{json .}}'], { env: { ...process.env, DOCKER_HOST: `unix://${socket}` } });
    const line = new Promise<string>((resolve) => { let buf = ''; live.stdout.on('data', (d: Buffer) => { buf += d.toString(); if (buf.includes('\n')) resolve(buf.split('\n')[0]!); }); });
    await new Promise((r) => setTimeout(r, 500));
    expect(docker('run', '-d', '--name', c, 'img').code).toBe(0);
    const e = JSON.parse(await line) as Record<string, unknown>;
    live.kill();
    expect(e).toMatchObject({ Type: 'container', Action: 'start', status: 'start', from: 'img', scope: 'local', Actor: { Attributes: { name: c, image: 'img' } } });
    expect(String(e['timeNano']).slice(0, 10)).toBe(String(e['time']));
    docker('rm', '-f', c);
  });

  it('docker wait blocks until the container stops and prints its exit code; kill -s, run --rm and container prune as dockerd', async () => {
    const w = uniq('wt');
    expect(docker('run', '-d', '--name', w, 'img').code).toBe(0);
    const waiter = spawn('docker', ['wait', w], { env: { ...process.env, DOCKER_HOST: `unix://${socket}` } });
    let out = '';
    waiter.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number | null>((r) => waiter.once('exit', r));
    // docker logs: no output (no process); -f follows until the container stops.
    expect(docker('logs', w)).toEqual({ code: 0, out: '', err: '' });
    const follower = spawn('docker', ['logs', '-f', w], { env: { ...process.env, DOCKER_HOST: `unix://${socket}` } });
    const followed = new Promise<number | null>((r) => follower.once('exit', r));
    await new Promise((r) => setTimeout(r, 700));
    expect(waiter.exitCode).toBe(null); // still waiting: the container runs
    expect(follower.exitCode).toBe(null);
    expect(docker('kill', '-s', 'SIGTERM', w).code).toBe(0);
    expect(await exited).toBe(0);
    expect(await followed).toBe(0);
    expect(out.trim()).toBe('143');
    expect(docker('wait', w).out).toBe('143'); // not running: at once
    expect(docker('inspect', '-f', '{{.State.ExitCode}} {{.State.Status}}', w).out).toBe('143 exited');
    expect(docker('wait', 'no-such-container-x').err).toContain('No such container: no-such-container-x');
    expect(docker('start', w).code).toBe(0);
    expect(docker('kill', '-s', 'NOPE', w).err.split('\n')[0]).toBe('Error response from daemon: Invalid signal: NOPE');
    expect(docker('inspect', '-f', '{{.State.Running}}', w).out).toBe('true');

    // --rm: stop removes it; restart keeps it.
    const r = uniq('rm');
    expect(docker('run', '-d', '--rm', '--name', r, 'img').code).toBe(0);
    expect(docker('restart', r).code).toBe(0);
    expect(docker('inspect', '-f', '{{.State.Running}}', r).out).toBe('true');
    expect(docker('stop', r).code).toBe(0);
    expect(docker('inspect', r).code).not.toBe(0);

    // prune: stopped containers matching the filter go; running ones and others stay.
    const p1 = uniq('pr');
    const p2 = uniq('pr');
    docker('create', '--label', 'prune=me', '--name', p1, 'img');
    docker('create', '--name', p2, 'img');
    docker('run', '-d', '--label', 'prune=me', '--name', `${p1}r`, 'img');
    const id1 = docker('inspect', '-f', '{{.Id}}', p1).out;
    const pr = docker('container', 'prune', '-f', '--filter', 'label=prune=me');
    expect(pr.out).toBe(`Deleted Containers:\n${id1}\n\nTotal reclaimed space: 0B`);
    expect(docker('inspect', p1).code).not.toBe(0);
    expect(docker('inspect', '-f', '{{.State.Running}}', `${p1}r`).out).toBe('true');
    expect(docker('inspect', '-f', '{{.State.Status}}', p2).out).toBe('created');
    docker('rm', '-f', w, p2, `${p1}r`);
  });
  it('docker pause and unpause: recorded, shown, exec refused while paused; their events and exec\'s', () => {
    const c = uniq('pz');
    expect(docker('run', '-d', '--name', c, 'img').code).toBe(0);
    const id = docker('inspect', '-f', '{{.Id}}', c).out;
    const t0 = (Date.now() / 1000).toFixed(3);
    expect(docker('pause', c).code).toBe(0);
    expect(docker('inspect', '-f', '{{.State.Status}} {{.State.Paused}} {{.State.Running}}', c).out).toBe('paused true true');
    expect(docker('ps', '--filter', `name=${c}`, '--format', '{{.Status}}').out).toMatch(/^Up .* \(Paused\)$/);
    expect(docker('pause', c).err.split('\n')[0]).toBe(`Error response from daemon: Container ${id} is already paused`);
    expect(docker('exec', c, 'true').err.split('\n')[0]).toBe(`Error response from daemon: Container ${id} is paused, unpause the container before exec`);
    expect(docker('unpause', c).code).toBe(0);
    expect(docker('unpause', c).err.split('\n')[0]).toBe(`Error response from daemon: Container ${id} is not paused`);
    expect(docker('exec', c, 'sh', '-c', 'exit 3').code).toBe(3);
    const t1 = (Date.now() / 1000 + 0.001).toFixed(3);
    const ev = docker('events', '--since', t0, '--until', t1, '--filter', `container=${c}`, '--format', '{{.Action}} {{index .Actor.Attributes "exitCode"}}').out.split('\n').map((l) => l.trim());
    expect(ev).toEqual(['pause', 'unpause', 'exec_create: sh -c exit 3', 'exec_start: sh -c exit 3', 'exec_die 3']);
    expect(docker('stop', c).code).toBe(0);
    expect(docker('inspect', '-f', '{{.State.Status}} {{.State.Paused}}', c).out).toBe('exited false');
    docker('rm', c);
  });
  it('the gateway network as Docker elects it (gw-priority, then the name), and published ports follow it', async () => {
    const tag = uniq('gp');
    const [na, nb] = [`${tag}-a`, `${tag}-b`];
    docker('network', 'create', '--subnet', '10.35.9.0/24', '-o', `com.docker.network.bridge.name=${uniq('b')}`, na);
    docker('network', 'create', '--subnet', '10.35.8.0/24', '-o', `com.docker.network.bridge.name=${uniq('b')}`, nb);
    const g = uniq('gpc');
    expect(docker('run', '-d', '--network', nb, '-p', '18383:80', '--name', g, 'img').code).toBe(0);
    const key = docker('inspect', '-f', '{{.NetworkSettings.SandboxKey}}', g).out;
    const gw = () => (JSON.parse(execFileSync('nsenter', [`--net=${key}`, 'ip', '-j', 'route', 'show', 'default'], { encoding: 'utf8' })) as { gateway: string }[]).map((r) => r.gateway);
    // A server on one network's address only: the published port reaches it only if the port is on that network.
    const served = async (ip: string) => {
      const server = spawn(process.execPath, ['bin/nsnet.js', '--socket', socket, 'exec', g, '--', 'python3', '-c',
        `import socket\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('${ip}', 80)); s.listen(1); print('ready', flush=True)\nc,_=s.accept(); c.recv(10); c.sendall(b'served'); c.close()`], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise((r) => server.stdout!.once('data', r));
      const got = spawnSync('python3', ['-c', "import socket\ns=socket.create_connection(('127.0.0.1', 18383), timeout=3); s.sendall(b'x'); print(s.recv(100).decode())"], { encoding: 'utf8' });
      server.kill();
      return got.stdout.trim();
    };
    expect(gw()).toEqual(['10.35.8.1']);
    expect(await served('10.35.8.2')).toBe('served');
    // a's name comes first: the default route and the published port move to it.
    expect(docker('network', 'connect', na, g).code).toBe(0);
    expect(gw()).toEqual(['10.35.9.1']);
    expect(await served('10.35.9.2')).toBe('served');
    expect(docker('port', g).out).toBe('80/tcp -> 0.0.0.0:18383');
    // Back to b when a goes, and a rejoined with a lower priority leaves it there.
    expect(docker('network', 'disconnect', na, g).code).toBe(0);
    expect(gw()).toEqual(['10.35.8.1']);
    expect(await served('10.35.8.2')).toBe('served');
    expect(docker('network', 'connect', '--gw-priority', '-1', na, g).code).toBe(0);
    expect(gw()).toEqual(['10.35.8.1']);
    expect(JSON.parse(docker('inspect', '-f', `{{json (index .NetworkSettings.Networks "${na}").GwPriority}}`, g).out)).toBe(-1);
    expect(await served('10.35.8.2')).toBe('served');
    docker('rm', '-f', g);
    expect(docker('network', 'rm', na, nb).code).toBe(0);
  });
  it('endpoint driver options as Docker\'s: the interface name and its sysctls, set inside the container; a host-wide key refused', () => {
    const net = uniq('eo');
    docker('network', 'create', '--subnet', '10.35.10.0/24', '-o', `com.docker.network.bridge.name=${uniq('b')}`, net);
    const c = uniq('eoc');
    expect(docker('run', '-d', '--network', net, '--name', c, 'img').code).toBe(0);
    const other = uniq('eo');
    docker('network', 'create', '--subnet', '10.35.11.0/24', '-o', `com.docker.network.bridge.name=${uniq('b')}`, other);
    const refused = docker('network', 'connect', '--driver-opt', 'com.docker.network.endpoint.sysctls=net.ipv4.conf.eth0.forwarding=0', other, c);
    expect(refused.err.split('\n')[0]).toBe("Error response from daemon: unrecognised network interface sysctl 'net.ipv4.conf.eth0.forwarding=0'; represent 'net.X.Y.ethN.Z=V' as 'net.X.Y.IFNAME.Z=V', 'X' must be 'ipv4', 'ipv6' or 'mpls'");
    expect(docker('inspect', '-f', '{{len .NetworkSettings.Networks}}', c).out).toBe('1');
    expect(docker('network', 'connect', '--driver-opt', 'com.docker.network.endpoint.ifname=data0',
      '--driver-opt', '"com.docker.network.endpoint.sysctls=net.ipv4.conf.IFNAME.log_martians=1,net.ipv4.conf.IFNAME.arp_ignore=2"', other, c).code).toBe(0);
    const key = docker('inspect', '-f', '{{.NetworkSettings.SandboxKey}}', c).out;
    const inside = (...cmd: string[]) => execFileSync('nsenter', [`--net=${key}`, ...cmd], { encoding: 'utf8' }).trim();
    expect(inside('ip', '-br', '-4', 'addr', 'show', 'data0')).toMatch(/^data0@\S+\s+UP\s+10\.35\.11\.2\/24$/);
    expect(inside('cat', '/proc/sys/net/ipv4/conf/data0/log_martians', '/proc/sys/net/ipv4/conf/data0/arp_ignore')).toBe('1\n2');
    expect(inside('cat', '/proc/sys/net/ipv4/conf/eth0/log_martians')).toBe('0');
    expect(JSON.parse(docker('inspect', '-f', `{{json (index .NetworkSettings.Networks "${other}").DriverOpts}}`, c).out))
      .toEqual({ 'com.docker.network.endpoint.ifname': 'data0', 'com.docker.network.endpoint.sysctls': 'net.ipv4.conf.IFNAME.log_martians=1,net.ipv4.conf.IFNAME.arp_ignore=2' });
    docker('rm', '-f', c);
    expect(docker('network', 'rm', net, other).code).toBe(0);
  });

  it('as dockerd: ps PORTS, regex name filters, none alone, a network looked up at start, aliases and swarm scope refused', () => {
    const net = uniq('rx');
    expect(docker('network', 'create', '--subnet', '10.35.70.0/24', '-o', `com.docker.network.bridge.name=${uniq('b')}`, net).code).toBe(0);
    const c = uniq('rc');
    expect(docker('run', '-d', '--name', c, '--network', net, '--hostname', 'rxhost', '--network-alias', c, '-p', '127.0.0.1::80', 'busybox').code).toBe(0);
    // docker ps's PORTS column comes from the list's Ports.
    expect(docker('ps', '--filter', `name=^${c}$`, '--format', '{{.Ports}}').out).toMatch(/^127\.0\.0\.1:\d+->80\/tcp$/);
    // name filters are regular expressions, as dockerd's filters.Match.
    expect(docker('ps', '-q', '--filter', `name=^${c.slice(0, -1)}$`).out).toBe('');
    expect(docker('network', 'ls', '-q', '--filter', `name=^${net}$`).out).toHaveLength(12);
    expect(docker('network', 'ls', '-q', '--filter', `name=^${net.slice(1)}`).out).toBe('');
    // DNSNames: name, aliases, short ID, hostname, each once.
    const names = JSON.parse(docker('inspect', '-f', `{{json (index .NetworkSettings.Networks "${net}").DNSNames}}`, c).out) as string[];
    expect(names).toEqual([c, docker('inspect', '-f', '{{.Id}}', c).out.slice(0, 12), 'rxhost']);
    // none shares a container with no other network, either way round.
    const lone = uniq('rn');
    expect(docker('create', '--name', lone, '--network', 'none', 'busybox').code).toBe(0);
    expect(docker('network', 'connect', net, lone).err).toContain('container cannot be connected to multiple networks with one of the networks in private (none) mode');
    expect(docker('network', 'connect', 'none', c).err).toContain('private (none) mode');
    // A network-scoped alias needs a user-defined network.
    expect(docker('network', 'connect', '--alias', 'x', 'bridge', lone).err).toContain('network-scoped alias is supported only for containers in user defined networks');
    // A missing network is looked up at start, not at create (a 404 from create reads as a missing image to the CLI).
    const later = uniq('rl');
    const early = uniq('re');
    expect(docker('create', '--name', early, '--network', later, 'busybox').code).toBe(0);
    const start = docker('start', early);
    expect([start.code, start.err]).toEqual([1, expect.stringContaining(`network ${later} not found`)]);
    expect(docker('network', 'create', '--subnet', '10.35.71.0/24', '-o', `com.docker.network.bridge.name=${uniq('b')}`, later).code).toBe(0);
    expect(docker('start', early).code).toBe(0);
    expect(docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${later}").IPAddress}}`, early).out).toMatch(/^10\.35\.71\./);
    // Swarm-only requests, and a host port out of range, are refused at once.
    expect(docker('network', 'create', '--scope', 'swarm', uniq('rs')).err).toContain('cannot create a swarm scoped network when swarm is not active');
    expect(docker('create', '-p', '99999:80', 'busybox').err).toMatch(/invalid (port specification|hostPort)/);
    for (const x of [c, lone, early]) docker('rm', '-f', x);
    expect(docker('network', 'rm', net, later).code).toBe(0);
  });

  it('an internal network publishes no port; exec refuses another user and runs in the working directory asked', () => {
    const net = uniq('ri');
    expect(docker('network', 'create', '--internal', '--subnet', '10.35.72.0/24', '-o', `com.docker.network.bridge.name=${uniq('b')}`, net).code).toBe(0);
    const c = uniq('ri');
    expect(docker('run', '-d', '--name', c, '--network', net, '-p', '80', 'busybox').code).toBe(0);
    expect(docker('port', c).out).toBe('');
    expect(docker('exec', '-u', 'nobody', c, 'id').err).toContain('user "nobody" is not supported');
    expect(docker('exec', '-w', '/usr', c, 'pwd').out).toBe('/usr');
    docker('rm', '-f', c);
    expect(docker('network', 'rm', net).code).toBe(0);
  });

  it('docker ps filters as dockerd: publish, expose, ancestor, before, since, exited, health, is-task, volume', () => {
    const net = uniq('pf');
    expect(docker('network', 'create', '--subnet', '10.35.73.0/24', '-o', `com.docker.network.bridge.name=${uniq('b')}`, net).code).toBe(0);
    const [a, b] = [uniq('pa'), uniq('pb')];
    expect(docker('run', '-d', '--name', a, '--network', net, '-p', '127.0.0.1::80', '--expose', '90', 'busybox').code).toBe(0);
    expect(docker('run', '-d', '--name', b, '--network', net, 'alpine:3').code).toBe(0);
    const hostPort = docker('port', a, '80').out.split(':').at(-1)!;
    const ours = `name=^(${a}|${b})$`;
    const q = (...f: string[]) => docker('ps', '-a', '--format', '{{.Names}}', '--filter', ours, ...f.flatMap((x) => ['--filter', x])).out.split('\n').filter(Boolean).sort();
    expect(q()).toEqual([a, b].sort());
    expect(q(`publish=${hostPort}`)).toEqual([a]);
    expect(q(`publish=${hostPort}/udp`)).toEqual([]);
    expect(q('expose=90')).toEqual([a]);
    expect(q('expose=79-80/tcp')).toEqual([a]);
    expect(q('expose=81')).toEqual([]);
    expect(q('ancestor=busybox')).toEqual([a]);
    expect(q('ancestor=alpine:3')).toEqual([b]);
    expect(q(`before=${b}`)).toEqual([a]);
    expect(q(`since=${a}`)).toEqual([b]);
    expect(q('health=none')).toEqual([a, b].sort());
    expect(q('health=healthy')).toEqual([]);
    expect(q('is-task=true')).toEqual([]);
    expect(q('is-task=false')).toEqual([a, b].sort());
    expect(q('volume=data')).toEqual([]);
    expect(docker('stop', b).code).toBe(0);
    expect(q('exited=0')).toEqual([b]);
    expect(q('exited=1')).toEqual([]);
    // Without -a only status lists stopped containers, as dockerd: since, before and exited do not.
    const running = (...f: string[]) => docker('ps', '--format', '{{.Names}}', '--filter', ours, ...f.flatMap((x) => ['--filter', x])).out.split('\n').filter(Boolean).sort();
    expect(running(`since=${a}`)).toEqual([]);
    expect(running('exited=0')).toEqual([]);
    expect(running('status=exited')).toEqual([b]);
    expect(docker('ps', '--filter', 'before=nosuch').err).toContain('No such container: nosuch');
    docker('rm', '-f', a, b);
    expect(docker('network', 'rm', net).code).toBe(0);
  });

  it('docker rm --link removes only the parent\'s link; a container\'s own name is no link name', () => {
    const [child, parent] = [uniq('lc'), uniq('lp')];
    expect(docker('run', '-d', '--name', child, 'busybox').code).toBe(0);
    expect(docker('run', '-d', '--name', parent, '--link', `${child}:db`, 'busybox').code).toBe(0);
    const refused = docker('rm', '--link', child);
    expect([refused.code, refused.err]).toEqual([1, expect.stringContaining('Conflict, cannot remove the default link name of the container')]);
    expect(docker('inspect', '-f', '{{.Name}}', child).out).toBe(`/${child}`);
    expect(docker('rm', '--link', `/${parent}/db`).code).toBe(0);
    expect(docker('inspect', '-f', '{{json .HostConfig.Links}}', parent).out).not.toContain('db');
    expect(docker('inspect', '-f', '{{.State.Running}}', child, parent).out).toBe('true\ntrue');
    docker('rm', '-f', child, parent);
  });
});
