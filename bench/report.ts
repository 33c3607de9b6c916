// Renders bench/results/*.json as the README's benchmark section (between
// the <!-- bench:start --> and <!-- bench:end --> markers).
import { readFileSync, writeFileSync } from 'node:fs';

type S = { median_ms: number; p90_ms: number; p99_ms: number };
interface R { createJoin: S; leaveDelete: S; churnPerSec: Record<string, number>; sandboxCreate: S; sandboxDestroy: S }
const load = <T>(f: string): T => JSON.parse(readFileSync(new URL(`./results/${f}`, import.meta.url), 'utf8')) as T;
const main = load<{ date: string; kernel: string; cpus: number; cpu: string; node: string; quick: boolean; nsnet: R; baselines: Record<string, R>; ratios: Record<string, number>; scale: Record<string, number>; soak: { cycles: number; cyclesPerSec: number; leaks: Record<string, number> }; firewall: Record<string, number | S | string> }>('latest.json');
const native = load<{ operations: Record<string, { addon: S; ip: S; ratio_ip_over_addon: number }>; linkDelete: { addonOneByOne_ms: number; addonByGroup_msPerLink: number; groupSize: number; ipLinkDel: S }; overhead: Record<string, { jsVisible_us: number; kernel_us: number; overhead_us: number }> }>('native.json');
const ipam = load<{ results: Record<string, { pairsPerSec: number; naivePairsPerSec: number | null; bytes: number }>; slowdown16_10to99: number }>('ipam.json');

const cli = load<{ runs: number; bareNode: S; networkLs: S; ratio_ls_over_bare: number }>('cli.json');
const cni = load<{ rounds: number; add: Record<string, S>; del: Record<string, S>; version: Record<string, S>; addPerSec4: Record<string, number>; ratios: Record<string, number> }>('cni.json');

const f = (x: number, d = 2) => x.toFixed(d);
const impls: [string, R][] = [['nsnet', main.nsnet], ...Object.entries(main.baselines)];
const row = (label: string, g: (r: R) => string) => `| ${label} | ${impls.map(([, r]) => g(r)).join(' | ')} |`;
const r = main.ratios;
const fw = main.firewall as unknown as { backend: string; createJoinOnePublishedPort: S; createJoinPlain: S; networkCreateFirst_ms: number; networkCreateLast_ms: number; networks: number };
const lines = [
  `Run ${main.date.slice(0, 10)} on ${main.cpus} × ${main.cpu}, kernel ${main.kernel}, Node ${main.node}${main.quick ? ' (quick mode)' : ''}. Reproduce: \`npm run bench\` (about 4 minutes; \`NSNET_BENCH_QUICK=1\` for a one-minute version with the same schema), then \`npm run bench:report\`. Raw figures: \`bench/results/latest.json\`.`,
  '',
  'Endpoint lifecycle through the public API (controller, bridge network, existing sandbox), against two baselines run interleaved in the same process: iproute2 with two execs per endpoint (`ip link add … peer … netns` + `ip -n NS -batch`), and the CNI bridge plugin with host-local IPAM (Debian `containernetworking-plugins` 1.1.1, isGateway, no ipMasq). Each round gives every implementation a block of 5 cycles (first one untimed), in rotating order; the kernel is left to finish destroying namespaces between phases.',
  '',
  `| | ${impls.map(([n]) => n).join(' | ')} |`,
  `|---|${impls.map(() => '---').join('|')}|`,
  row('create+join median / p90 / p99 ms', (x) => `${f(x.createJoin.median_ms)} / ${f(x.createJoin.p90_ms)} / ${f(x.createJoin.p99_ms)}`),
  row('leave+delete median / p90 ms', (x) => `${f(x.leaveDelete.median_ms)} / ${f(x.leaveDelete.p90_ms)}`),
  ...['1', '2', '4', '8'].map((k) => row(`churn cycles/s, ${k} in flight`, (x) => f(x.churnPerSec[k] ?? NaN, 0))),
  row('sandbox create / destroy median ms', (x) => `${f(x.sandboxCreate.median_ms)} / ${f(x.sandboxDestroy.median_ms)}`),
  '',
  '| target (ratio of medians, same run) | result |',
  '|---|---|',
  `| create+join ≥ 5× faster than iproute2 | ${f(r['createJoin_iproute2_over_nsnet']!)}× |`,
  `| create+join ≥ 10× faster than CNI | ${f(r['createJoin_cni_over_nsnet']!)}× |`,
  `| leave+delete ≥ 10× faster than CNI | ${f(r['leaveDelete_cni_over_nsnet']!)}× |`,
  `| sequential churn ≥ 10× CNI's | ${f(r['churn1_nsnet_over_cni']!)}× |`,
  `| churn with 4 in flight above sequential | ${f(r['churn4_over_churn1_nsnet']!)}× |`,
  `| scale: 1,000 endpoints in 1,000 sandboxes over 4 networks, per-endpoint growth 1st→1000th ≤ 2× | ${f(main.scale['growth']!)}× (median of first 100 ${f(main.scale['firstMedian_ms']!)} ms, last 100 ${f(main.scale['lastMedian_ms']!)} ms); JS heap ${f(main.scale['heapPerEndpoint_kb'] ?? NaN, 1)} KiB and RSS ${f(main.scale['rssPerEndpoint_kb']!, 1)} KiB per endpoint |`,
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
  `CNI (\`npm run bench:cni\`), exec'd as a runtime does, interleaved (${cni.rounds} rounds): ADD ${f(cni.add['nsnet-cni']!.median_ms, 1)} ms with \`nsnet-cni\` against ${f(cni.add['bridge+host-local']!.median_ms, 1)} ms with the reference bridge + host-local plugins (${f(cni.ratios['add_reference_over_nsnet']!)}×, target ≥ 5×; ${f(cni.ratios['addNet_reference_over_nsnet']!)}× once this run's process-creation floor, \`/bin/true\` at ${f(cni.version['/bin/true']!.median_ms, 1)} ms, is taken off both), DEL ${f(cni.del['nsnet-cni']!.median_ms, 1)} against ${f(cni.del['bridge+host-local']!.median_ms, 1)} ms; ADD with 4 callers ${f(cni.addPerSec4['nsnet-cni']!, 0)}/s against ${f(cni.addPerSec4['bridge+host-local']!, 0)}/s; the shim's own start-to-exit (VERSION) ${f(cni.version['nsnet-cni']!.median_ms, 1)} ms.`,
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

const readme = new URL('../README.md', import.meta.url);
const text = readFileSync(readme, 'utf8');
const start = '<!-- bench:start -->';
const end = '<!-- bench:end -->';
const out = text.includes(start)
  ? text.replace(new RegExp(`${start}[\\s\\S]*${end}`), `${start}\n${lines.join('\n')}\n${end}`)
  : `${text.trimEnd()}\n\n## Benchmarks\n\n${start}\n${lines.join('\n')}\n${end}\n`;
writeFileSync(readme, out);
console.log(lines.join('\n'));
