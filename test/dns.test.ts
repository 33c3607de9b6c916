// Embedded DNS and docker exec, driven by the real docker CLI against a real
// `nsnet daemon`. The only upstream DNS server is the fixture the test runs
// in a namespace it made (test/fixtures/dns-upstream.mjs); the daemon's
// --dns points at it, so no query ever leaves the machine.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownershipFor } from '../src/driver-api/ownership.js';
import { tableName } from '../src/firewall/ruleset.js';
import { releaseForwardingClaims } from '../src/firewall/firewall.js';
import { gate, tempDir, uniq } from './helpers.js';

const dockerBin = spawnSync('docker', ['--version']).status === 0;
const why = !gate.ok ? gate.why : !dockerBin ? 'needs the docker CLI on PATH' : '';
const QUERY = resolve('test/fixtures/dns-query.mjs');
const UPSTREAM = resolve('test/fixtures/dns-upstream.mjs');

interface Reply { rcode?: string; tc?: boolean; aa?: boolean; answers?: string[]; ttl?: number; ms?: number; timeout?: boolean }

describe.skipIf(!!why)(`embedded DNS and exec through the docker CLI ${why}`, () => {
  const dir = tempDir('dns');
  const socket = `${dir.path}/nsnet.sock`;
  const bridgeName = uniq('dd');
  const upNs = uniq('up');
  const upHost = uniq('uh');
  const upLog: string[] = [];
  let upstream: ChildProcess;
  let daemon: ChildProcess | undefined;

  const docker = (...args: string[]) => {
    const r = spawnSync('docker', args, { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: `unix://${socket}` } });
    return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
  };
  const ok = (...args: string[]) => {
    const r = docker(...args);
    expect(r.err, `docker ${args.join(' ')}`).toBe('');
    expect(r.code).toBe(0);
    return r.out;
  };
  /** One query from inside the container, to its resolver. */
  const query = (ctr: string, server: string, name: string, type = 'A', proto = 'udp'): Reply =>
    JSON.parse(docker('exec', ctr, process.execPath, QUERY, server, name, type, proto).out || '{}') as Reply;
  /** docker runs through spawnSync, which holds the event loop: let the upstream's log lines in. */
  const settle = () => new Promise((r) => setTimeout(r, 200));
  const hosts = (ctr: string, name: string) => docker('exec', ctr, 'getent', 'hosts', name);
  const ip = (ctr: string, net: string) => ok('inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, ctr);
  const net = (name: string, subnet: string, ...extra: string[]) =>
    ok('network', 'create', '--subnet', subnet, '-o', `com.docker.network.bridge.name=${uniq('cb')}`, ...extra, name);

  const startDaemon = async () => {
    daemon = spawn(process.execPath, ['bin/nsnet.js', 'daemon', '--socket', socket, '--data-dir', `${dir.path}/data`, '--bridge-name', bridgeName,
      '--bridge-subnet', '10.37.0.0/24', '--dns', '10.37.250.2'], { stdio: ['ignore', 'ignore', 'inherit'] });
    for (let i = 0; i < 100 && docker('version').code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
  };
  const stopDaemon = async () => {
    const d = daemon;
    daemon = undefined;
    if (!d || d.exitCode !== null) return;
    d.kill('SIGTERM');
    await new Promise((r) => d.once('exit', r));
  };

  beforeAll(async () => {
    // The upstream: a namespace with a veth to the host; 10.37.250.2 answers, 10.37.250.3 never does.
    const ipc = (...a: string[]) => expect(spawnSync('ip', a, { encoding: 'utf8' }).stderr).toBe('');
    ipc('netns', 'add', upNs);
    ipc('link', 'add', upHost, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', upNs);
    ipc('addr', 'add', '10.37.250.1/24', 'dev', upHost);
    ipc('link', 'set', upHost, 'up');
    ipc('-n', upNs, 'addr', 'add', '10.37.250.2/24', 'dev', 'eth0');
    ipc('-n', upNs, 'addr', 'add', '10.37.250.3/24', 'dev', 'eth0');
    ipc('-n', upNs, 'addr', 'add', '10.37.250.4/24', 'dev', 'eth0'); // answers REFUSED
    ipc('-n', upNs, 'addr', 'add', '10.37.250.5/24', 'dev', 'eth0'); // nothing listens: ICMP port unreachable
    ipc('-n', upNs, 'link', 'set', 'eth0', 'up');
    ipc('-n', upNs, 'link', 'set', 'lo', 'up');
    upstream = spawn('ip', ['netns', 'exec', upNs, process.execPath, UPSTREAM, '10.37.250.2', '10.37.250.3', '10.37.250.4'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((r) => {
      upstream.stdout!.on('data', (d: Buffer) => {
        for (const l of d.toString().split('\n').filter(Boolean)) (l === 'ready' ? r() : upLog.push(l));
      });
    });
    await startDaemon();
    expect(docker('version').code).toBe(0);
  });

  afterAll(async () => {
    for (const c of docker('ps', '-aq').out.split('\n').filter(Boolean)) docker('rm', '-f', c);
    docker('network', 'prune', '-f');
    await stopDaemon();
    upstream?.kill();
    spawnSync('ip', ['link', 'del', bridgeName]);
    spawnSync('ip', ['link', 'del', upHost]);
    spawnSync('ip', ['netns', 'del', upNs]);
    spawnSync('nft', ['delete', 'table', 'inet', tableName(ownershipFor(`${dir.path}/data`).tag)]);
    await releaseForwardingClaims(ownershipFor(`${dir.path}/data`).tag);
    dir.remove();
  });

  it('names, aliases, name.network, shared aliases in rotation, PTR, empty AAAA; inspect shows Aliases and DNSNames', async () => {
    net('app', '10.37.1.0/24');
    ok('run', '-d', '--network', 'app', '--name', 'ca', 'img');
    ok('run', '-d', '--network', 'app', '--network-alias', 'db', '--network-alias', 'svc', '--name', 'cb', 'img');
    ok('run', '-d', '--network', 'app', '--network-alias', 'svc', '--name', 'cc', 'img');
    const [ipa, ipb, ipc] = [ip('ca', 'app'), ip('cb', 'app'), ip('cc', 'app')];
    expect(ok('exec', 'ca', 'cat', '/etc/resolv.conf')).toMatch(/^nameserver 10\.37\.1\.1\n(search .*\n)?options .*ndots:0/);
    expect(hosts('ca', 'cb').out.split(/\s+/)).toEqual([ipb, 'cb']);
    expect(hosts('ca', 'db').out.split(/\s+/)).toEqual([ipb, 'db']);
    expect(hosts('cc', 'ca.app').out.split(/\s+/)).toEqual([ipa, 'ca.app']);
    expect(hosts('ca', 'CB').out.split(/\s+/)[0]).toBe(ipb); // names are case-insensitive

    const r1 = query('ca', '10.37.1.1', 'svc');
    const r2 = query('ca', '10.37.1.1', 'svc');
    expect(r1).toMatchObject({ rcode: 'NOERROR', aa: true, ttl: 600 });
    expect([...r1.answers!].sort()).toEqual([ipb, ipc].sort());
    expect(r2.answers).toEqual([...r1.answers!].reverse()); // rotated

    expect(query('ca', '10.37.1.1', `${ipb.split('.').reverse().join('.')}.in-addr.arpa`, 'PTR').answers).toEqual(['cb.app']);
    expect(hosts('ca', ipb).out.split(/\s+/)).toEqual([ipb, 'cb.app']);

    await settle();
    const before = upLog.length;
    expect(query('ca', '10.37.1.1', 'cb', 'AAAA')).toMatchObject({ rcode: 'NOERROR', answers: [] });
    await settle();
    expect(upLog.slice(before)).toEqual([]); // not forwarded

    const bid = ok('inspect', '-f', '{{.Id}}', 'cb');
    const s = JSON.parse(ok('inspect', '-f', '{{json .NetworkSettings.Networks.app}}', 'cb')) as { Aliases: string[]; DNSNames: string[] };
    expect(s.Aliases).toEqual(['db', 'svc']);
    expect(s.DNSNames).toEqual(['cb', 'db', 'svc', bid.slice(0, 12)]);
    // The short ID through the resolver itself: glibc answers a name of
    // digits alone (1 ID in 280) as a failed numeric address, never asking DNS.
    expect(query('ca', '10.37.1.1', bid.slice(0, 12)).answers).toEqual([ipb]);
    if (/[a-f]/.test(bid.slice(0, 12))) expect(hosts('ca', bid.slice(0, 12)).out.split(/\s+/)[0]).toBe(ipb);
  });

  it('scoping: a name on another network does not resolve; connect --alias adds it at once, disconnect removes it', () => {
    net('other', '10.37.2.0/24');
    ok('run', '-d', '--network', 'other', '--name', 'cx', 'img');
    expect(hosts('cx', 'cb').code).toBe(2);
    expect(query('cx', '10.37.2.1', 'cb').rcode).toBe('NXDOMAIN'); // forwarded: the upstream does not know it either
    // Asking another network's resolver (routed through the host) tells nothing: not a name, not an address.
    expect(query('cx', '10.37.1.1', 'cb')).toMatchObject({ rcode: 'REFUSED', answers: [] });
    expect(query('cx', '10.37.1.1', `${ip('cb', 'app').split('.').reverse().join('.')}.in-addr.arpa`, 'PTR')).toMatchObject({ rcode: 'REFUSED', answers: [] });
    expect(hosts('ca', 'cx').code).toBe(2);
    ok('network', 'connect', '--alias', 'ex', 'app', 'cx');
    expect(hosts('ca', 'ex').out.split(/\s+/)).toEqual([ip('cx', 'app'), 'ex']);
    expect(hosts('cx', 'cb').out.split(/\s+/)[0]).toBe(ip('cb', 'app')); // x now shares app with b
    ok('network', 'disconnect', 'app', 'cx');
    expect(hosts('ca', 'ex').code).toBe(2);
    expect(hosts('cx', 'cb').code).toBe(2);
  });

  it('a name on two of the asker\'s networks: the answer comes from the first in gateway order (gw-priority, then the name), not both', () => {
    ok('run', '-d', '--network', 'other', '--network-alias', 'dup', '--name', 'cdo', 'img');
    ok('run', '-d', '--network', 'app', '--network-alias', 'dup', '--name', 'cda', 'img');
    ok('run', '-d', '--network', 'app', '--name', 'cq', 'img');
    ok('network', 'connect', 'other', 'cq');
    expect(query('cq', '10.37.1.1', 'dup').answers).toEqual([ip('cda', 'app')]);
    ok('network', 'disconnect', 'other', 'cq');
    ok('network', 'connect', '--gw-priority', '5', 'other', 'cq');
    expect(query('cq', '10.37.1.1', 'dup').answers).toEqual([ip('cdo', 'other')]);
    ok('rm', '-f', 'cdo', 'cda', 'cq');
  });

  it('--link on a user network: the alias resolves only for the linking container', () => {
    ok('run', '-d', '--network', 'app', '--link', 'cb:backend', '--name', 'cl', 'img');
    expect(hosts('cl', 'backend').out.split(/\s+/)[0]).toBe(ip('cb', 'app'));
    expect(hosts('ca', 'backend').code).toBe(2);
  });

  it('forwarding: other names go to --dns over UDP, TC makes the client retry over TCP and that goes upstream over TCP', async () => {
    expect(hosts('ca', 'ext.nsnet.test').out.split(/\s+/)).toEqual(['192.0.2.7', 'ext.nsnet.test']);
    const udp = query('ca', '10.37.1.1', 'big.nsnet.test');
    expect(udp).toMatchObject({ rcode: 'NOERROR', tc: true, answers: [] });
    const tcp = query('ca', '10.37.1.1', 'big.nsnet.test', 'A', 'tcp');
    expect(tcp.answers).toHaveLength(60);
    await settle();
    expect(upLog).toEqual(expect.arrayContaining(['q udp big.nsnet.test A', 'q tcp big.nsnet.test A']));
    // An upstream that refuses, and one whose port is closed, are passed over at once for the next.
    ok('run', '-d', '--network', 'app', '--dns', '10.37.250.5', '--dns', '10.37.250.4', '--dns', '10.37.250.2', '--name', 'fo', 'img');
    const over = query('fo', '10.37.1.1', 'ext.nsnet.test');
    expect(over).toMatchObject({ rcode: 'NOERROR', answers: ['192.0.2.7'] });
    expect(over.ms!).toBeLessThan(1000);
    // A container's own --dns replaces the daemon's upstreams for it (the silent one: SERVFAIL after the timeout).
    ok('run', '-d', '--network', 'app', '--dns', '10.37.250.3', '--name', 'slow', 'img');
    expect(ok('exec', 'slow', 'cat', '/etc/resolv.conf')).toMatch(/^nameserver 10\.37\.1\.1\n/);
  });

  it('an upstream that never answers does not delay local names', async () => {
    // A forward to the silent upstream is in flight while local names are asked.
    const pending = spawn('docker', ['exec', 'slow', process.execPath, QUERY, '10.37.1.1', 'never.nsnet.test', 'A'],
      { env: { ...process.env, DOCKER_HOST: `unix://${socket}` }, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    pending.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 5; i++) {
      const r = query('slow', '10.37.1.1', 'ca');
      expect(r.answers).toEqual([ip('ca', 'app')]);
      expect(r.ms!).toBeLessThan(100);
    }
    await new Promise((r) => pending.once('exit', r));
    await settle();
    expect(JSON.parse(out)).toMatchObject({ rcode: 'SERVFAIL' });
    expect(upLog).toContain('q silent never.nsnet.test');
  });

  it('an IPv6-only network has its resolver on the IPv6 gateway', () => {
    net('sixonly', 'fd37:6::/64', '--ipv4=false', '--ipv6');
    ok('run', '-d', '--network', 'sixonly', '--name', 's1', 'img');
    ok('run', '-d', '--network', 'sixonly', '--name', 's2', 'img');
    expect(ok('exec', 's1', 'cat', '/etc/resolv.conf')).toMatch(/^nameserver fd37:6::1\n/);
    const v6 = ok('inspect', '-f', '{{(index .NetworkSettings.Networks "sixonly").GlobalIPv6Address}}', 's2');
    expect(query('s1', 'fd37:6::1', 's2', 'AAAA').answers).toEqual([v6]);
    expect(hosts('s1', 's2').out.split(/\s+/)).toEqual([v6, 's2']);
    ok('rm', '-f', 's1', 's2');
  });

  it('internal network: local names answer, nothing is forwarded', async () => {
    net('inner', '10.37.3.0/24', '--internal');
    ok('run', '-d', '--network', 'inner', '--name', 'i1', 'img');
    ok('run', '-d', '--network', 'inner', '--name', 'i2', 'img');
    expect(hosts('i1', 'i2').out.split(/\s+/)).toEqual([ip('i2', 'inner'), 'i2']);
    await settle();
    const before = upLog.length;
    // libnetwork: a sandbox that cannot proxy answers SERVFAIL.
    expect(query('i1', '10.37.3.1', 'ext.nsnet.test')).toMatchObject({ rcode: 'SERVFAIL', answers: [] });
    expect(hosts('i1', 'ext.nsnet.test').code).toBe(2);
    await settle();
    expect(upLog.slice(before)).toEqual([]);
  });

  it('docker rename: the new name resolves at once, the old one no longer and is free again; clashes refused', () => {
    ok('rename', 'i2', 'i2new');
    const addr = ip('i2new', 'inner');
    expect(ok('inspect', '-f', '{{.Name}}', 'i2new')).toBe('/i2new');
    expect((JSON.parse(ok('inspect', '-f', '{{json .NetworkSettings.Networks.inner.DNSNames}}', 'i2new')) as string[])[0]).toBe('i2new');
    expect(query('i1', '10.37.3.1', 'i2new').answers).toEqual([addr]);
    // Internal network: a name the records do not hold is SERVFAIL, never forwarded.
    expect(query('i1', '10.37.3.1', 'i2')).toMatchObject({ rcode: 'SERVFAIL', answers: [] });
    expect(query('i1', '10.37.3.1', `${addr.split('.').reverse().join('.')}.in-addr.arpa`, 'PTR').answers).toEqual(['i2new.inner']);
    expect(docker('rename', 'i2new', 'i1').err).toMatch(/^Error response from daemon: Conflict\. The container name "\/i1" is already in use by container "[0-9a-f]{64}"/);
    // (the CLI adds its own "failed to rename" line)
    expect(docker('rename', 'i2new', 'i2new').err.split('\n')[0]).toBe('Error response from daemon: Renaming a container with the same name as its current name');
    // The old name is free on the network again (the endpoint was renamed too).
    ok('run', '-d', '--network', 'inner', '--name', 'i2', 'img');
    expect(query('i1', '10.37.3.1', 'i2').answers).toEqual([ip('i2', 'inner')]);
  });

  it('records follow stop/start at once and survive a daemon restart', async () => {
    ok('stop', 'cb');
    expect(hosts('ca', 'cb').code).toBe(2);
    expect(query('ca', '10.37.1.1', 'svc').answers).toEqual([ip('cc', 'app')]);
    ok('start', 'cb');
    expect(hosts('ca', 'cb').out.split(/\s+/)[0]).toBe(ip('cb', 'app'));
    ok('run', '-d', '--network', 'host', '--name', 'hc', 'img');
    // A quiet exec stream (its connection taken over) does not hold the daemon's shutdown.
    const quiet = spawn('docker', ['exec', 'ca', 'sleep', '31.7'], { env: { ...process.env, DOCKER_HOST: `unix://${socket}` }, stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 700));
    const stopped = stopDaemon().then(() => 'stopped');
    expect(await Promise.race([stopped, new Promise((r) => setTimeout(() => r('still running'), 15_000))])).toBe('stopped');
    quiet.kill();
    spawnSync('pkill', ['-f', '^sleep 31.7$']);
    await startDaemon();
    // A host-mode container's SandboxKey still opens after the daemon's process changed.
    expect(docker('exec', 'hc', 'true').code).toBe(0);
    ok('rm', '-f', 'hc');
    expect(hosts('ca', 'db').out.split(/\s+/)).toEqual([ip('cb', 'app'), 'db']);
    expect(hosts('ca', 'ext.nsnet.test').out.split(/\s+/)[0]).toBe('192.0.2.7');
  });

  it('docker exec: ip addr shows the container\'s interfaces, exit codes and stderr come through, detached exec runs', () => {
    expect(ok('exec', 'ca', 'ip', '-br', 'addr', 'show', 'eth0')).toContain(`${ip('ca', 'app')}/24`);
    const bad = docker('exec', 'ca', 'ip', 'link', 'show', 'nosuchdev');
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('nosuchdev');
    expect(docker('exec', 'ca', 'sh', '-c', 'exit 7').code).toBe(7);
    expect(ok('exec', '-e', 'GREETING=hi there', 'ca', 'printenv', 'GREETING')).toBe('hi there');
    // The container's hostname, in a UTS namespace of the exec's own; the host's stays.
    expect(ok('exec', 'ca', 'cat', '/proc/sys/kernel/hostname')).toBe(ok('inspect', '-f', '{{.Config.Hostname}}', 'ca'));
    expect(readFileSync('/proc/sys/kernel/hostname', 'utf8').trim()).toBe(hostname());
    expect(docker('exec', '-d', 'ca', 'true').code).toBe(0);
    expect(docker('exec', 'nosuch', 'true').err).toContain('No such container: nosuch');
    ok('stop', 'cx');
    expect(docker('exec', 'cx', 'true').err).toMatch(/is not running/);
  });

  it('exec start without an upgrade: 200 with the same multiplexed frames; exec inspect has the exit code', async () => {
    const call = (method: string, path: string, body?: unknown) => new Promise<{ status: number; type: string; data: Buffer }>((res, rej) => {
      const req = request({ socketPath: socket, method, path, headers: { 'Content-Type': 'application/json' } }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => res({ status: r.statusCode ?? 0, type: String(r.headers['content-type']), data: Buffer.concat(chunks) }));
      });
      req.on('error', rej);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
    const created = await call('POST', '/v1.50/containers/ca/exec', { Cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'], AttachStdout: true, AttachStderr: true });
    expect(created.status).toBe(201);
    const id = (JSON.parse(created.data.toString()) as { Id: string }).Id;
    const started = await call('POST', `/v1.50/exec/${id}/start`, { Detach: false, Tty: false });
    expect(started).toMatchObject({ status: 200, type: 'application/vnd.docker.multiplexed-stream' });
    const frames: [number, string][] = [];
    for (let b = started.data; b.length >= 8; b = b.subarray(8 + b.readUInt32BE(4))) frames.push([b[0]!, b.subarray(8, 8 + b.readUInt32BE(4)).toString()]);
    expect(frames.sort()).toEqual([[1, 'out\n'], [2, 'err\n']]);
    const info = JSON.parse((await call('GET', `/v1.50/exec/${id}/json`)).data.toString()) as { Running: boolean; ExitCode: number };
    expect(info).toMatchObject({ Running: false, ExitCode: 3 });
    expect((await call('POST', '/v1.50/containers/ca/exec', { Cmd: [] })).status).toBe(400);
    expect((await call('GET', '/v1.50/exec/nosuchexec/json')).status).toBe(404);
  });

  it('resolv.conf: --dns-search and --dns-option are written, ndots:0 only when the container set no ndots', async () => {
    ok('run', '-d', '--network', 'app', '--dns-search', 'corp.example', '--dns-option', 'ndots:2', '--dns-option', 'timeout:1', '--name', 'opts', 'img');
    expect(ok('exec', 'opts', 'cat', '/etc/resolv.conf')).toBe('nameserver 10.37.1.1\nsearch corp.example\noptions ndots:2 timeout:1');
    // With ndots set, a single-label name the records lack is an empty answer, not forwarded (libnetwork's NdotsSet).
    const before = upLog.length;
    expect(query('opts', '10.37.1.1', 'nosuchhost')).toMatchObject({ rcode: 'NOERROR', answers: [] });
    await settle();
    expect(upLog.slice(before)).toEqual([]);
    ok('run', '-d', '--network', 'app', '--dns-option', 'attempts:2', '--name', 'opts2', 'img');
    expect(ok('exec', 'opts2', 'cat', '/etc/resolv.conf')).toMatch(/\noptions attempts:2 ndots:0$/);
    // The default bridge has no embedded DNS: the container keeps its --dns as nameserver.
    ok('run', '-d', '--dns', '10.37.250.2', '--name', 'onbridge', 'img');
    expect(ok('exec', 'onbridge', 'cat', '/etc/resolv.conf')).toMatch(/^nameserver 10\.37\.250\.2$/m);
    // Nor does a network whose bridge has no address of nsnet's (inhibit_ipv4), where the resolver would listen.
    net('noaddr', '10.37.9.0/24', '-o', 'com.docker.network.bridge.inhibit_ipv4=true');
    ok('run', '-d', '--network', 'noaddr', '--dns', '10.37.250.2', '--name', 'noaddr1', 'img');
    expect(ok('exec', 'noaddr1', 'cat', '/etc/resolv.conf')).toMatch(/^nameserver 10\.37\.250\.2$/m);
    expect(ok('exec', 'noaddr1', 'cat', '/etc/resolv.conf')).not.toMatch(/10\.37\.9\.1/);
  });
});
