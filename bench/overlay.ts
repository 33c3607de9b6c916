// The overlay driver's kernel side beside the bridge driver, in one run.
//
// In this process's namespace (an empty bridge holding the advertise address
// stands for the underlay): endpoint create+join and leave+delete on an
// overlay network and on a bridge network of the same controller, rounds
// interleaved; network create+delete of each; addPeer/removePeer with 1,000
// peers. Across two "hosts" (namespaces on an underlay bridge, each running a
// controller from dist/, test/fixtures/overlay-hosts.ts): TCP throughput between containers
// on different hosts over the overlay, beside two containers on one host's
// bridge and the two hosts' underlay addresses directly. Throughput is
// python3's (sendall of 256 KiB chunks), the same for all three paths, so
// the ratios are what the encapsulation costs.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Controller, type OverlayPeer } from '../dist/index.js';
import { OverlayHost, plugHost } from '../test/fixtures/overlay-hosts.js';
import { machine, now, summarize, table, writeResult } from './stats.js';

const QUICK = process.env.NSNET_BENCH_QUICK === '1';
const ROUNDS = QUICK ? 30 : 200;
const NET_ROUNDS = QUICK ? 5 : 20;
const PEERS = QUICK ? 200 : 1000;
const TPUT_ROUNDS = QUICK ? 3 : 7;
const TPUT_SECONDS = QUICK ? 1 : 2;
const VNI = 'com.docker.network.driver.overlay.vxlanid_list';

const dir = mkdtempSync(join(tmpdir(), 'nsnet-ovbench-'));
const tag = `ntob${(process.pid % 1296).toString(36)}`;
const underlay = `${tag}u`;
const ADV = '10.63.0.254';
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' });
const log = (s: string) => process.stderr.write(`${s}\n`);
const randomId = () => [...Array(64)].map(() => Math.floor(Math.random() * 16).toString(16)).join('');

sh('ip', ['link', 'add', underlay, 'type', 'bridge']);
sh('ip', ['addr', 'add', `${ADV}/24`, 'dev', underlay]);
sh('ip', ['link', 'set', underlay, 'up']);

/** Endpoint and network latency, overlay beside bridge, and peer programming. */
async function inProcess() {
  const c = await Controller.start({ dataDir: join(dir, 'data'), advertiseAddress: ADV });
  try {
    const nets = {
      bridge: await c.newNetwork({ name: 'b', options: { 'com.docker.network.bridge.name': `${tag}b` }, ipam: { config: [{ Subnet: '10.63.1.0/24' }] } }),
      overlay: await c.newNetwork({ name: 'o', driver: 'overlay', options: { [VNI]: '6001' }, ipam: { config: [{ Subnet: '10.63.2.0/24' }] } }),
    };
    const sb = { bridge: await c.newSandbox('bench-b'), overlay: await c.newSandbox('bench-o') };
    const join: Record<'bridge' | 'overlay', number[]> = { bridge: [], overlay: [] };
    const leave: Record<'bridge' | 'overlay', number[]> = { bridge: [], overlay: [] };
    for (let i = 0; i < ROUNDS; i++) {
      for (const k of (i % 2 ? ['bridge', 'overlay'] : ['overlay', 'bridge']) as ('bridge' | 'overlay')[]) {
        const t0 = now();
        const ep = nets[k].createEndpoint(`e${i}`);
        await ep.join(sb[k]);
        const t1 = now();
        await ep.leave(sb[k]);
        await ep.delete();
        join[k].push(t1 - t0);
        leave[k].push(now() - t1);
      }
    }
    await c.flush();
    const netCycle: Record<'bridge' | 'overlay', number[]> = { bridge: [], overlay: [] };
    for (let i = 0; i < NET_ROUNDS; i++) {
      for (const k of (i % 2 ? ['bridge', 'overlay'] : ['overlay', 'bridge']) as ('bridge' | 'overlay')[]) {
        const t0 = now();
        const n = k === 'bridge'
          ? await c.newNetwork({ name: `nb${i}`, options: { 'com.docker.network.bridge.name': `${tag}n` }, ipam: { config: [{ Subnet: '10.63.4.0/24' }] } })
          : await c.newNetwork({ name: `no${i}`, driver: 'overlay', options: { [VNI]: '6003' }, ipam: { config: [{ Subnet: '10.63.5.0/24' }] } });
        await n.delete();
        netCycle[k].push(now() - t0);
      }
    }
    const big = await c.newNetwork({ name: 'peers', driver: 'overlay', options: { [VNI]: '6004' }, ipam: { config: [{ Subnet: '10.64.0.0/16' }] } });
    const peers: OverlayPeer[] = Array.from({ length: PEERS }, (_, i) => {
      const ip = `10.64.${(i + 2) >> 8}.${(i + 2) & 255}`;
      return { endpointId: `p${i}`, ip, mac: `02:42:0a:40:${((i + 2) >> 8).toString(16).padStart(2, '0')}:${((i + 2) & 255).toString(16).padStart(2, '0')}`, vtep: `10.63.0.${1 + (i % 200)}` };
    });
    const add: number[] = [];
    const remove: number[] = [];
    const tAll = now();
    for (const p of peers) {
      const t = now();
      await c.addPeer(big.id, p);
      add.push(now() - t);
    }
    const addAllMs = (now() - tAll) / 1e6;
    for (const p of peers) {
      const t = now();
      await c.removePeer(big.id, p.endpointId);
      remove.push(now() - t);
    }
    for (const s of Object.values(sb)) await s.destroy();
    for (const n of [...Object.values(nets), big]) await n.delete();
    return {
      createJoin: { bridge: summarize(join.bridge), overlay: summarize(join.overlay) },
      leaveDelete: { bridge: summarize(leave.bridge), overlay: summarize(leave.overlay) },
      networkCreateDelete: { bridge: summarize(netCycle.bridge), overlay: summarize(netCycle.overlay) },
      addPeer: summarize(add), removePeer: summarize(remove), addPeersTotalMs: addAllMs, peers: PEERS,
    };
  } finally {
    await c.stop();
  }
}

/** Bytes per second from `client` to `server:ip` (namespace paths or names), as the server counts them. */
async function throughput(serverNs: string, ip: string, clientNs: string, port = 5201): Promise<number> {
  const enter = (ns: string) => (ns.startsWith('/') ? ['nsenter', `--net=${ns}`] : ['ip', 'netns', 'exec', ns]);
  const [sc, ...sa] = enter(serverNs);
  const server = spawn(sc!, [...sa, 'python3', '-c', `
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('${ip}', ${port})); s.listen(1); print('ready', flush=True)
c, _ = s.accept(); n = 0; t0 = None
while True:
    d = c.recv(1 << 20)
    if not d: break
    if t0 is None: t0 = time.monotonic()
    n += len(d)
print(n / (time.monotonic() - t0), flush=True)
`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: server.stdout! })[Symbol.asyncIterator]();
  await lines.next();
  const [cc, ...ca] = enter(clientNs);
  execFileSync(cc!, [...ca, 'python3', '-c', `
import socket, time
s = socket.create_connection(('${ip}', ${port})); buf = b'x' * (256 << 10); end = time.monotonic() + ${TPUT_SECONDS}
while time.monotonic() < end: s.sendall(buf)
s.close()
`]);
  const rate = Number((await lines.next()).value);
  await once(server, 'exit');
  return rate;
}

async function acrossHosts() {
  const hosts = ['a', 'b'].map((x, i) => new OverlayHost(`${tag}h${x}`, `10.63.0.${i + 1}`, mkdtempSync(join(dir, 'h'))));
  const ports = hosts.map((_, i) => `${tag}p${i}`);
  try {
    for (const [i, h] of hosts.entries()) {
      plugHost(underlay, h.ns, ports[i]!, h.addr);
      await h.start();
    }
    const id = randomId();
    for (const h of hosts) await h.call('createNetwork', { id, name: 'ov', vni: 6002, subnet: '10.63.3.0/24', gateway: '10.63.3.1' });
    const run = async (h: OverlayHost, name: string, ip: string) => {
      const r = await h.call<{ key: string; endpoint: { id: string; mac: string } }>('run', { network: id, container: name, ip });
      return { key: r.key, ip, peer: { endpointId: r.endpoint.id, ip, mac: r.endpoint.mac, vtep: h.addr } };
    };
    const [ha, hb] = hosts as [OverlayHost, OverlayHost];
    const a1 = await run(ha, 'a1', '10.63.3.11');
    const a2 = await run(ha, 'a2', '10.63.3.13');
    const b1 = await run(hb, 'b1', '10.63.3.12');
    for (const p of [a1.peer, a2.peer]) await hb.call('addPeer', { network: id, peer: p });
    await ha.call('addPeer', { network: id, peer: b1.peer });
    const paths = {
      overlay: () => throughput(b1.key, b1.ip, a1.key),
      bridge: () => throughput(a2.key, a2.ip, a1.key),
      underlay: () => throughput(hb.ns, hb.addr, ha.ns),
    };
    const rates: Record<keyof typeof paths, number[]> = { overlay: [], bridge: [], underlay: [] };
    for (let i = 0; i < TPUT_ROUNDS; i++) for (const k of Object.keys(paths) as (keyof typeof paths)[]) rates[k].push(await paths[k]());
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)]!;
    return Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, { medianGbitPerS: (median(v) * 8) / 1e9, runs: v.map((r) => (r * 8) / 1e9) }])) as
      Record<keyof typeof paths, { medianGbitPerS: number; runs: number[] }>;
  } finally {
    for (const h of hosts) await h.remove();
    for (const p of ports) spawnSync('ip', ['link', 'del', p]);
  }
}

try {
  log(`overlay bench: ${ROUNDS} endpoint rounds, ${NET_ROUNDS} network rounds, ${PEERS} peers, ${TPUT_ROUNDS}×${TPUT_SECONDS}s throughput rounds`);
  const local = await inProcess();
  const tput = await acrossHosts();
  const ratio = (a: number, b: number) => a / b;
  console.log(table([
    ['what', 'bridge median ms', 'overlay median ms', 'overlay p99 ms', 'overlay / bridge'],
    ['endpoint create+join', local.createJoin.bridge.median_ms, local.createJoin.overlay.median_ms, local.createJoin.overlay.p99_ms,
      ratio(local.createJoin.overlay.median_ms, local.createJoin.bridge.median_ms)],
    ['endpoint leave+delete', local.leaveDelete.bridge.median_ms, local.leaveDelete.overlay.median_ms, local.leaveDelete.overlay.p99_ms,
      ratio(local.leaveDelete.overlay.median_ms, local.leaveDelete.bridge.median_ms)],
    ['network create+delete', local.networkCreateDelete.bridge.median_ms, local.networkCreateDelete.overlay.median_ms, local.networkCreateDelete.overlay.p99_ms,
      ratio(local.networkCreateDelete.overlay.median_ms, local.networkCreateDelete.bridge.median_ms)],
  ]));
  console.log(table([
    ['peers', 'median ms', 'p99 ms'],
    [`addPeer (1 of ${local.peers})`, local.addPeer.median_ms, local.addPeer.p99_ms],
    [`removePeer (1 of ${local.peers})`, local.removePeer.median_ms, local.removePeer.p99_ms],
  ]));
  console.log(table([
    ['TCP throughput (python3 sendall)', 'median Gbit/s', 'vs underlay'],
    ['containers on two hosts, over the overlay', tput.overlay.medianGbitPerS, ratio(tput.overlay.medianGbitPerS, tput.underlay.medianGbitPerS)],
    ['containers on one host, over its bridge', tput.bridge.medianGbitPerS, ratio(tput.bridge.medianGbitPerS, tput.underlay.medianGbitPerS)],
    ['the two hosts, underlay addresses', tput.underlay.medianGbitPerS, 1],
  ]));
  console.log(writeResult('overlay.json', { ...machine(), quick: QUICK, ...local, throughput: tput }));
} finally {
  spawnSync('ip', ['link', 'del', underlay]);
  rmSync(dir, { recursive: true, force: true });
}
