// Per-operation latency through the addon against the same operations done
// with `ip` in the same run, and the addon's own overhead above the kernel.
import { execFileSync } from 'node:child_process';
import * as nl from '../dist/netlink/index.js';
import { run } from './impls/exec.js';
import { machine, now, summarize, table, writeResult, type Summary } from './stats.js';

const QUICK = process.env.NSNET_BENCH_QUICK === '1';
const N = QUICK ? 40 : 200;
const tag = `nb${(process.pid % 1000).toString(36)}`;

interface Row { addon: Summary; ip: Summary; }
const rows: Record<string, Row> = {};

async function pair(label: string, addon: (i: number) => Promise<unknown>, ip: (i: number) => Promise<unknown>, cleanup?: (i: number) => Promise<unknown>): Promise<void> {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < N; i++) {
    let t = now();
    await addon(2 * i);
    a.push(now() - t);
    t = now();
    await ip(2 * i + 1);
    b.push(now() - t);
    if (cleanup) { await cleanup(2 * i); await cleanup(2 * i + 1); }
  }
  rows[label] = { addon: summarize(a), ip: summarize(b) };
}

async function main(): Promise<void> {
  const ns = await nl.netnsAdd(`${tag}ns`);
  const nsName = `${tag}ns`;
  await nl.linkSet(ns, 'lo', { up: true });
  await nl.linkAddBridge(undefined, { name: `${tag}br`, up: true });
  const br = await nl.linkGet(undefined, `${tag}br`);
  await nl.linkAddBridge(ns, { name: 'dev0', up: true });
  const dev = await nl.linkGet(ns, 'dev0');
  try {
    await pair('veth, peer born in a namespace',
      (i) => nl.linkAddVeth(undefined, { name: `${tag}v${i}`, master: br.index, up: true, group: 4242 }, { name: `p${i}`, ns }),
      (i) => run('ip', ['link', 'add', `${tag}v${i}`, 'group', '4242', 'master', `${tag}br`, 'up', 'type', 'veth', 'peer', 'name', `p${i}`, 'netns', nsName]));
    await pair('address add',
      (i) => nl.addrAdd(ns, dev.index, `10.50.${i >> 8}.${i & 255}/32`),
      (i) => run('ip', ['-n', nsName, 'addr', 'add', `10.50.${i >> 8}.${i & 255}/32`, 'dev', 'dev0']));
    await pair('route add',
      (i) => nl.routeAdd(ns, { dst: `10.60.${i >> 8}.${i & 255}/32`, dev: dev.index }),
      (i) => run('ip', ['-n', nsName, 'route', 'add', `10.60.${i >> 8}.${i & 255}/32`, 'dev', 'dev0']));
    await pair('namespace create + delete',
      async (i) => nl.netnsDelete(await nl.netnsAdd(`${tag}x${i}`)),
      async (i) => { await run('ip', ['netns', 'add', `${tag}x${i}`]); await run('ip', ['netns', 'del', `${tag}x${i}`]); });

    // Deleting the 2N veths made above: one by one, then by group.
    const links = (await nl.linkList(undefined)).filter((l) => l.group === 4242);
    const half = links.slice(0, Math.min(20, links.length >> 1));
    let t = now();
    for (const l of half) await nl.linkDel(undefined, l.index);
    const oneByOne = (now() - t) / half.length / 1e6;
    const rest = links.length - half.length;
    t = now();
    await nl.linkDelGroup(undefined, 4242);
    const byGroup = (now() - t) / Math.max(1, rest) / 1e6;
    const dels: number[] = [];
    for (let i = 0; i < Math.min(10, N); i++) {
      await run('ip', ['link', 'add', `${tag}d${i}`, 'type', 'veth', 'peer', 'name', `${tag}e${i}`]);
      const t1 = now();
      await run('ip', ['link', 'del', `${tag}d${i}`]);
      dels.push(now() - t1);
    }

    // The addon's own cost: JS-visible latency minus the time the lane spent in the kernel.
    const overhead: Record<string, { jsVisible_us: number; kernel_us: number; overhead_us: number }> = {};
    for (const [label, fn] of [['noop', () => nl.run(nl.noop())], ['RTM_GETLINK', () => nl.linkGet(ns, 'lo')], ['RTM_GETLINK batch of 10 (per request)', () => nl.batch(Array.from({ length: 10 }, () => nl.linkGetOp(ns, 'lo')))]] as const) {
      const per = label.includes('batch') ? 10 : 1;
      for (let i = 0; i < 500; i++) await fn();
      const xs: number[] = [];
      const s0 = nl.nativeStats();
      const M = QUICK ? 2000 : 10000;
      for (let i = 0; i < M; i++) { const t2 = now(); await fn(); xs.push(now() - t2); }
      const s1 = nl.nativeStats();
      const js = summarize(xs).median_ms * 1000 / per;
      const kernel = (s1.execNs - s0.execNs) / M / 1000 / per;
      overhead[label] = { jsVisible_us: round(js), kernel_us: round(kernel), overhead_us: round(js - kernel) };
    }

    const out = {
      ...machine(), quick: QUICK, n: N,
      operations: Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, { ...v, ratio_ip_over_addon: round(v.ip.median_ms / v.addon.median_ms) }])),
      linkDelete: { addonOneByOne_ms: round(oneByOne), addonByGroup_msPerLink: round(byGroup), groupSize: rest, ipLinkDel: summarize(dels) },
      overhead,
    };
    const tbl: (string | number)[][] = [['operation', 'addon median ms', 'addon p90 ms', 'ip median ms', 'ip p90 ms', 'ip / addon']];
    for (const [k, v] of Object.entries(rows)) tbl.push([k, v.addon.median_ms, v.addon.p90_ms, v.ip.median_ms, v.ip.p90_ms, `${(v.ip.median_ms / v.addon.median_ms).toFixed(1)}x`]);
    tbl.push(['link delete, one by one (addon)', round(oneByOne), '', summarize(dels).median_ms, summarize(dels).p90_ms, '']);
    tbl.push([`link delete by group (addon, per link of ${rest})`, round(byGroup), '', '', '', '']);
    console.log(table(tbl));
    console.log(`\n${table([['crossing', 'JS-visible µs', 'kernel µs', 'overhead µs'], ...Object.entries(overhead).map(([k, v]) => [k, v.jsVisible_us, v.kernel_us, v.overhead_us])])}`);
    console.log(`\nwritten ${writeResult('native.json', out)}`);
  } finally {
    await nl.linkDelGroup(undefined, 4242).catch(() => undefined);
    for (let i = 0; i < Math.min(10, N); i++) {
      try { execFileSync('ip', ['link', 'del', `${tag}d${i}`], { stdio: 'ignore' }); } catch { /* already deleted */ }
    }
    await nl.linkDel(undefined, br.index).catch(() => undefined);
    await nl.netnsDelete(ns);
  }
}

const round = (x: number) => Math.round(x * 1000) / 1000;

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
