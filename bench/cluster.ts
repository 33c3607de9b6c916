// bench/cluster.ts (npm run bench:cluster): the multi-host cluster end to
// end, through the daemons' API (test/multihost-support.ts: hosts are
// namespaces on an underlay bridge, a real etcd, one nsnet daemon per host),
// with the local bridge as the baseline measured in the same run by the same
// daemons and tools (bench/overlay.ts measures the driver alone):
//   1. a container's create+join (API create + start) on an overlay network
//      beside the same on a local bridge network;
//   2. the time from a join on host A until a container on host B reaches
//      the new container (its first TCP answer, a RST from a closed port);
//   3. TCP throughput between two hosts' containers over the overlay beside
//      two containers on a bridge network, with one python sender/receiver.
import { spawn, spawnSync } from 'node:child_process';
import { Etcd, HostDaemon, Underlay } from '../test/multihost-support.js';
import { machine, now, summarize, table, writeResult } from './stats.js';

const N = Number(process.env['OVERLAY_N'] ?? 40);
const SECONDS = Number(process.env['SECONDS_PER_RUN'] ?? 2);
const ROUNDS = Number(process.env['TPUT_ROUNDS'] ?? 5);
if (spawnSync('etcd', ['--version']).status !== 0) {
  console.error('bench:cluster needs etcd (bash scripts/install.sh multihost)');
  process.exit(2);
}

const ul = new Underlay('10.69.0', 2);
const etcd = new Etcd(ul.etcdNs, ul.etcdIp);
const daemons = ul.hosts.map((h) => new HostDaemon(h, `etcd://${ul.etcdIp}:2379`, 15));
const ok = async (d: HostDaemon, method: string, path: string, body?: unknown) => {
  const r = await d.call(method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as Record<string, unknown>;
};
const sandbox = async (d: HostDaemon, name: string, net: string) => {
  const c = await ok(d, 'GET', `/containers/${name}/json`) as { NetworkSettings: { SandboxKey: string; Networks: Record<string, { IPAddress: string }> } };
  return { key: c.NetworkSettings.SandboxKey, ip: c.NetworkSettings.Networks[net]!.IPAddress };
};
const wait = async (fn: () => Promise<boolean>) => { while (!(await fn())) await new Promise((r) => setTimeout(r, 50)); };

/** create+start of one container on `net`, in ms. */
async function join(d: HostDaemon, name: string, net: string, ip?: string): Promise<number> {
  const t0 = now();
  await ok(d, 'POST', `/containers/create?name=${name}`, { HostConfig: { NetworkMode: net }, ...(ip ? { NetworkingConfig: { EndpointsConfig: { [net]: { IPAMConfig: { IPv4Address: ip } } } } } : {}) });
  await ok(d, 'POST', `/containers/${name}/start`);
  return now() - t0;
}

// A prober in a container: for each IP read on stdin, connects to port 9 until the
// target's kernel answers (RST), then prints CLOCK_MONOTONIC in ns (the clock of process.hrtime).
const PROBER = `
import socket, sys, time
for line in sys.stdin:
    ip = line.strip()
    while True:
        s = socket.socket(); s.settimeout(0.02)
        try:
            s.connect((ip, 9))
        except ConnectionRefusedError:
            break
        except OSError:
            time.sleep(0.001)
        finally:
            s.close()
    print(time.clock_gettime_ns(time.CLOCK_MONOTONIC), flush=True)
`;

// One-way bulk transfer for SECONDS: the receiver prints bytes/s.
const SINK = `
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5001)); s.listen(1); print('ready', flush=True)
c, _ = s.accept(); n = 0; t0 = time.monotonic()
while True:
    d = c.recv(1 << 20)
    if not d: break
    n += len(d)
print(n / (time.monotonic() - t0), flush=True)
`;
const SOURCE = `
import socket, sys, time
s = socket.create_connection((sys.argv[1], 5001)); buf = b'x' * (1 << 20); end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end: s.sendall(buf)
s.close()
`;

async function throughput(server: { key: string; ip: string }, client: { key: string }): Promise<number> {
  const sink = spawn('nsenter', [`--net=${server.key}`, '--', 'python3', '-c', SINK, server.ip], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  sink.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  await wait(async () => out.includes('ready'));
  spawnSync('nsenter', [`--net=${client.key}`, '--', 'python3', '-c', SOURCE, server.ip, String(SECONDS)]);
  await new Promise((r) => sink.once('exit', r));
  return Number(out.split('\n')[1]) * 8 / 1e9; // Gbit/s
}

try {
  await etcd.start();
  await Promise.all(daemons.map((d) => d.start()));
  const [a, b] = daemons as [HostDaemon, HostDaemon];
  await ok(a, 'POST', '/networks/create', { Name: 'ov', Driver: 'overlay', IPAM: { Config: [{ Subnet: '10.69.1.0/24' }] } });
  await ok(a, 'POST', '/networks/create', { Name: 'br', IPAM: { Config: [{ Subnet: '10.69.2.0/24' }] } });
  await wait(async () => (await b.call('GET', '/networks/ov')).status === 200);

  // 1. create+join, alternating so both see the same machine state.
  const ov: number[] = [];
  const br: number[] = [];
  for (let i = 0; i < N; i++) {
    ov.push(await join(a, `o${i}`, 'ov'));
    br.push(await join(a, `b${i}`, 'br'));
  }
  for (let i = 0; i < N; i++) for (const n of [`o${i}`, `b${i}`]) await ok(a, 'DELETE', `/containers/${n}?force=1`);

  // 2. join on A → reached from B.
  await join(b, 'probe', 'ov');
  const probe = await sandbox(b, 'probe', 'ov');
  // ARP retries every 10 ms instead of 1 s, so the figure is the cluster's delay, not the ARP timer's.
  spawnSync('nsenter', [`--net=${probe.key}`, '--', 'sysctl', '-qw', 'net.ipv4.neigh.eth0.retrans_time_ms=10']);
  const prober = spawn('nsenter', [`--net=${probe.key}`, '--', 'python3', '-c', PROBER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const reached: number[] = [];
  prober.stdout!.on('data', (c: Buffer) => { for (const l of c.toString().split('\n').filter(Boolean)) reached.push(Number(l)); });
  const spread: number[] = [];
  for (let i = 0; i < N; i++) {
    const ip = `10.69.1.${100 + i}`;
    prober.stdin!.write(`${ip}\n`);
    const t0 = now();
    await join(a, `r${i}`, 'ov', ip);
    await wait(async () => reached.length > i);
    spread.push(reached[i]! - t0);
  }
  prober.stdin!.end();
  for (let i = 0; i < N; i++) await ok(a, 'DELETE', `/containers/r${i}?force=1`);

  // 3. throughput: overlay between hosts, bridge between two containers on one host.
  await join(a, 'tov', 'ov');
  await join(a, 'tb1', 'br');
  await join(a, 'tb2', 'br');
  // Interleaved rounds, medians: one round alone varies by 2-3x on this machine.
  const runs = { overlay: [] as number[], bridge: [] as number[] };
  for (let i = 0; i < ROUNDS; i++) {
    runs.overlay.push(await throughput(await sandbox(a, 'tov', 'ov'), probe));
    runs.bridge.push(await throughput(await sandbox(a, 'tb1', 'br'), await sandbox(a, 'tb2', 'br')));
  }
  const median = (x: number[]) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)]!;
  const overlayGbps = median(runs.overlay);
  const bridgeGbps = median(runs.bridge);

  const r = {
    joinOverlay: summarize(ov.map((x) => x)), joinBridge: summarize(br),
    joinToReached: summarize(spread),
    throughputGbps: { overlay: overlayGbps, bridge: bridgeGbps, ratio: overlayGbps / bridgeGbps, runs },
  };
  console.log(table([
    ['measure', 'median ms', 'p99 ms', 'n'],
    ['create+join, overlay', r.joinOverlay.median_ms, r.joinOverlay.p99_ms, r.joinOverlay.n],
    ['create+join, bridge', r.joinBridge.median_ms, r.joinBridge.p99_ms, r.joinBridge.n],
    ['join on A → reached from B', r.joinToReached.median_ms, r.joinToReached.p99_ms, r.joinToReached.n],
  ]));
  console.log(`TCP throughput (python3 sendall, median of ${ROUNDS}): overlay between hosts ${overlayGbps.toFixed(2)} Gbit/s, bridge on one host ${bridgeGbps.toFixed(2)} Gbit/s (${(overlayGbps / bridgeGbps).toFixed(2)}x)`);
  console.log(writeResult('cluster.json', { machine: machine(), n: N, seconds: SECONDS, rounds: ROUNDS, ...r }));
} finally {
  for (const d of daemons) {
    const list = await d.call('GET', '/containers/json?all=1').catch(() => undefined);
    for (const c of (list?.body as { Id: string }[] | undefined) ?? []) await d.call('DELETE', `/containers/${c.Id}?force=1`).catch(() => undefined);
    for (const n of ['ov', 'br']) await d.call('DELETE', `/networks/${n}`).catch(() => undefined);
  }
  for (const d of daemons) await d.remove();
  await etcd.remove();
  ul.remove();
}
