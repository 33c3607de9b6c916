// The benchmark suite: endpoint latency, churn, sandboxes, scale and soak,
// with iproute2 and CNI baselines interleaved in the same run.
// NSNET_BENCH_QUICK=1 runs a short version with the same schema.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller } from '../src/controller/controller.js';
import { internals } from '../src/controller/internals.js';
import * as nl from '../src/netlink/index.js';
import { nftBackend } from '../src/firewall/nft.js';
import { CniImpl, cniAvailable } from './impls/cni.js';
import type { Impl } from './impls/impl.js';
import { IprouteImpl } from './impls/iproute2.js';
import { NsnetImpl } from './impls/nsnet.js';
import { machine, now, summarize, table, writeResult, type Summary } from './stats.js';

const QUICK = process.env.NSNET_BENCH_QUICK === '1';
const ROUNDS = QUICK ? 25 : 200;
const CHURN_MS = QUICK ? 700 : 3000;
const SANDBOX_ROUNDS = QUICK ? 20 : 100;
const SCALE = QUICK ? 200 : 1000;
const SOAK = QUICK ? 600 : 10_000;
const SETTLE_MS = 25;
const BLOCK = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tmp = mkdtempSync(join(tmpdir(), 'nsnet-bench-'));

interface ImplResult {
  createJoin: Summary;
  leaveDelete: Summary;
  churnPerSec: Record<string, number>;
  sandboxCreate: Summary;
  sandboxDestroy: Summary;
}

const log = (s: string) => process.stderr.write(`${s}\n`);

/** Live network namespaces in the kernel (including ones still being destroyed), from /proc/slabinfo. */
function kernelNetns(): number | undefined {
  try {
    const line = readFileSync('/proc/slabinfo', 'utf8').split('\n').find((l) => l.startsWith('net_namespace '));
    return line ? Number(line.split(/\s+/)[1]) : undefined;
  } catch {
    return undefined;
  }
}
const NETNS_BASELINE = kernelNetns();

/**
 * The kernel destroys deleted namespaces in the background for seconds
 * (a thousand take ~10 s), slowing everything else: wait for it between
 * phases so one phase's cleanup is not measured in the next.
 */
async function kernelSettled(): Promise<void> {
  if (NETNS_BASELINE === undefined) {
    await sleep(QUICK ? 500 : 3000);
    return;
  }
  let last = Infinity;
  let still = 0;
  for (let i = 0; i < 300; i++) {
    const n = kernelNetns() ?? 0;
    if (n <= NETNS_BASELINE + 8) return;
    still = n >= last ? still + 1 : 0;
    if (still >= 10) return;
    last = n;
    await sleep(200);
  }
}

/**
 * Interleaved rounds: every round gives each implementation (in rotating
 * order) a block of BLOCK create+join / leave+delete cycles back to back;
 * the first cycle of a block is an untimed warm-up, so a measurement is not
 * dominated by caches another implementation's processes just evicted.
 */
async function latencies(impls: Impl[], sbs: Map<Impl, unknown>): Promise<Map<Impl, { cj: number[]; ld: number[] }>> {
  const out = new Map(impls.map((i) => [i, { cj: [] as number[], ld: [] as number[] }]));
  const rounds = Math.ceil(ROUNDS / (BLOCK - 1)) + 1;
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < impls.length; k++) {
      const impl = impls[(r + k) % impls.length]!;
      const s = sbs.get(impl);
      for (let b = 0; b < BLOCK; b++) {
        let t = now();
        const e = await impl.createJoin(s);
        const cj = now() - t;
        t = now();
        await impl.leaveDelete(s, e);
        const ld = now() - t;
        if (r > 0 && b > 0) { out.get(impl)!.cj.push(cj); out.get(impl)!.ld.push(ld); }
      }
      // Untimed: deferred kernel work finishes before the next implementation's turn.
      await impl.settle?.();
      await sleep(SETTLE_MS);
    }
  }
  return out;
}

async function churn(impl: Impl, workers: unknown[], ms: number): Promise<number> {
  let cycles = 0;
  const end = now() + ms * 1e6;
  const t0 = now();
  await Promise.all(workers.map(async (s) => {
    while (now() < end) {
      const e = await impl.createJoin(s);
      await impl.leaveDelete(s, e);
      cycles++;
    }
  }));
  return cycles / ((now() - t0) / 1e9);
}

async function sandboxes(impls: Impl[]): Promise<Map<Impl, { c: number[]; d: number[] }>> {
  const out = new Map(impls.map((i) => [i, { c: [] as number[], d: [] as number[] }]));
  for (let r = 0; r < SANDBOX_ROUNDS; r++) {
    for (let k = 0; k < impls.length; k++) {
      const impl = impls[(r + k) % impls.length]!;
      let t = now();
      const s = await impl.newSandbox(9000 + r);
      out.get(impl)!.c.push(now() - t);
      t = now();
      await impl.destroySandbox(s);
      out.get(impl)!.d.push(now() - t);
    }
  }
  return out;
}

async function scale(): Promise<Record<string, unknown>> {
  await kernelSettled();
  const c = await Controller.start({ dataDir: join(tmp, 'scale') });
  try {
    const nets = await Promise.all([0, 1, 2, 3].map((i) => c.newNetwork({ name: `scale${i}`, options: { 'com.docker.network.bridge.name': `nsbsc${i}` }, ipam: { config: [{ Subnet: `10.${40 + i}.0.0/20` }] } })));
    global.gc?.();
    const mem0 = process.memoryUsage();
    const per: number[] = [];
    const sbTimes: number[] = [];
    for (let i = 0; i < SCALE; i++) {
      let t = now();
      const sb = await c.newSandbox(`scale-${i}`);
      sbTimes.push(now() - t);
      t = now();
      const ep = nets[i % 4]!.createEndpoint(`s${i}`);
      await ep.join(sb);
      per.push(now() - t);
    }
    global.gc?.();
    const mem1 = process.memoryUsage();
    const k = Math.max(10, Math.floor(SCALE / 10));
    const first = summarize(per.slice(0, k)).median_ms;
    const last = summarize(per.slice(-k)).median_ms;
    const t = now();
    for (const s of c.sandboxes()) await s.destroy();
    const destroyAll = (now() - t) / 1e6;
    for (const n of nets) await n.delete();
    return {
      endpoints: SCALE, networks: 4,
      firstMedian_ms: first, lastMedian_ms: last, growth: last / first,
      sandboxCreateFirstMedian_ms: summarize(sbTimes.slice(0, k)).median_ms,
      sandboxCreateLastMedian_ms: summarize(sbTimes.slice(-k)).median_ms,
      // RSS moves in allocator-sized steps; the JS heap (plus buffers) is the steadier figure.
      rssPerEndpoint_kb: (mem1.rss - mem0.rss) / SCALE / 1024,
      heapPerEndpoint_kb: (mem1.heapUsed + mem1.external - mem0.heapUsed - mem0.external) / SCALE / 1024,
      destroyAll_ms: destroyAll,
    };
  } finally {
    await c.stop();
  }
}

function nsnetKernelCounts(c: Controller) {
  const links = nl.linkList(undefined).then((ls) => ls.filter((l) => l.group === c.marks().liveGroup || l.group === c.marks().deadGroup).length);
  let netns = 0;
  try { netns = readdirSync(c.runDir).filter((n) => n.startsWith(c.marks().netnsPrefix)).length; } catch { /* none */ }
  return links.then((l) => ({ links: l, netns }));
}

async function soak(): Promise<Record<string, unknown>> {
  const impl = new NsnetImpl(join(tmp, 'soak'), '10.44.0.0/16', 'nsbsoak0');
  await impl.setup();
  const c = impl.c;
  const workers = await Promise.all([0, 1, 2, 3].map((i) => impl.newSandbox(i)));
  const fds0 = readdirSync('/proc/self/fd').length;
  const k0 = await nsnetKernelCounts(c);
  const alloc0 = internals(c).ipam.usage(c.network('bench').info().pools4[0]!.poolId).allocated;
  const fw0 = nftElements();
  let cycles = 0;
  const t0 = now();
  await Promise.all(workers.map(async (s) => {
    while (cycles < SOAK) {
      cycles++;
      const e = await impl.createJoin(s);
      await impl.leaveDelete(s, e);
    }
  }));
  const secs = (now() - t0) / 1e9;
  await c.flush();
  const k1 = await nsnetKernelCounts(c);
  const leaks = {
    links: k1.links - k0.links,
    namespaces: k1.netns - k0.netns,
    addressAllocations: Number(internals(c).ipam.usage(c.network('bench').info().pools4[0]!.poolId).allocated - alloc0),
    storeRows: internals(c).store.count('endpoint'),
    fds: readdirSync('/proc/self/fd').length - fds0,
    firewallElements: nftElements() - fw0,
  };
  for (const s of workers) await impl.destroySandbox(s);
  await impl.teardown();
  return { cycles, seconds: secs, cyclesPerSec: cycles / secs, leaks };
}

function nftElements(): number {
  try {
    const out = execFileSync('nft', ['-j', 'list', 'ruleset'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const j = JSON.parse(out) as { nftables: Record<string, { table?: string; name?: string }>[] };
    return j.nftables.filter((e) => Object.values(e).some((v) => (v.table ?? v.name ?? '').startsWith('nsnet'))).length;
  } catch {
    return 0;
  }
}

/** Firewall costs: a join with one published port against one without, and the 1st vs the 100th network. */
async function firewallCosts(): Promise<Record<string, unknown>> {
  const c = await Controller.start({ dataDir: join(tmp, 'fw'), firewall: 'nftables' });
  try {
    const net = await c.newNetwork({ name: 'fw', options: { 'com.docker.network.bridge.name': 'nsbfw0' }, ipam: { config: [{ Subnet: '10.48.0.0/16' }] } });
    const sb = await c.newSandbox('fw');
    const plain: number[] = [];
    const pub: number[] = [];
    for (let i = 0; i < ROUNDS + 5; i++) {
      for (const withPort of i % 2 ? [false, true] : [true, false]) {
        const t = now();
        const ep = net.createEndpoint(`f${i}${withPort}`, withPort ? { ports: [{ proto: 'tcp', containerPort: 80, hostPort: '0' }] } : {});
        await ep.join(sb);
        const dt = now() - t;
        if (i >= 5) (withPort ? pub : plain).push(dt);
        await ep.leave(sb);
        await ep.delete();
      }
    }
    await sb.destroy();
    const nets: number[] = [];
    const M = QUICK ? 30 : 100;
    for (let i = 0; i < M; i++) {
      const t = now();
      await c.newNetwork({ name: `fwn${i}`, options: { 'com.docker.network.bridge.name': `nsbfn${i}` }, ipam: { config: [{ Subnet: `10.49.${i}.0/24` }] } });
      nets.push(now() - t);
    }
    for (const n of c.networks()) await n.delete();
    const k = Math.max(5, Math.floor(M / 10));
    const first = summarize(nets.slice(0, k)).median_ms;
    const last = summarize(nets.slice(-k)).median_ms;
    return {
      backend: nftBackend(),
      createJoinPlain: summarize(plain), createJoinOnePublishedPort: summarize(pub),
      publishedPortCost_ms: summarize(pub).median_ms - summarize(plain).median_ms,
      networkCreateFirst_ms: first, networkCreateLast_ms: last, networks: M, networkCreateGrowth: last / first,
    };
  } finally {
    await c.stop();
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the benchmarks need root');
  const impls: Impl[] = [new NsnetImpl(join(tmp, 'nsnet'), '10.45.0.0/16', 'nsbnsnet0'), new IprouteImpl('nsbi', [46, 0], 'nsbip0')];
  if (cniAvailable()) impls.push(new CniImpl('nsbc', '10.47.0.0/16', 'nsbcni0', join(tmp, 'cni')));
  else log('CNI plugins not found (apt-get install containernetworking-plugins): the cni baseline is skipped');
  const results = new Map<Impl, ImplResult>();
  try {
    for (const i of impls) await i.setup();
    const workers = new Map<Impl, unknown[]>();
    for (const i of impls) workers.set(i, await Promise.all(Array.from({ length: 8 }, (_, k) => i.newSandbox(k))));
    await kernelSettled();
    log(`latency: ${ROUNDS} rounds, interleaved`);
    const lat = await latencies(impls, new Map(impls.map((i) => [i, workers.get(i)![0]])));
    const churnRes = new Map(impls.map((i) => [i, {} as Record<string, number>]));
    for (const conc of [1, 2, 4, 8]) {
      await kernelSettled();
      for (const i of impls) {
        log(`churn: ${i.name} with ${conc} in flight`);
        churnRes.get(i)![String(conc)] = await churn(i, workers.get(i)!.slice(0, conc), CHURN_MS);
      }
    }
    await kernelSettled();
    log('sandboxes');
    const sbx = await sandboxes(impls);
    for (const i of impls) {
      for (const s of workers.get(i)!) await i.destroySandbox(s);
      results.set(i, {
        createJoin: summarize(lat.get(i)!.cj),
        leaveDelete: summarize(lat.get(i)!.ld),
        churnPerSec: Object.fromEntries(Object.entries(churnRes.get(i)!).map(([k, v]) => [k, Math.round(v * 10) / 10])),
        sandboxCreate: summarize(sbx.get(i)!.c),
        sandboxDestroy: summarize(sbx.get(i)!.d),
      });
    }
  } finally {
    for (const i of impls) await i.teardown().catch((e: unknown) => log(`teardown ${i.name}: ${(e as Error).message}`));
  }
  log(`scale: ${SCALE} endpoints in ${SCALE} sandboxes over 4 networks`);
  const scaleRes = await scale();
  await kernelSettled();
  log('firewall');
  const fw = await firewallCosts();
  await kernelSettled();
  log(`soak: ${SOAK} churn cycles`);
  const soakRes = await soak();
  rmSync(tmp, { recursive: true, force: true });

  const ns = results.get(impls[0]!)!;
  const get = (name: string) => [...results.entries()].find(([i]) => i.name === name)?.[1];
  const ratio = (a: number | undefined, b: number | undefined) => (a && b ? Math.round((a / b) * 100) / 100 : null);
  const ratios: Record<string, number | null> = {};
  for (const base of ['iproute2', 'cni']) {
    const b = get(base);
    if (!b) continue;
    ratios[`createJoin_${base}_over_nsnet`] = ratio(b.createJoin.median_ms, ns.createJoin.median_ms);
    ratios[`leaveDelete_${base}_over_nsnet`] = ratio(b.leaveDelete.median_ms, ns.leaveDelete.median_ms);
    ratios[`churn1_nsnet_over_${base}`] = ratio(ns.churnPerSec['1'], b.churnPerSec['1']);
    ratios[`churn4_nsnet_over_${base}`] = ratio(ns.churnPerSec['4'], b.churnPerSec['4']);
  }
  ratios['churn4_over_churn1_nsnet'] = ratio(ns.churnPerSec['4'], ns.churnPerSec['1']);
  const out = {
    ...machine(),
    quick: QUICK,
    nsnet: ns,
    baselines: Object.fromEntries([...results.entries()].filter(([i]) => i.name !== 'nsnet').map(([i, r]) => [i.name, r])),
    ratios,
    scale: scaleRes,
    soak: soakRes,
    firewall: fw,
  };
  const rows: (string | number)[][] = [['', ...impls.map((i) => i.name)]];
  const row = (label: string, f: (r: ImplResult) => number) => rows.push([label, ...impls.map((i) => f(results.get(i)!))]);
  row('create+join median ms', (r) => r.createJoin.median_ms);
  row('create+join p90 ms', (r) => r.createJoin.p90_ms);
  row('create+join p99 ms', (r) => r.createJoin.p99_ms);
  row('leave+delete median ms', (r) => r.leaveDelete.median_ms);
  row('leave+delete p90 ms', (r) => r.leaveDelete.p90_ms);
  for (const k of ['1', '2', '4', '8']) row(`churn/s, ${k} in flight`, (r) => r.churnPerSec[k] ?? NaN);
  row('sandbox create median ms', (r) => r.sandboxCreate.median_ms);
  row('sandbox destroy median ms', (r) => r.sandboxDestroy.median_ms);
  console.log(table(rows));
  console.log('\nratios:', JSON.stringify(ratios, null, 1));
  console.log('scale:', JSON.stringify(scaleRes));
  console.log('soak:', JSON.stringify(soakRes));
  console.log('firewall:', JSON.stringify(fw));
  console.log(`\nwritten ${writeResult('latest.json', out)}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
