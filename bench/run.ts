// The benchmark suite: endpoint latency, churn, sandboxes, scale and soak,
// with iproute2 and CNI baselines interleaved in the same run.
// NSNET_BENCH_QUICK=1 runs a short version with the same schema.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, type Sandbox } from '../dist/controller/controller.js';
import { internals } from '../dist/controller/internals.js';
import * as nl from '../dist/netlink/index.js';
import { nftBackend } from '../dist/firewall/nft.js';
import { CniImpl, cniAvailable } from './impls/cni.js';
import type { Impl } from './impls/impl.js';
import { IprouteImpl } from './impls/iproute2.js';
import { NsnetImpl } from './impls/nsnet.js';
import { buildFloor, FloorImpl } from './impls/floor.js';
import { machine, now, summarize, table, writeResult, type Summary } from './stats.js';

const QUICK = process.env.NSNET_BENCH_QUICK === '1';
/**
 * NSNET_BENCH_ONLY=latency: the two latency phases alone; =batched: the
 * batched phase alone; =scale: the two scale runs, without the floor's.
 * Printed (for trying a change; never the README's figures).
 */
const LATENCY_ONLY = process.env.NSNET_BENCH_ONLY === 'latency';
const BATCHED_ONLY = process.env.NSNET_BENCH_ONLY === 'batched';
const SCALE_ONLY = process.env.NSNET_BENCH_ONLY === 'scale';
const ROUNDS = QUICK ? 25 : 200;
const CHURN_MS = QUICK ? 700 : 3000;
const SANDBOX_ROUNDS = QUICK ? 20 : 100;
const SCALE = QUICK ? 500 : 5000;
const SCALE_NETS = 5;
/** The same endpoints over more bridges (200 ports each), to tell the per-bridge growth from the per-namespace one. */
const SCALE_WIDE_NETS = 25;
const SOAK = QUICK ? 600 : 10_000;
/** Sustained churn, until the kernel has finished every deletion. */
const SUSTAIN_MS = QUICK ? 3000 : 20_000;
/** Batched joins: endpoints per joinMany call, over this many sandboxes. */
const BATCH = 32;
const BATCH_SANDBOXES = 8;
const BATCH_ROUNDS = QUICK ? 5 : 20;
const SETTLE_MS = 25;
const BLOCK = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tmp = mkdtempSync(join(tmpdir(), 'nsnet-bench-'));
const floorBin = buildFloor(tmp);

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
  await namespacesGone();
  // The count can be down while the kernel still works on what those
  // namespaces held (one scale run's 5,000 took the next run's first
  // joins from ~0.8 to ~1.7 ms): also wait until the machine is idle.
  for (let i = 0; i < (QUICK ? 10 : 60); i++) if ((await idleFraction(500)) >= 0.9) return;
}

async function namespacesGone(): Promise<void> {
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

/** The share of all CPUs' time spent idle over the next `ms`, from /proc/stat (1 where it cannot be read). */
async function idleFraction(ms: number): Promise<number> {
  const read = (): number[] | undefined => {
    try {
      return readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    } catch {
      return undefined;
    }
  };
  const a = read();
  await sleep(ms);
  const b = read();
  if (!a || !b) return 1;
  const d = b.map((v, i) => v - (a[i] ?? 0));
  const total = d.reduce((x, y) => x + y, 0);
  // idle + iowait
  return total > 0 ? ((d[3] ?? 0) + (d[4] ?? 0)) / total : 1;
}

/**
 * Interleaved rounds: every round gives each implementation (in rotating
 * order) a block of BLOCK create+join / leave+delete cycles back to back;
 * the first cycle of a block is an untimed warm-up, so a measurement is not
 * dominated by caches another implementation's processes just evicted.
 */
interface Latencies {
  cj: number[];
  ld: number[];
  /** nsnet's create+joins whose one kernel job ran on the calling thread: its time inside the requests, and the rest. */
  kernel: number[];
  outside: number[];
}

async function latencies(impls: Impl[], sbs: Map<Impl, unknown>): Promise<Map<Impl, Latencies>> {
  const out = new Map(impls.map((i) => [i, { cj: [] as number[], ld: [] as number[], kernel: [] as number[], outside: [] as number[] }]));
  const rounds = Math.ceil(ROUNDS / (BLOCK - 1)) + 1;
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < impls.length; k++) {
      const impl = impls[(r + k) % impls.length]!;
      const s = sbs.get(impl);
      // Untimed: the garbage the harness made for the other implementations
      // (child processes, their pipes) is not collected inside this one's cycles.
      global.gc?.();
      for (let b = 0; b < BLOCK; b++) {
        // Read outside the timed region: how much of an nsnet join was its kernel requests.
        const inl = impl instanceof NsnetImpl ? nl.nativeStats().inlined : 0;
        let t = now();
        const e = await impl.createJoin(s);
        // The floor times itself, inside the C process.
        const cj = impl instanceof FloorImpl ? impl.lastNs : now() - t;
        const st = impl instanceof NsnetImpl ? nl.nativeStats() : undefined;
        t = now();
        await impl.leaveDelete(s, e);
        const ld = impl instanceof FloorImpl ? impl.lastNs : now() - t;
        if (r > 0 && b > 0) {
          const o = out.get(impl)!;
          o.cj.push(cj);
          o.ld.push(ld);
          // A create+join is one job; the split is known when it ran on the calling thread.
          if (st?.inlined === inl + 1) { o.kernel.push(st.lastInlineNs); o.outside.push(cj - st.lastInlineNs); }
        }
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

/**
 * SCALE endpoints in SCALE sandboxes over SCALE_NETS bridges (a bridge holds
 * 1023 ports): per-endpoint create+join of the first and the last tenth,
 * the worst single join, memory per endpoint.
 */
async function scale(netCount = SCALE_NETS, withFloor = true): Promise<Record<string, unknown>> {
  await kernelSettled();
  const c = await Controller.start({ dataDir: join(tmp, `scale${netCount}`) });
  try {
    const nets = await Promise.all(Array.from({ length: netCount }, (_, i) => c.newNetwork({ name: `scale${i}`, options: { 'com.docker.network.bridge.name': `nsbsc${i}` }, ipam: { config: [{ Subnet: `10.${60 + (i >> 4)}.${(i & 15) << 4}.0/20` }] } })));
    global.gc?.();
    const mem0 = process.memoryUsage();
    const per: number[] = [];
    const sbTimes: number[] = [];
    // A join's time inside its kernel requests (its job, when it ran on the
    // calling thread), NaN otherwise: where the growth is.
    const kernel: number[] = [];
    const t0 = now();
    for (let i = 0; i < SCALE; i++) {
      let t = now();
      const sb = await c.newSandbox(`scale-${i}`);
      sbTimes.push(now() - t);
      const inl = nl.nativeStats().inlined;
      t = now();
      const ep = nets[i % netCount]!.createEndpoint(`s${i}`);
      await ep.join(sb);
      per.push(now() - t);
      const st = nl.nativeStats();
      kernel.push(st.inlined === inl + 1 ? st.lastInlineNs : NaN);
      if (i % 1000 === 999) log(`  scale: ${i + 1}`);
    }
    const totalS = (now() - t0) / 1e9;
    global.gc?.();
    const mem1 = process.memoryUsage();
    const k = Math.max(10, Math.floor(SCALE / 10));
    const first = summarize(per.slice(0, k));
    const last = summarize(per.slice(-k));
    const worst = Math.max(...per);
    const split = (from: number, to: number) => {
      const idx = Array.from({ length: to - from }, (_, j) => from + j).filter((j) => !Number.isNaN(kernel[j]));
      return { n: idx.length, kernel_ms: summarize(idx.map((j) => kernel[j]!)).median_ms, outside_ms: summarize(idx.map((j) => per[j]! - kernel[j]!)).median_ms };
    };
    const t = now();
    for (const s of c.sandboxes()) await s.destroy();
    const destroyAll = (now() - t) / 1e6;
    for (const n of nets) await n.delete();
    const floor = withFloor ? await floorScale(k, false) : undefined;
    const floorNsnetShape = withFloor ? await floorScale(k, true) : undefined;
    return {
      endpoints: SCALE, networks: netCount, window: k, seconds: totalS,
      first, last, firstMedian_ms: first.median_ms, lastMedian_ms: last.median_ms, growth: last.median_ms / first.median_ms,
      worstJoin_ms: worst / 1e6, worstJoinAt: per.indexOf(worst),
      // The curve for the report: the median of each consecutive 1% of endpoints.
      curve_ms: Array.from({ length: 100 }, (_, j) => summarize(per.slice(Math.floor((j * SCALE) / 100), Math.floor(((j + 1) * SCALE) / 100))).median_ms),
      sandboxCreateFirstMedian_ms: summarize(sbTimes.slice(0, k)).median_ms,
      sandboxCreateLastMedian_ms: summarize(sbTimes.slice(-k)).median_ms,
      // RSS moves in allocator-sized steps; the JS heap (plus buffers) is the steadier figure.
      rssPerEndpoint_kb: (mem1.rss - mem0.rss) / SCALE / 1024,
      heapPerEndpoint_kb: (mem1.heapUsed + mem1.external - mem0.heapUsed - mem0.external) / SCALE / 1024,
      destroyAll_ms: destroyAll,
      splitFirst: split(0, k), splitLast: split(SCALE - k, SCALE),
      ...(floor ? { floor, lastOverFloorLast: last.median_ms / (floor.lastMedian_ms as number) } : {}),
      ...(floorNsnetShape ? { floorNsnetShape, lastOverShapedFloorLast: last.median_ms / (floorNsnetShape.lastMedian_ms as number) } : {}),
    };
  } finally {
    await c.stop();
  }
}

/**
 * The same scale run done by the C floor (one process per bridge, namespaces
 * it unshares itself), so the growth the kernel itself shows at 5,000
 * namespaces is measured beside nsnet's: with the floor's four-request join,
 * or (`nsnetShape`) with nsnet's join and namespace numbering, the kernel's
 * own cost of exactly what nsnet asks of it.
 */
async function floorScale(k: number, nsnetShape: boolean): Promise<Record<string, unknown>> {
  await kernelSettled();
  const floors = Array.from({ length: SCALE_NETS }, (_, i) => new FloorImpl(`floor-scale${i}`, floorBin, 'own', `nsbfs${i}`, 70 + i, false, 1, nsnetShape));
  const per: number[] = [];
  const sbTimes: number[] = [];
  try {
    for (const f of floors) await f.setup();
    for (let i = 0; i < SCALE; i++) {
      const f = floors[i % SCALE_NETS]!;
      const t = now();
      const sb = await f.newSandbox(i);
      sbTimes.push(now() - t);
      await f.createJoin(sb);
      per.push(f.lastNs);
    }
  } finally {
    // The floor's namespaces die with its processes (their last fds), the host ends with them.
    for (const f of floors) await f.teardown();
    await kernelSettled();
  }
  const first = summarize(per.slice(0, k));
  const last = summarize(per.slice(-k));
  return {
    first, last, firstMedian_ms: first.median_ms, lastMedian_ms: last.median_ms, growth: last.median_ms / first.median_ms,
    curve_ms: Array.from({ length: 100 }, (_, j) => summarize(per.slice(Math.floor((j * SCALE) / 100), Math.floor(((j + 1) * SCALE) / 100))).median_ms),
    sandboxCreateFirstMedian_ms: summarize(sbTimes.slice(0, k)).median_ms,
    sandboxCreateLastMedian_ms: summarize(sbTimes.slice(-k)).median_ms,
  };
}

/**
 * Sustained sequential churn (or `conc` in flight) for SUSTAIN_MS, then
 * until the reaper has deleted every left link: cycles over the whole time,
 * quiescence included. Also the reaper's own cost over that run.
 */
async function sustained(impl: NsnetImpl, workers: Sandbox[]): Promise<Record<string, number>> {
  await impl.c.flush();
  const reaper = internals(impl.c).reaper;
  const r0 = { rounds: reaper.rounds, links: reaper.reapedLinks, busy: reaper.busyNs };
  let cycles = 0;
  const t0 = now();
  const end = t0 + SUSTAIN_MS * 1e6;
  await Promise.all(workers.map(async (s) => {
    while (now() < end) {
      const e = await impl.createJoin(s);
      await impl.leaveDelete(s, e);
      cycles++;
    }
  }));
  const tChurn = now();
  await impl.c.flush();
  const tQuiet = now();
  const links = reaper.reapedLinks - r0.links;
  return {
    cycles, inFlight: workers.length,
    churnSeconds: (tChurn - t0) / 1e9, quiescenceMs: (tQuiet - tChurn) / 1e6,
    perSec: cycles / ((tQuiet - t0) / 1e9),
    reaperRounds: reaper.rounds - r0.rounds, reapedLinks: links,
    reaperBusyMs: (reaper.busyNs - r0.busy) / 1e6,
    reaperMsPerLink: links ? (reaper.busyNs - r0.busy) / 1e6 / links : NaN,
  };
}

/** joinMany of BATCH endpoints over BATCH_SANDBOXES sandboxes, against the floor doing the same joins one after another. */
async function batched(nsImpl: NsnetImpl, floor: FloorImpl): Promise<Record<string, unknown>> {
  const c = nsImpl.c;
  const sbs = await Promise.all(Array.from({ length: BATCH_SANDBOXES }, (_, i) => nsImpl.newSandbox(500 + i)));
  const fsbs = await Promise.all(Array.from({ length: BATCH_SANDBOXES }, (_, i) => floor.newSandbox(500 + i)));
  const ours: number[] = [];
  const theirs: number[] = [];
  const theirsBackToBack: number[] = [];
  let serial = 0;
  for (let r = 0; r < BATCH_ROUNDS + 1; r++) {
    const reqs = Array.from({ length: BATCH }, (_, i) => ({ network: nsImpl.net, sandbox: sbs[i % BATCH_SANDBOXES]!, name: `bm${serial++}` }));
    // Untimed, as before each latency block: the harness's garbage (the
    // floor's answer lines, the previous round's leaves) is not collected
    // inside the batch. The floor's timings below get the same.
    global.gc?.();
    let t = now();
    const res = await c.joinMany(reqs);
    const dt = now() - t;
    const bad = res.find((x) => !x.ok);
    if (bad && !bad.ok) throw bad.error;
    for (const [i, x] of res.entries()) if (x.ok) await nsImpl.leaveDelete(sbs[i % BATCH_SANDBOXES]!, x.endpoint);
    await c.flush();
    // Every timed batch starts the same time after the last teardown.
    await sleep(SETTLE_MS);
    let fl = 0;
    global.gc?.();
    const made: { s: (typeof fsbs)[number]; e: { host: string } }[] = [];
    for (let i = 0; i < BATCH; i++) {
      const s = fsbs[i % BATCH_SANDBOXES]!;
      made.push({ s, e: await floor.createJoin(s) });
      fl += floor.lastNs;
    }
    for (const m of made.reverse()) await floor.leaveDelete(m.s, m.e);
    await sleep(SETTLE_MS);
    // The same joins with no pause between them (one command, timed inside
    // the C process): the floor's rate when it never waits for its caller.
    global.gc?.();
    const seq = await floor.createJoinSeq(fsbs, BATCH);
    for (const m of seq.made.reverse()) await floor.leaveDelete(m.s, m.e);
    if (r > 0) { ours.push(dt); theirs.push(fl); theirsBackToBack.push(seq.ns); }
    await sleep(SETTLE_MS);
  }
  for (const s of sbs) await nsImpl.destroySandbox(s);
  for (const s of fsbs) await floor.destroySandbox(s);
  const o = summarize(ours);
  const f = summarize(theirs);
  const b = summarize(theirsBackToBack);
  return {
    batch: BATCH, sandboxes: BATCH_SANDBOXES, rounds: BATCH_ROUNDS,
    joinManyPerSec: (BATCH / o.median_ms) * 1e3, floorSequentialPerSec: (BATCH / f.median_ms) * 1e3,
    ratio: f.median_ms / o.median_ms, joinMany: o, floorSequential: f,
    floorBackToBackPerSec: (BATCH / b.median_ms) * 1e3, ratioBackToBack: b.median_ms / o.median_ms, floorBackToBack: b,
  };
}

/** Sandbox start (newSandbox) without a pool and with a filled one, interleaved. */
async function sandboxStart(plain: NsnetImpl): Promise<Record<string, unknown>> {
  const pooled = new NsnetImpl(join(tmp, 'pool'), '10.56.0.0/16', 'nsbpool0', { name: 'nsnet+pool', netnsPool: 8 });
  await pooled.setup();
  const a: number[] = [];
  const b: number[] = [];
  try {
    for (let r = 0; r < SANDBOX_ROUNDS; r++) {
      await internals(pooled.c).pool!.filled();
      for (const [impl, out] of (r % 2 ? [[plain, a], [pooled, b]] : [[pooled, b], [plain, a]]) as [NsnetImpl, number[]][]) {
        const t = now();
        const s = await impl.newSandbox(700 + r);
        out.push(now() - t);
        await impl.destroySandbox(s);
      }
    }
  } finally {
    await pooled.teardown();
  }
  return { withoutPool: summarize(a), withPool: summarize(b), ratio: summarize(a).median_ms / summarize(b).median_ms };
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
  if (SCALE_ONLY) {
    for (const n of [SCALE_NETS, SCALE_WIDE_NETS].filter((x) => !process.env.NSNET_BENCH_NETS || +process.env.NSNET_BENCH_NETS === x)) {
      // NSNET_BENCH_SCALE_FLOOR=1: the floors' scale runs too, over 5 bridges.
      const r = await scale(n, n === SCALE_NETS && process.env.NSNET_BENCH_SCALE_FLOOR === '1');
      console.log(`scale over ${n} bridges: first ${(r['firstMedian_ms'] as number).toFixed(3)} ms, last ${(r['lastMedian_ms'] as number).toFixed(3)} ms: ${(r['growth'] as number).toFixed(2)}x; worst ${(r['worstJoin_ms'] as number).toFixed(2)} ms; sandbox create ${(r['sandboxCreateFirstMedian_ms'] as number).toFixed(3)} -> ${(r['sandboxCreateLastMedian_ms'] as number).toFixed(3)} ms; kernel/outside ${JSON.stringify(r['splitFirst'])} -> ${JSON.stringify(r['splitLast'])}`);
      for (const key of ['floor', 'floorNsnetShape'] as const) {
        const fr = r[key] as Record<string, number> | undefined;
        if (fr) console.log(`  ${key}: first ${fr['firstMedian_ms']!.toFixed(3)} ms, last ${fr['lastMedian_ms']!.toFixed(3)} ms: ${fr['growth']!.toFixed(2)}x`);
      }
    }
    rmSync(tmp, { recursive: true, force: true });
    return;
  }
  const nsOwn = new NsnetImpl(join(tmp, 'nsnet'), '10.45.0.0/16', 'nsbnsnet0');
  const nsRt = new NsnetImpl(join(tmp, 'nsnet-rt'), '10.50.0.0/16', 'nsbnsrt0', { name: 'nsnet-runtime', runtime: true });
  const flOwn = new FloorImpl('floor', floorBin, 'own', 'nsbfloor0', 51);
  const flRt = new FloorImpl('floor-runtime', floorBin, 'runtime', 'nsbflrt0', 52);
  // The original floor: veths with the kernel's default queues, as `ip link add` and Docker make them.
  const flDefault = new FloorImpl('floor-default-queues', floorBin, 'own', 'nsbfldq0', 53, false, 0);
  const impls: Impl[] = [nsOwn, nsRt, flOwn, flRt, flDefault, new IprouteImpl('nsbi', [46, 0], 'nsbip0')];
  if (cniAvailable()) impls.push(new CniImpl('nsbc', '10.47.0.0/16', 'nsbcni0', join(tmp, 'cni')));
  else log('CNI plugins not found (apt-get install containernetworking-plugins): the cni baseline is skipped');
  const churners = impls.filter((i) => !(i instanceof FloorImpl) && i !== nsRt);
  const results = new Map<Impl, ImplResult>();
  let sustain: Record<string, unknown> = {};
  let batch: Record<string, unknown> = {};
  let start: Record<string, unknown> = {};
  let headToHead: Record<string, { createJoin: Summary; leaveDelete: Summary }> = {};
  let joinSplit: Record<string, unknown> = {};
  try {
    for (const i of impls) await i.setup();
    const workers = new Map<Impl, unknown[]>();
    for (const i of impls) workers.set(i, await Promise.all(Array.from({ length: i instanceof FloorImpl ? 1 : 8 }, (_, k) => i.newSandbox(k))));
    await kernelSettled();
    if (BATCHED_ONLY) {
      const b = await batched(nsOwn, flOwn);
      console.log(`joinMany ${(b['joinMany'] as Summary).median_ms.toFixed(2)} ms, floor sequential ${(b['floorSequential'] as Summary).median_ms.toFixed(2)} ms: ${(b['ratio'] as number).toFixed(2)}x`);
      for (const i of impls) for (const s of workers.get(i)!) await i.destroySandbox(s);
      return;
    }
    log(`latency: ${ROUNDS} rounds, interleaved`);
    const lat = await latencies(impls, new Map(impls.map((i) => [i, workers.get(i)![0]])));
    // The same, with nsnet and the floor alone: no exec baseline's process
    // churn between their blocks evicting the caches a JS process depends on
    // far more than the floor's small C loop does.
    await kernelSettled();
    log(`latency head to head: ${ROUNDS} rounds, nsnet and the floor only`);
    const duelImpls: Impl[] = [nsOwn, flOwn, nsRt, flRt];
    const duelLat = await latencies(duelImpls, new Map(duelImpls.map((i) => [i, workers.get(i)![0]])));
    const duelSum = (i: Impl) => ({ createJoin: summarize(duelLat.get(i)!.cj), leaveDelete: summarize(duelLat.get(i)!.ld) });
    headToHead = Object.fromEntries(duelImpls.map((i) => [i.name, duelSum(i)]));
    const splitOf = (l: Latencies) => ({ n: l.kernel.length, kernel_ms: summarize(l.kernel).median_ms, outside_ms: summarize(l.outside).median_ms });
    joinSplit = {
      main: { nsnet: splitOf(lat.get(nsOwn)!), 'nsnet-runtime': splitOf(lat.get(nsRt)!) },
      headToHead: { nsnet: splitOf(duelLat.get(nsOwn)!), 'nsnet-runtime': splitOf(duelLat.get(nsRt)!) },
    };
    if (LATENCY_ONLY) {
      // A quick look at the single-join figures (about 2 minutes): printed, no result file written.
      const m = (i: Impl) => summarize(lat.get(i)!.cj).median_ms;
      const h = (n: string) => headToHead[n]!.createJoin.median_ms;
      console.log(table([['', ...impls.map((i) => i.name)], ['create+join median ms', ...impls.map(m)]]));
      console.log(`\nnsnet / floor: main ${(m(nsOwn) / m(flOwn)).toFixed(2)}x, runtime-made ${(m(nsRt) / m(flOwn)).toFixed(2)}x; head to head ${(h('nsnet') / h('floor')).toFixed(2)}x, runtime-made ${(h('nsnet-runtime') / h('floor')).toFixed(2)}x`);
      console.log('create+join split (kernel requests / the rest):', JSON.stringify(joinSplit));
      for (const i of impls) for (const s of workers.get(i)!) await i.destroySandbox(s);
      return;
    }
    const churnRes = new Map(impls.map((i) => [i, {} as Record<string, number>]));
    for (const conc of [1, 2, 4, 8]) {
      await kernelSettled();
      for (const i of churners) {
        log(`churn: ${i.name} with ${conc} in flight`);
        churnRes.get(i)![String(conc)] = await churn(i, workers.get(i)!.slice(0, conc), CHURN_MS);
      }
    }
    await kernelSettled();
    log(`sustained churn: ${SUSTAIN_MS / 1000} s each, until every deletion is done`);
    const nsWorkers = workers.get(nsOwn)! as Sandbox[];
    const s1 = await sustained(nsOwn, nsWorkers.slice(0, 1));
    await kernelSettled();
    const s4 = await sustained(nsOwn, nsWorkers.slice(0, 4));
    await kernelSettled();
    const fs = await flOwn.churn(workers.get(flOwn)![0] as never, SUSTAIN_MS);
    sustain = { nsnet1: s1, nsnet4: s4, floor: { cycles: fs.cycles, perSec: fs.perSec }, nsnet1_over_floor: s1['perSec']! / fs.perSec, nsnet4_over_floor: s4['perSec']! / fs.perSec };
    await kernelSettled();
    log('batched joins');
    batch = await batched(nsOwn, flOwn);
    await kernelSettled();
    log('sandboxes');
    const sbx = await sandboxes(churners);
    start = await sandboxStart(nsOwn);
    for (const i of impls) {
      for (const s of workers.get(i)!) await i.destroySandbox(s);
      results.set(i, {
        createJoin: summarize(lat.get(i)!.cj),
        leaveDelete: summarize(lat.get(i)!.ld),
        churnPerSec: Object.fromEntries(Object.entries(churnRes.get(i)!).map(([k, v]) => [k, Math.round(v * 10) / 10])),
        ...(sbx.has(i) ? { sandboxCreate: summarize(sbx.get(i)!.c), sandboxDestroy: summarize(sbx.get(i)!.d) } : {}),
      } as ImplResult);
    }
  } finally {
    for (const i of impls) await i.teardown().catch((e: unknown) => log(`teardown ${i.name}: ${(e as Error).message}`));
    // The partial modes end here; the full run still needs the directory.
    if (LATENCY_ONLY || BATCHED_ONLY) rmSync(tmp, { recursive: true, force: true });
  }
  log(`scale: ${SCALE} endpoints in ${SCALE} sandboxes over ${SCALE_NETS} networks`);
  const scaleRes = process.env.NSNET_BENCH_SKIP_SCALE === '1' ? { skipped: true } : await scale();
  log(`scale: ${SCALE} endpoints over ${SCALE_WIDE_NETS} networks`);
  const scaleWideRes = process.env.NSNET_BENCH_SKIP_SCALE === '1' ? { skipped: true } : await scale(SCALE_WIDE_NETS, false);
  await kernelSettled();
  log('firewall');
  const fw = await firewallCosts();
  await kernelSettled();
  log(`soak: ${SOAK} churn cycles`);
  const soakRes = await soak();
  rmSync(tmp, { recursive: true, force: true });

  const ns = results.get(nsOwn)!;
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
  // Against the floor, same run: nsnet's JS-visible times over the C process's own.
  const fl = results.get(flOwn)!;
  const flr = results.get(flRt)!;
  const rt = results.get(nsRt)!;
  ratios['createJoin_nsnet_over_floor'] = ratio(ns.createJoin.median_ms, fl.createJoin.median_ms);
  ratios['createJoin_nsnetRuntime_over_floorRuntime'] = ratio(rt.createJoin.median_ms, flr.createJoin.median_ms);
  ratios['createJoin_nsnetRuntime_over_floor'] = ratio(rt.createJoin.median_ms, fl.createJoin.median_ms);
  ratios['leaveDelete_nsnet_over_floor'] = ratio(ns.leaveDelete.median_ms, fl.leaveDelete.median_ms);
  ratios['sustained1_nsnet_over_floor'] = ratio(sustain['nsnet1_over_floor'] as number, 1);
  ratios['batched_nsnet_over_floorSequential'] = ratio(batch['ratio'] as number, 1);
  ratios['batched_nsnet_over_floorBackToBack'] = ratio(batch['ratioBackToBack'] as number, 1);
  ratios['createJoin_nsnet_over_floorDefaultQueues'] = ratio(ns.createJoin.median_ms, results.get(flDefault)!.createJoin.median_ms);
  const h = (name: string) => headToHead[name]?.createJoin.median_ms;
  ratios['headToHead_createJoin_nsnet_over_floor'] = ratio(h('nsnet'), h('floor'));
  ratios['headToHead_createJoin_nsnetRuntime_over_floor'] = ratio(h('nsnet-runtime'), h('floor'));
  ratios['headToHead_createJoin_nsnetRuntime_over_floorRuntime'] = ratio(h('nsnet-runtime'), h('floor-runtime'));
  const out = {
    ...machine(),
    load: loadavg(),
    quick: QUICK,
    nsnet: ns,
    baselines: Object.fromEntries([...results.entries()].filter(([i]) => i !== nsOwn).map(([i, r]) => [i.name, r])),
    ratios,
    headToHead,
    joinSplit,
    sustained: sustain,
    batched: batch,
    sandboxStart: start,
    scale: scaleRes,
    scaleWide: scaleWideRes,
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
  row('leave+delete p99 ms', (r) => r.leaveDelete.p99_ms);
  for (const k of ['1', '2', '4', '8']) row(`churn/s, ${k} in flight`, (r) => r.churnPerSec[k] ?? NaN);
  row('sandbox create median ms', (r) => r.sandboxCreate?.median_ms ?? NaN);
  row('sandbox destroy median ms', (r) => r.sandboxDestroy?.median_ms ?? NaN);
  console.log(table(rows));
  console.log('\nratios:', JSON.stringify(ratios, null, 1));
  console.log('create+join split (kernel requests / the rest):', JSON.stringify(joinSplit));
  console.log('sustained:', JSON.stringify(sustain));
  console.log('batched:', JSON.stringify(batch));
  console.log('sandbox start:', JSON.stringify(start));
  console.log('scale:', JSON.stringify({ ...scaleRes, curve_ms: undefined }));
  console.log('soak:', JSON.stringify(soakRes));
  console.log('firewall:', JSON.stringify(fw));
  console.log(`\nwritten ${writeResult(QUICK ? 'quick.json' : 'latest.json', out)}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
