// bench/dns.ts (npm run bench:dns): nsnet's embedded resolver against
// aardvark-dns (Debian 1.4) serving the same records on the same gateway in
// the same run. Load from dnsperf (Debian 2.10) run inside a container's
// namespace, so both resolvers see a real container as the asker. The
// upstream for forwarded names is test/fixtures/dns-upstream.mjs in a
// namespace this run makes; aardvark runs in a private mount namespace whose
// /etc/resolv.conf names that upstream, so neither resolver can reach a real
// one. Also: time from a container's start to its name resolving.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decode, encode } from 'dns-packet';
import { Daemon } from '../dist/daemon/daemon.js';
import { daemonConfig } from '../dist/daemon/config.js';
import { createNetwork } from '../dist/daemon/networks.js';
import { ownershipFor } from '../dist/driver-api/ownership.js';
import { tableName } from '../dist/firewall/ruleset.js';
import { releaseForwardingClaims } from '../dist/firewall/firewall.js';
import { machine, table, writeResult } from './stats.js';

const AARDVARK = '/usr/lib/podman/aardvark-dns';
const SECONDS = Number(process.env['SECONDS_PER_RUN'] ?? 5);
const CONTAINERS = 50;
const for_ = (bin: string) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', bin]).status === 0 || existsSync(bin);
if (!for_('dnsperf') || !existsSync(AARDVARK)) {
  console.error('bench:dns needs dnsperf and aardvark-dns (bash scripts/install.sh dns)');
  process.exit(2);
}

const tag = (process.pid % 10000).toString();
const dir = mkdtempSync(join(tmpdir(), 'nsnet-benchdns-'));
const upNs = `ntbu${tag}`;
const upHost = `ntbh${tag}`;
const bridge = `ntbd${tag}`;
const ip = (...a: string[]) => {
  const r = spawnSync('ip', a, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${a.join(' ')}: ${r.stderr}`);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let upstream: ChildProcess | undefined;
let aardvarkPid = 0;
const d = await Daemon.start(daemonConfig({ dataDir: join(dir, 'data'), socket: join(dir, 's'), bridge: { name: bridge, subnet: '10.40.0.0/24' }, dns: ['10.40.250.2'] }));
try {
  ip('netns', 'add', upNs);
  ip('link', 'add', upHost, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', upNs);
  ip('addr', 'add', '10.40.250.1/24', 'dev', upHost);
  ip('link', 'set', upHost, 'up');
  ip('-n', upNs, 'addr', 'add', '10.40.250.2/24', 'dev', 'eth0');
  ip('-n', upNs, 'addr', 'add', '10.40.250.3/24', 'dev', 'eth0');
  ip('-n', upNs, 'link', 'set', 'eth0', 'up');
  upstream = spawn('ip', ['netns', 'exec', upNs, process.execPath, resolve('test/fixtures/dns-upstream.mjs'), '10.40.250.2', '10.40.250.3'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => upstream!.stdout!.once('data', r));
  upstream.stdout!.resume(); // its query log is not needed here

  const net = await createNetwork(d.controller, { Name: 'benchnet', IPAM: { Config: [{ Subnet: '10.40.1.0/24' }] }, Options: { 'com.docker.network.bridge.name': `${bridge}u` } });
  await d.networksChanged();
  const gw = net.info().pools4[0]!.gateway!;
  const start = async (name: string, aliases: string[] = []) => {
    d.createContainer(name, { Image: 'x', NetworkingConfig: { EndpointsConfig: { benchnet: { Aliases: aliases } } } });
    return d.startContainer(name);
  };
  for (let i = 0; i < CONTAINERS; i++) await start(`c${i}`, i < 5 ? ['shared'] : []);
  const load = await start('load');

  // aardvark: the same records, on the same gateway, port 5533.
  const adir = join(dir, 'aardvark');
  mkdirSync(adir);
  const lineOf = (r: ReturnType<typeof d.container>) => {
    const s = r.NetworkSettings.Networks['benchnet']!;
    return `${r.Id} ${s.IPAddress}  ${(s.DNSNames ?? []).join(',')}\n`;
  };
  writeFileSync(join(adir, 'benchnet'), `${gw}\n${[...d.containers.values()].map(lineOf).join('')}`);
  writeFileSync(join(dir, 'resolv.conf'), 'nameserver 10.40.250.2\n');
  const a = spawnSync('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind -- "$1" /etc/resolv.conf && shift && exec "$@"', 'sh',
    join(dir, 'resolv.conf'), AARDVARK, '--config', adir, '-p', '5533', 'run'], { encoding: 'utf8', timeout: 10_000 });
  if (a.status !== 0) throw new Error(`aardvark-dns: ${a.stderr}`);
  aardvarkPid = Number(readFileSync(join(adir, 'aardvark.pid'), 'utf8'));

  const key = load.NetworkSettings.SandboxKey;
  const perf = async (port: number, names: string[], tcp = false) => {
    const file = join(dir, `q-${port}-${names.length}.txt`);
    writeFileSync(file, names.map((n) => `${n} A\n`).join(''));
    // Not spawnSync: the daemon runs in this process and must keep answering.
    const child = spawn('nsenter', [`--net=${key}`, '--', 'dnsperf', '-s', gw, '-p', String(port), '-d', file, '-l', String(SECONDS), '-c', '4', '-q', '64', '-t', '2', '-v',
      ...(tcp ? ['-m', 'tcp'] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    await new Promise((r) => child.once('close', r));
    const r = { stdout: Buffer.concat(chunks).toString('utf8') };
    const lat = [...r.stdout.matchAll(/^> (\S+) \S+ \S+ ([\d.]+)$/gm)];
    const ok = lat.filter((m) => m[1] === 'NOERROR').length;
    const ms = lat.map((m) => Number(m[2]) * 1000).sort((x, y) => x - y);
    const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] ?? NaN;
    const num = (re: RegExp) => Number(re.exec(r.stdout)?.[1] ?? NaN);
    return {
      qps: num(/Queries per second:\s+([\d.]+)/), sent: num(/Queries sent:\s+(\d+)/), lost: num(/Queries lost:\s+(\d+)/),
      noerror: ok, failed: lat.length - ok, p50_ms: q(0.5), p99_ms: q(0.99),
    };
  };
  const local = Array.from({ length: CONTAINERS }, (_, i) => `c${i}`);
  const results: Record<string, Record<string, Awaited<ReturnType<typeof perf>>>> = {};
  // Alternating, so drift of the machine falls on both.
  for (const [label, names] of [['local', local], ['forwarded', ['ext.nsnet.test']]] as const) {
    results[label] = {};
    for (const [impl, port] of [['nsnet', 53], ['aardvark', 5533], ['nsnet#2', 53], ['aardvark#2', 5533]] as const) results[label]![impl] = await perf(port, [...names]);
  }

  // Start to resolvable: a new container's name, asked from the host every 2 ms until it answers.
  const askOnce = (name: string, port: number) => new Promise<boolean>((res) => {
    const s = createSocket('udp4');
    const t = setTimeout(() => { s.close(); res(false); }, 20);
    s.on('message', (m) => { clearTimeout(t); s.close(); res((decode(m).answers ?? []).length > 0); });
    s.send(encode({ type: 'query', id: 1, questions: [{ type: 'A', name }] }), port, gw);
  });
  const untilResolves = async (name: string, port: number, t0: number) => {
    while (!(await askOnce(name, port))) await sleep(2);
    return performance.now() - t0;
  };
  const startToName: Record<string, number[]> = { nsnet: [], aardvark: [] };
  for (let i = 0; i < 10; i++) {
    let t0 = performance.now();
    const r = await start(`n${i}`);
    startToName['nsnet']!.push(await untilResolves(`n${i}`, 53, t0));
    // aardvark's path as netavark drives it: append the entry, SIGHUP.
    t0 = performance.now();
    appendFileSync(join(adir, 'benchnet'), lineOf(r).replace(/^(\S+) /, `a$1 `).replace(/ n(\d+),/, ' m$1,'));
    process.kill(aardvarkPid, 'SIGHUP');
    startToName['aardvark']!.push(await untilResolves(`m${i}`, 5533, t0));
  }
  const med = (x: number[]) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)]!;
  const out = { ...machine(), seconds: SECONDS, containers: CONTAINERS, results, startToNameMedianMs: { nsnet: med(startToName['nsnet']!), aardvark: med(startToName['aardvark']!) } };
  console.log(table([
    ['names', 'server', 'queries/s', 'p50 ms', 'p99 ms', 'failed', 'lost'],
    ...Object.entries(results).flatMap(([label, byImpl]) => Object.entries(byImpl).map(([impl, x]) => [label, impl, x.qps, x.p50_ms, x.p99_ms, x.failed, x.lost])),
  ]));
  console.log(`start → name resolves, median ms: nsnet ${out.startToNameMedianMs.nsnet.toFixed(2)} (includes create+join), aardvark ${out.startToNameMedianMs.aardvark.toFixed(2)} (config line + SIGHUP only)`);
  console.log(writeResult('dns.json', out));
} finally {
  if (aardvarkPid) try { process.kill(aardvarkPid, 'SIGTERM'); } catch { /* gone */ }
  for (const r of [...d.containers.values()]) await d.removeContainer(r.Id, true).catch(() => undefined);
  for (const n of d.controller.networks()) if (n.name === 'benchnet') await n.delete().catch(() => undefined);
  await d.stop();
  upstream?.kill();
  spawnSync('ip', ['link', 'del', upHost]);
  spawnSync('ip', ['netns', 'del', upNs]);
  spawnSync('ip', ['link', 'del', bridge]);
  spawnSync('nft', ['delete', 'table', 'inet', tableName(ownershipFor(join(dir, 'data')).tag)]);
  await releaseForwardingClaims(ownershipFor(join(dir, 'data')).tag);
  rmSync(dir, { recursive: true, force: true });
}
