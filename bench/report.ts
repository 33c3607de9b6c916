// Renders bench/results/*.json as the README's benchmark section (between
// the <!-- bench:start --> and <!-- bench:end --> markers).
import { readFileSync, writeFileSync } from 'node:fs';

type S = { median_ms: number; p90_ms: number; p99_ms: number };
interface R { createJoin: S; leaveDelete: S; churnPerSec: Record<string, number>; sandboxCreate?: S; sandboxDestroy?: S }
const load = <T>(f: string): T => JSON.parse(readFileSync(new URL(`./results/${f}`, import.meta.url), 'utf8')) as T;
type ScaleFloor = { first: S; last: S; firstMedian_ms: number; lastMedian_ms: number; growth: number; curve_ms: number[]; sandboxCreateFirstMedian_ms: number; sandboxCreateLastMedian_ms: number };
type Sustain = { cycles: number; inFlight: number; churnSeconds: number; quiescenceMs: number; perSec: number; reaperRounds: number; reapedLinks: number; reaperBusyMs: number; reaperMsPerLink: number };
const main = load<{
  date: string; kernel: string; cpus: number; cpu: string; node: string; quick: boolean; load?: number[]; nsnet: R; baselines: Record<string, R>; ratios: Record<string, number>;
  scale: Record<string, number> & { first?: S; last?: S; curve_ms?: number[]; skipped?: boolean;
    floor?: ScaleFloor; floorNsnetShape?: ScaleFloor;
    splitFirst?: { n: number; kernel_ms: number; outside_ms: number }; splitLast?: { n: number; kernel_ms: number; outside_ms: number } };
  scaleWide?: Record<string, number> & { first?: S; last?: S; skipped?: boolean };
  soak: { cycles: number; cyclesPerSec: number; leaks: Record<string, number> }; firewall: Record<string, number | S | string>;
  sustained: { nsnet1: Sustain; nsnet4: Sustain; floor: { cycles: number; perSec: number } };
  batched: { batch: number; sandboxes: number; joinManyPerSec: number; floorSequentialPerSec: number; ratio: number; joinMany: S; floorSequential: S;
    floorBackToBackPerSec?: number; ratioBackToBack?: number; floorBackToBack?: S };
  sandboxStart: { withoutPool: S; withPool: S; ratio: number };
  headToHead?: Record<string, { createJoin: S; leaveDelete: S }>;
  joinSplit?: Record<'main' | 'headToHead', Record<string, { n: number; kernel_ms: number; outside_ms: number }>>;
}>(process.env.NSNET_BENCH_RESULT ?? 'latest.json');
const native = load<{ operations: Record<string, { addon: S; ip: S; ratio_ip_over_addon: number }>; linkDelete: { addonOneByOne_ms: number; addonByGroup_msPerLink: number; groupSize: number; ipLinkDel: S }; overhead: Record<string, { jsVisible_us: number; kernel_us: number; overhead_us: number }> }>('native.json');
const ipam = load<{ results: Record<string, { pairsPerSec: number; naivePairsPerSec: number | null; bytes: number }>; slowdown16_10to99: number }>('ipam.json');

const cli = load<{ runs: number; bareNode: S; networkLs: S; ratio_ls_over_bare: number }>('cli.json');
const cni = load<{ rounds: number; add: Record<string, S>; del: Record<string, S>; floor: S; version: Record<string, S>; addPerSec4: Record<string, number>; ratios: Record<string, number> }>('cni.json');

const f = (x: number, d = 2) => x.toFixed(d);
const impls: [string, R][] = [['nsnet', main.nsnet], ...Object.entries(main.baselines)];
const row = (label: string, g: (r: R) => string) => `| ${label} | ${impls.map(([, r]) => g(r)).join(' | ')} |`;
const r = main.ratios;
const fw = main.firewall as unknown as { backend: string; createJoinOnePublishedPort: S; createJoinPlain: S; networkCreateFirst_ms: number; networkCreateLast_ms: number; networks: number };
const fl = main.baselines['floor']!;
const flr = main.baselines['floor-runtime']!;
const rt = main.baselines['nsnet-runtime']!;
const sc = main.scale;
const scw = main.scaleWide;
const su = main.sustained;
const b = main.batched;
const ps = (x: S) => `${f(x.median_ms)} / ${f(x.p90_ms)} / ${f(x.p99_ms)}`;
const lines = [
  `Run ${main.date.slice(0, 10)} on ${main.cpus} × ${main.cpu}, kernel ${main.kernel}, Node ${main.node}${main.quick ? ' (quick mode)' : ''}${main.load ? `, load average ${main.load.map((x) => x.toFixed(2)).join(' / ')} at the end of the run` : ''}. Reproduce: \`npm run bench\` (about 10 minutes; \`NSNET_BENCH_QUICK=1\` for a short version with the same schema, \`NSNET_BENCH_ONLY=latency\` for the two latency phases alone, printed, in about 2 minutes; \`NSNET_BENCH_ONLY=batched\` the batched phase alone, in about 1.5, \`NSNET_BENCH_ONLY=scale\` the two scale runs alone, without the floor\'s, in about 1.5, with \`NSNET_BENCH_SCALE_FLOOR=1\` the floors\' too), then \`npm run bench:report\`. Raw figures: \`bench/results/latest.json\`.`,
  '',
  'Method. Every implementation runs in the same process and the same run, interleaved: each round gives each a block of 5 create+join / leave+delete cycles (the first untimed), in rotating order, and deferred work of one (nsnet\'s reaper) is finished, untimed, before the next one\'s turn, as is a full garbage collection (the harness\'s garbage, e.g. from the baselines\' child processes, is not collected inside another implementation\'s cycles); the baselines\' commands are spawned by a helper process, so the measuring process never forks. Each phase starts once the namespaces the last one deleted are gone and the machine has been idle (at least 90% of CPU time) for half a second. The batched phase collects garbage before each timed batch too, and starts each one the same time after the previous teardown. A second latency phase runs nsnet and the floor alone, the same way. **floor** is `bench/floor/floor.c`, the kernel\'s minimum for a bridge join (veth from the host side with IFLA_MASTER and IFF_UP on the host end, the peer born in the namespace as eth0 with the reply echoed, then peer up, address, default route: four requests on sockets kept open per namespace; both veth ends created with one transmit and one receive queue, as nsnet creates them, into a bridge without multicast snooping, as nsnet makes its bridges) and a synchronous RTM_DELLINK for leave+delete; **floor-default-queues** is the same with the kernel\'s default queues (one per CPU, each end then cut to one active queue, an expedited RCU grace period each), the veth `ip link add` and Docker make, and this floor\'s shape before nsnet allocated one queue; it is shown for reference, never as the denominator of a target. The scale run also runs the floor in nsnet\'s shape (`floor BRIDGE 1 host-ipv6-off`, namespaces numbered downward in the host at creation): nsnet\'s five kernel operations per join, timed in C (nsnet\'s requests also carry the MACs, a link group, the MTU and address flags; the floor\'s do not), the kernel\'s own cost of what nsnet asks of it. The floor times itself inside the C process, so its figures exclude every process boundary. nsnet\'s figures are what a caller of the public API sees (`createEndpoint` + `join`, `leave` + `delete`), running the compiled library in `dist/`: IPAM, records, the store (writes nobody waits for are committed together up to 10 ms later; that commit runs on the JS thread inside the measured loops), the addon\'s job (run on the calling thread when nothing else is pending, else on its lane thread; a joinMany of 32 too), and five kernel operations: four rtnetlink requests and one sysctl write that disables IPv6 on the host end, handed to the addon as one request that it expands (`vethJoinOp`). Sandbox creation, outside create+join (it has its own row), also numbers the namespace in the host: one more request, which spares every later join a walk of the host\'s namespace-ID table (Design choices). nsnet\'s leave+delete *excludes* the link\'s destruction (about 20 ms of kernel RCU waiting), which the reaper does later, batched; the sustained churn row *includes* it (measured until the reaper has deleted every left link). "runtime" columns join namespaces made by `ip netns add` and given by path; the others join namespaces the implementation made itself. iproute2 (two execs per endpoint) and CNI (bridge + host-local) are exec baselines. Percentiles are nearest-rank.',
  '',
  `| | ${impls.map(([n]) => n).join(' | ')} |`,
  `|---|${impls.map(() => '---').join('|')}|`,
  row('create+join median / p90 / p99 ms', (x) => ps(x.createJoin)),
  row('leave+delete median / p90 / p99 ms', (x) => ps(x.leaveDelete)),
  ...['1', '2', '4', '8'].map((k) => row(`churn cycles/s, ${k} in flight`, (x) => (x.churnPerSec[k] === undefined ? '' : f(x.churnPerSec[k]!, 0)))),
  row('sandbox create / destroy median ms', (x) => (x.sandboxCreate && x.sandboxDestroy ? `${f(x.sandboxCreate.median_ms)} / ${f(x.sandboxDestroy.median_ms)}` : '')),
  '',
  '![create+join and leave+delete medians per implementation, against the floor](bench/results/latency.svg)',
  '',
  '| against the floor (ratio of medians, same run) | target | result |',
  '|---|---|---|',
  `| create+join, namespaces the implementation made: nsnet ${f(main.nsnet.createJoin.median_ms)} ms / floor ${f(fl.createJoin.median_ms)} ms | ≤ 1.25× | ${f(main.nsnet.createJoin.median_ms / fl.createJoin.median_ms)}× |`,
  `| create+join, runtime-made namespaces: nsnet ${f(rt.createJoin.median_ms)} ms / floor ${f(fl.createJoin.median_ms)} ms (floor in runtime-made ones: ${f(flr.createJoin.median_ms)} ms) | ≤ 1.4× | ${f(rt.createJoin.median_ms / fl.createJoin.median_ms)}× (${f(rt.createJoin.median_ms / flr.createJoin.median_ms)}× against the floor's runtime-made) |`,
  ...(main.headToHead?.['nsnet'] && main.headToHead['floor'] ? (() => {
    const hh = main.headToHead!;
    const n = hh['nsnet']!.createJoin.median_ms, fo = hh['floor']!.createJoin.median_ms;
    const nr = hh['nsnet-runtime']?.createJoin.median_ms ?? NaN, frr = hh['floor-runtime']?.createJoin.median_ms ?? NaN;
    return [
      `| the same, head to head (nsnet and the floor alone in a second latency phase of the run, no exec baseline between their blocks): nsnet ${f(n)} ms (p90 ${f(hh['nsnet']!.createJoin.p90_ms)}) / floor ${f(fo)} ms | ≤ 1.25× | ${f(n / fo)}× |`,
      `| runtime-made namespaces, head to head: nsnet ${f(nr)} ms / floor ${f(fo)} ms (floor in runtime-made ones: ${f(frr)} ms) | ≤ 1.4× | ${f(nr / fo)}× (${f(nr / frr)}× against the floor's runtime-made) |`,
    ];
  })() : []),
  ...(main.joinSplit ? (() => {
    const js = main.joinSplit!;
    const part = (p: { n: number; kernel_ms: number; outside_ms: number } | undefined) => (p ? `${f(p.kernel_ms)} + ${f(p.outside_ms)}` : 'n/a');
    return [`| where nsnet's create+join goes (medians, ms: the addon's time inside the kernel requests + everything else, over the joins run on the calling thread): main phase ${part(js.main['nsnet'])}, runtime-made ${part(js.main['nsnet-runtime'])}; head to head ${part(js.headToHead['nsnet'])}, runtime-made ${part(js.headToHead['nsnet-runtime'])} | | |`];
  })() : []),
  ...(main.baselines['floor-default-queues'] ? [`| for reference: create+join, nsnet ${f(main.nsnet.createJoin.median_ms)} ms / floor-default-queues ${f(main.baselines['floor-default-queues'].createJoin.median_ms)} ms (the same requests, veths with the kernel's default queues) | | ${f(main.nsnet.createJoin.median_ms / main.baselines['floor-default-queues'].createJoin.median_ms)}× |`] : []),
  `| leave+delete returning (nsnet median / p99) | ≤ 1.0 ms | ${f(main.nsnet.leaveDelete.median_ms)} / ${f(main.nsnet.leaveDelete.p99_ms)} ms (the floor's synchronous delete ${f(fl.leaveDelete.median_ms)} ms) |`,
  `| sustained churn over ${f(su.nsnet1.churnSeconds, 0)} s until quiescence, 1 in flight (quiescence ${f(su.nsnet1.quiescenceMs, 0)} ms): nsnet ${f(su.nsnet1.perSec, 0)}/s, floor's synchronous ${f(su.floor.perSec, 0)}/s | | ${f(su.nsnet1.perSec / su.floor.perSec)}× |`,
  `| the same with 4 in flight (quiescence ${f(su.nsnet4.quiescenceMs, 0)} ms): nsnet ${f(su.nsnet4.perSec, 0)}/s | | ${f(su.nsnet4.perSec / su.floor.perSec)}× |`,
  `| the reaper's own cost in that run: ${su.nsnet4.reaperRounds} rounds, ${su.nsnet4.reapedLinks} links, ${f(su.nsnet4.reaperBusyMs, 0)} ms on the slow lane | | ${f(su.nsnet4.reaperMsPerLink, 3)} ms per link |`,
  `| batched: joinMany of ${b.batch} endpoints over ${b.sandboxes} sandboxes, one crossing (${f(b.joinMany.median_ms)} ms), against the floor doing the same joins one after another, one command each (${f(b.floorSequential.median_ms)} ms, the sum of its own timings) | ≥ 0.9× | ${f(b.joinManyPerSec, 0)} against ${f(b.floorSequentialPerSec, 0)} joins/s: ${f(b.ratio)}× |`,
  ...(b.floorBackToBack ? [`| the same against the floor doing the ${b.batch} joins back to back in one command, timed as one (${f(b.floorBackToBack.median_ms)} ms): no pause between joins, the kernel's follow-up work on earlier joins included | | ${f(b.joinManyPerSec, 0)} against ${f(b.floorBackToBackPerSec!, 0)} joins/s: ${f(b.ratioBackToBack!)}× |`] : []),
  `| sandbox start (newSandbox), without / with a filled pool (netnsPool 8) | | ${f(main.sandboxStart.withoutPool.median_ms)} / ${f(main.sandboxStart.withPool.median_ms)} ms (${f(main.sandboxStart.ratio)}×) |`,
  sc.skipped ? '| scale | | not run |' : `| scale: ${sc['endpoints']} endpoints in ${sc['endpoints']} sandboxes over ${sc['networks']} bridges, create+join of the last ${sc['window']} over the first ${sc['window']} | ≤ 1.5× | ${f(sc['growth']!)}× (medians ${f(sc['firstMedian_ms']!)} → ${f(sc['lastMedian_ms']!)} ms; p99 ${f(sc.first?.p99_ms ?? NaN)} → ${f(sc.last?.p99_ms ?? NaN)} ms); worst single join ${f(sc['worstJoin_ms']!)} ms (endpoint ${sc['worstJoinAt']}); JS heap ${f(sc['heapPerEndpoint_kb'] ?? NaN, 1)} KiB and RSS ${f(sc['rssPerEndpoint_kb']!, 1)} KiB per endpoint |`,
  ...(scw && !scw.skipped ? [`| the same ${scw['endpoints']} endpoints over ${scw['networks']} bridges (${Math.round(scw['endpoints']! / scw['networks']!)} ports each, a fifth as many per bridge; no floor run): last ${scw['window']} over the first ${scw['window']} | ≤ 1.5× | ${f(scw['growth']!)}× (medians ${f(scw['firstMedian_ms']!)} → ${f(scw['lastMedian_ms']!)} ms); worst single join ${f(scw['worstJoin_ms']!)} ms |`] : []),
  ...(sc.floor ? [`| the floor doing the same scale run (5 processes, one per bridge, 4 requests per join): last ${sc['window']} over the first ${sc['window']}; nsnet's last ${sc['window']} against the floor's | | ${f(sc.floor.growth)}× (medians ${f(sc.floor.firstMedian_ms)} → ${f(sc.floor.lastMedian_ms)} ms; its namespace creation ${f(sc.floor.sandboxCreateFirstMedian_ms)} → ${f(sc.floor.sandboxCreateLastMedian_ms)} ms); nsnet ${f(sc['lastOverFloorLast']!)}× the floor there |`] : []),
  ...(sc.floorNsnetShape ? [`| the floor in nsnet's shape doing the same scale run (nsnet's join: the veth from the namespace's side, the host end's IPv6 off before it is up, four requests and the sysctl; namespaces numbered downward at creation, as nsnet numbers them): the kernel's own cost of nsnet's requests | | ${f(sc.floorNsnetShape.growth)}× (medians ${f(sc.floorNsnetShape.firstMedian_ms)} → ${f(sc.floorNsnetShape.lastMedian_ms)} ms); nsnet ${f(sc['lastOverShapedFloorLast']!)}× it there |`] : []),
  ...(sc.splitFirst && sc.splitLast ? [`| where nsnet's growth over 5 bridges is (medians over the joins run on the calling thread, first ${sc['window']} → last ${sc['window']}): the time inside the kernel requests, and everything else | | kernel ${f(sc.splitFirst.kernel_ms)} → ${f(sc.splitLast.kernel_ms)} ms, the rest ${f(sc.splitFirst.outside_ms)} → ${f(sc.splitLast.outside_ms)} ms |`] : []),
  '',
  ...(sc.curve_ms ? ['![create+join median per 1% of endpoints over the scale run](bench/results/scale.svg)', ''] : []),
  '| against the exec baselines (ratio of medians, same run) | result |',
  '|---|---|',
  `| create+join ≥ 5× faster than iproute2 | ${f(r['createJoin_iproute2_over_nsnet']!)}× |`,
  `| create+join ≥ 10× faster than CNI | ${f(r['createJoin_cni_over_nsnet']!)}× |`,
  `| leave+delete ≥ 10× faster than CNI | ${f(r['leaveDelete_cni_over_nsnet']!)}× |`,
  `| sequential churn ≥ 10× CNI's | ${f(r['churn1_nsnet_over_cni']!)}× |`,
  `| churn with 4 in flight above sequential | ${f(r['churn4_over_churn1_nsnet']!)}× |`,
  `| soak: ${main.soak.cycles} churn cycles (${f(main.soak.cyclesPerSec, 0)}/s, 4 in flight), nothing left over | leaks: ${Object.entries(main.soak.leaks).map(([k, v]) => `${k} ${v}`).join(', ')} |`,
  '',
  `Firewall (${fw.backend}): create+join with one published port ${f(fw.createJoinOnePublishedPort.median_ms)} ms against ${f(fw.createJoinPlain.median_ms)} ms without; creating the 1st network ${f(fw.networkCreateFirst_ms)} ms, the ${fw.networks}th ${f(fw.networkCreateLast_ms)} ms (rules do not grow per network).`,
  '',
  'The native layer (`npm run bench:native`), addon against the same operation with `ip`, same run:',
  '',
  '| operation | addon median ms | ip median ms | ip / addon |',
  '|---|---|---|---|',
  ...Object.entries(native.operations).map(([k, v]) => `| ${k} | ${f(v.addon.median_ms, 3)} | ${f(v.ip.median_ms, 3)} | ${f(v.ratio_ip_over_addon, 1)}× |`),
  `| link delete: one by one / by group (per link, ${native.linkDelete.groupSize} links) | ${f(native.linkDelete.addonOneByOne_ms, 1)} / ${f(native.linkDelete.addonByGroup_msPerLink, 2)} | ${f(native.linkDelete.ipLinkDel.median_ms, 1)} | |`,
  '',
  '| crossing | JS-visible µs | in the kernel µs | addon + JS overhead µs |',
  '|---|---|---|---|',
  ...Object.entries(native.overhead).map(([k, v]) => `| ${k} | ${f(v.jsVisible_us, 1)} | ${f(v.kernel_us, 1)} | ${f(v.overhead_us, 1)} |`),
  '',
  `CNI (\`npm run bench:cni\`), exec'd as a runtime does by a small C driver (\`bench/exec-driver\`: posix_spawn with the runtime's environment, the configuration on stdin, stdout read to its end, waitpid; each call timed inside the driver from spawn to reaped, so Node's own process creation is in neither side's figures), interleaved (${cni.rounds} rounds): ADD ${f(cni.add['nsnet-cni']!.median_ms, 2)} ms with \`nsnet-cni\` against ${f(cni.add['bridge+host-local']!.median_ms, 1)} ms with the reference bridge + host-local plugins (**${f(cni.ratios['add_reference_over_nsnet']!)}×**, target ≥ 5×), DEL ${f(cni.del['nsnet-cni']!.median_ms, 2)} against ${f(cni.del['bridge+host-local']!.median_ms, 1)} ms (${f(cni.ratios['del_reference_over_nsnet']!)}×); ADD with 4 callers ${f(cni.addPerSec4['nsnet-cni']!, 0)}/s against ${f(cni.addPerSec4['bridge+host-local']!, 0)}/s. Start-to-exit without network work (VERSION): \`nsnet-cni\` ${f(cni.version['nsnet-cni']!.median_ms, 2)} ms, the bridge plugin ${f(cni.version['bridge plugin']!.median_ms, 1)} ms, \`/bin/true\` ${f(cni.version['/bin/true']!.median_ms, 2)} ms; \`/bin/true\` is also exec'd in every latency round (${f(cni.floor.median_ms, 2)} ms). With that exec floor taken off both, ADD is ${f(cni.ratios['addNet_reference_over_nsnet']!)}× (an overstatement: \`nsnet-cni\` starts faster than \`/bin/true\`); with each binary's own start-to-exit taken off instead, ${f(cni.ratios['addWork_reference_over_nsnet']!)}×.`,
  '',
  `The CLI (\`npm run bench:cli\`): \`nsnet network ls\` against a running daemon ${f(cli.networkLs.median_ms, 1)} ms, a bare \`node -e 0\` ${f(cli.bareNode.median_ms, 1)} ms in the same run (median of ${cli.runs}, interleaved): ${f(cli.ratio_ls_over_bare)}× (target ≤ 1.5×).`,
  '',
  'IPAM (`npm run bench:ipam`), allocate+release pairs per second, against a naive Set-and-scan allocator:',
  '',
  '| pool @ fill | nsnet pairs/s | naive pairs/s | pool bytes |',
  '|---|---|---|---|',
  ...Object.entries(ipam.results).map(([k, v]) => `| ${k.replace('@', ' @ ')} | ${v.pairsPerSec.toLocaleString('en')} | ${v.naivePairsPerSec?.toLocaleString('en') ?? 'n/a'} | ${v.bytes.toLocaleString('en')} |`),
  '',
  `A /16 slows down ${f(ipam.slowdown16_10to99)}× from 10% to 99% full.`,
  ...dnsLines(),
  ...overlayLines(),
];

/** Embedded DNS (bench/dns.ts, bench/dns-placement.ts), when their results exist. */
function dnsLines(): string[] {
  type P = { qps: number; p50_ms: number; p99_ms: number; failed: number; lost: number };
  let dns: { seconds: number; containers: number; results: Record<string, Record<string, P>>; startToNameMedianMs: Record<string, number> };
  let place: { n: number; createJoin: S; nftInSandboxWithRules: S; nftInSandboxEmpty: S; perSandboxDnatMedianMs: number; perNetworkBind: S };
  try {
    dns = load('dns.json');
    place = load('dns-placement.json');
  } catch {
    return [];
  }
  return [
    '',
    `Embedded DNS (\`npm run bench:dns\`): dnsperf 2.10 inside a container's namespace for ${dns.seconds} s per run (4 clients, 64 outstanding), against nsnet's resolver (in the daemon's process) and aardvark-dns 1.4 with the same ${dns.containers + 1} records on the same gateway, alternating; forwarded names go to one upstream in a namespace of the run.`,
    '',
    '| names | server | queries/s | p50 ms | p99 ms | failed | lost |',
    '|---|---|---|---|---|---|---|',
    ...Object.entries(dns.results).flatMap(([label, by]) => Object.entries(by).map(([impl, x]) =>
      `| ${label} | ${impl} | ${f(x.qps, 0)} | ${f(x.p50_ms)} | ${f(x.p99_ms)} | ${x.failed} | ${x.lost} |`)),
    '',
    `Start to name resolving, median: nsnet ${f(dns.startToNameMedianMs['nsnet']!)} ms (docker start: sandbox, create+join, records), aardvark ${f(dns.startToNameMedianMs['aardvark']!)} ms (its config line and SIGHUP alone). Placement (\`npm run bench:dns-placement\`, ${place.n} sandboxes): create+join ${f(place.createJoin.median_ms)} ms; a 127.0.0.11 DNAT table in the sandbox adds ${f(place.perSandboxDnatMedianMs)} ms (median of \`nsenter nft -f\` with the table minus without); the gateway's two sockets cost ${f(place.perNetworkBind.median_ms, 3)} ms once per network.`,
  ];
}


/** A horizontal bar chart, plain SVG (no dependency): one bar per label. */
function bars(title: string, data: [string, number][], unit: string, mark?: number): string {
  const w = 640, rowH = 22, left = 150, top = 34, max = Math.max(...data.map(([, v]) => v), mark ?? 0) * 1.1;
  const x = (v: number) => left + ((w - left - 60) * v) / max;
  const h = top + data.length * rowH + 20;
  const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="${w}" height="${h}" fill="white"/><text x="10" y="20" font-size="14">${esc(title)}</text>`,
    ...data.map(([k, v], i) => `<text x="${left - 6}" y="${top + i * rowH + 15}" text-anchor="end">${esc(k)}</text><rect x="${left}" y="${top + i * rowH + 4}" width="${x(v) - left}" height="${rowH - 8}" fill="${k.startsWith('floor') ? '#888' : '#3465a4'}"/><text x="${x(v) + 4}" y="${top + i * rowH + 15}">${f(v)} ${unit}</text>`),
    ...(mark ? [`<line x1="${x(mark)}" x2="${x(mark)}" y1="${top}" y2="${h - 16}" stroke="#c00" stroke-dasharray="4"/>`] : []),
    '</svg>',
  ].join('\n');
}

/** Lines over the scale run: median create+join per 1% of endpoints (nsnet blue, the floor grey). */
function curve(title: string, series: [string, number[]][], total: number): string {
  const ys = series[0]![1];
  const w = 640, h = 260, l = 50, t = 30, b = 30, max = Math.max(...series.flatMap(([, v]) => v)) * 1.1;
  const px = (i: number) => l + ((w - l - 20) * i) / (ys.length - 1);
  const py = (v: number) => h - b - ((h - t - b) * v) / max;
  const ticks = [0, max / 2, max].map((v) => `<text x="${l - 6}" y="${py(v) + 4}" text-anchor="end">${f(v)}</text>`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="${w}" height="${h}" fill="white"/><text x="10" y="18" font-size="14">${title}</text>`,
    `<line x1="${l}" x2="${w - 20}" y1="${h - b}" y2="${h - b}" stroke="#000"/><line x1="${l}" x2="${l}" y1="${t}" y2="${h - b}" stroke="#000"/>`,
    ...ticks,
    `<text x="${l}" y="${h - 10}">0</text><text x="${w - 20}" y="${h - 10}" text-anchor="end">${total} endpoints</text><text x="${(w + l) / 2}" y="${h - 10}" text-anchor="middle">ms per create+join</text>`,
    ...series.map(([name, v], k) => {
      const color = name.startsWith('floor') ? '#888' : '#3465a4';
      const dash = name.includes('dashed') ? ' stroke-dasharray="6 4"' : '';
      return `<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${v.map((y, i) => `${px(i).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>` +
        `<text x="${l + 10}" y="${t + 14 + 14 * k}" fill="${color}">${name}</text>`;
    }),
    '</svg>',
  ].join('\n');
}
/** The overlay driver's kernel side (bench/overlay.ts), when its results exist. */
function overlayLines(): string[] {
  type Pair = { bridge: S; overlay: S };
  type T = { medianGbitPerS: number; runs: number[] };
  let o: { createJoin: Pair; leaveDelete: Pair; networkCreateDelete: Pair; addPeer: S; removePeer: S; peers: number; throughput: Record<'overlay' | 'bridge' | 'underlay', T> };
  try {
    o = load('overlay.json');
  } catch {
    return [];
  }
  const row = (what: string, p: Pair) => `| ${what} | ${f(p.bridge.median_ms)} | ${f(p.overlay.median_ms)} / ${f(p.overlay.p99_ms)} | ${f(p.overlay.median_ms / p.bridge.median_ms)}× |`;
  const t = o.throughput;
  const spread = (x: T) => `${f(Math.min(...x.runs), 1)}–${f(Math.max(...x.runs), 1)}`;
  const within = (v: number, x: T) => v >= Math.min(...x.runs) && v <= Math.max(...x.runs);
  return [
    '',
    'Overlay networks (`npm run bench:overlay`), the kernel side, beside bridge networks of the same controller in the same run (rounds interleaved); the peers are fed by the bench:',
    '',
    '| | bridge median ms | overlay median / p99 ms | overlay / bridge |',
    '|---|---|---|---|',
    row('endpoint create+join', o.createJoin),
    row('endpoint leave+delete', o.leaveDelete),
    row('network create+delete', o.networkCreateDelete),
    '',
    `addPeer ${f(o.addPeer.median_ms, 3)} ms median (p99 ${f(o.addPeer.p99_ms)}), removePeer ${f(o.removePeer.median_ms, 3)} ms, over ${o.peers} peers of one network (a neighbour and an FDB entry each, one crossing). TCP throughput (python3 sendall on a 2-vCPU machine: bounded by the sender and the machine's load as much as by the kernel; runs of ${o.throughput.overlay.runs.length}, interleaved) between containers on two hosts over the overlay: ${f(t.overlay.medianGbitPerS)} Gbit/s median (runs ${spread(t.overlay)}), ${f(t.overlay.medianGbitPerS / t.underlay.medianGbitPerS)}× the two hosts' underlay addresses (${f(t.underlay.medianGbitPerS)}, runs ${spread(t.underlay)}) and ${f(t.overlay.medianGbitPerS / t.bridge.medianGbitPerS)}× two containers on one host's bridge (${f(t.bridge.medianGbitPerS)}, runs ${spread(t.bridge)})${within(t.overlay.medianGbitPerS, t.underlay) ? ': the overlay\'s median lies within the underlay\'s runs, so this run does not show the encapsulation\'s cost' : ''}.`,
  ];
}

const svgDir = new URL('./results/', import.meta.url);
writeFileSync(new URL('latency.svg', svgDir), bars('create+join median, ms (same run; grey: the C floor, red: 1.25× the floor)',
  impls.filter(([n]) => n !== 'iproute2' && n !== 'cni').map(([n, x]) => [n, x.createJoin.median_ms]), 'ms', fl.createJoin.median_ms * 1.25));
if (sc.curve_ms) writeFileSync(new URL('scale.svg', svgDir), curve(`create+join over ${sc['endpoints']} endpoints in as many sandboxes (median per 1%)`,
  [['nsnet', sc.curve_ms], ...(sc.floor ? [['floor (C, same run)', sc.floor.curve_ms] as [string, number[]]] : []),
    ...(sc.floorNsnetShape ? [['floor in nsnet\'s shape (dashed)', sc.floorNsnetShape.curve_ms] as [string, number[]]] : [])], sc['endpoints']!));

const readme = new URL('../README.md', import.meta.url);
const text = readFileSync(readme, 'utf8');
const start = '<!-- bench:start -->';
const end = '<!-- bench:end -->';
const out = text.includes(start)
  ? text.replace(new RegExp(`${start}[\\s\\S]*${end}`), `${start}\n${lines.join('\n')}\n${end}`)
  : `${text.trimEnd()}\n\n## Benchmarks\n\n${start}\n${lines.join('\n')}\n${end}\n`;
writeFileSync(readme, out);
console.log(lines.join('\n'));
