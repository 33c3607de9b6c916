// CNI through the exec interface, as a runtime drives it: nsnet-cni (which
// forwards to a running nsnet daemon) against the reference bridge +
// host-local plugins (Debian containernetworking-plugins), on namespaces
// made the same way (`ip netns add`), interleaved in the same run.
// ADD and DEL latency, ADD throughput with 4 concurrent callers, and each
// binary's own start-to-exit cost (VERSION), with /bin/true as the floor of
// an exec. Every call is made and timed by the exec driver (a small C
// process, bench/exec-driver), not by Node: a fork from Node costs several
// milliseconds that no runtime pays.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ownershipFor } from '../dist/driver-api/ownership.js';
import { releaseForwardingClaims } from '../dist/firewall/firewall.js';
import { run } from './impls/exec.js';
import { buildExecDriver, ExecDriver, type Call, type Timed } from './impls/exec-driver.js';
import { CNI_PATH, cniAvailable } from './impls/cni.js';
import { machine, summarize, table, writeResult } from './stats.js';

const QUICK = process.env.NSNET_BENCH_QUICK === '1';
const ROUNDS = QUICK ? 15 : 100;
const PARALLEL_ADDS = QUICK ? 20 : 60;
const SHIM = resolve('build/Release/nsnet-cni');
const TRUE = '/bin/true';
const tag = (process.pid % 1000).toString(36);
const dir = mkdtempSync(join(tmpdir(), 'nsnet-bench-cni-'));
const socket = join(dir, 'nsnet.sock');
const dataDir = join(dir, 'data');
const FORWARD = '/proc/sys/net/ipv4/ip_forward';

interface Plugin {
  name: string;
  bin: string;
  conf: string;
  slot: number;
}

const plugins: Plugin[] = [
  {
    name: 'nsnet-cni',
    bin: SHIM,
    conf: JSON.stringify({ cniVersion: '1.0.0', name: `ncn${tag}`, type: 'nsnet', socket, bridge: `ncn${tag}`, ipam: { subnet: '10.45.1.0/24' } }),
    slot: -1,
  },
  {
    name: 'bridge+host-local',
    bin: `${CNI_PATH}/bridge`,
    conf: JSON.stringify({
      cniVersion: '1.0.0', name: `ncr${tag}`, type: 'bridge', bridge: `ncr${tag}`, isGateway: true, ipMasq: false,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.45.2.0/24' }]], dataDir: join(dir, 'host-local') },
    }),
    slot: -1,
  },
];

/** The environment a runtime passes (libcni: its own environment plus the CNI_* variables). */
const cniCall = (p: Plugin, command: string, id: string, ns: string): Call => ({
  bin: p.bin,
  conf: p.slot,
  env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0', CNI_PATH },
});

function ok(t: Timed, what: string): number {
  if (t.status !== 0) throw new Error(`${what}: exit ${t.status}: ${t.out}`);
  return t.ns;
}

const namespaces: string[] = [];
async function netns(hint: string): Promise<string> {
  const n = `ncb${tag}${hint}${namespaces.length}`;
  await run('ip', ['netns', 'add', n]);
  namespaces.push(n);
  return n;
}

function apiDelete(path: string): Promise<void> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, method: 'DELETE', path }, (res) => { res.resume(); res.on('end', () => resolve()); });
    req.on('error', () => resolve());
    req.end();
  });
}

async function main(): Promise<void> {
  if (!existsSync(SHIM)) throw new Error(`${SHIM} is missing: npm run build:native`);
  if (!cniAvailable()) throw new Error(`the reference plugins are missing in ${CNI_PATH}: apt-get install containernetworking-plugins (or bash scripts/install.sh cni)`);
  const forwardBefore = readFileSync(FORWARD, 'utf8').trim();
  const driver = new ExecDriver(buildExecDriver(dir), dir);
  let daemon: ChildProcess | undefined;
  try {
    for (const p of plugins) p.slot = await driver.conf(p.conf);
    const versionConf = await driver.conf('{"cniVersion":"1.0.0"}');
    daemon = spawn(process.execPath, ['bin/nsnet.js', 'daemon', '--socket', socket, '--data-dir', dataDir,
      '--bridge-name', `ncd${tag}`, '--bridge-subnet', '10.45.0.0/24'], { stdio: 'inherit' });
    for (let i = 0; i < 200 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));

    // Start-to-exit of each binary without network work (VERSION), and the exec floor.
    const version: Record<string, number[]> = { 'nsnet-cni': [], 'bridge plugin': [], [TRUE]: [] };
    const versionOf = async (bin: string) => ok(await driver.call({ bin, conf: versionConf, env: { CNI_COMMAND: 'VERSION' } }), `${bin} VERSION`);
    for (let i = 0; i < ROUNDS; i++) {
      version['nsnet-cni']!.push(await versionOf(SHIM));
      version['bridge plugin']!.push(await versionOf(`${CNI_PATH}/bridge`));
      version[TRUE]!.push(await versionOf(TRUE));
    }

    // Latency: one namespace per plugin, ADD then DEL, rotating which plugin
    // goes first; an exec of /bin/true in every round gives this phase's floor.
    const ns = await Promise.all(plugins.map((_, i) => netns(`l${i}`)));
    for (const [i, p] of plugins.entries()) { // warm-up (nsnet creates its network, the plugin its bridge)
      ok(await driver.call(cniCall(p, 'ADD', `warm${i}`, ns[i]!)), `${p.name} ADD`);
      ok(await driver.call(cniCall(p, 'DEL', `warm${i}`, ns[i]!)), `${p.name} DEL`);
    }
    const add = plugins.map(() => [] as number[]);
    const del = plugins.map(() => [] as number[]);
    const floor: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      for (let k = 0; k < plugins.length; k++) {
        const i = (r + k) % plugins.length;
        const p = plugins[i]!;
        const id = `lat${r}`;
        add[i]!.push(ok(await driver.call(cniCall(p, 'ADD', id, ns[i]!)), `${p.name} ADD`));
        del[i]!.push(ok(await driver.call(cniCall(p, 'DEL', id, ns[i]!)), `${p.name} DEL`));
      }
      floor.push(ok(await driver.call({ bin: TRUE, conf: -1, env: {} }), TRUE));
    }

    // Throughput: PARALLEL_ADDS ADDs into as many namespaces, 4 callers at a time.
    const perSec: number[] = [];
    for (const [i, p] of plugins.entries()) {
      const targets = await Promise.all(Array.from({ length: PARALLEL_ADDS }, (_, k) => netns(`t${i}x${k}`)));
      const r = await driver.parallel(4, targets.map((n, k) => cniCall(p, 'ADD', `par${k}`, n)));
      r.calls.forEach((t, k) => ok(t, `${p.name} ADD par${k}`));
      perSec.push(PARALLEL_ADDS / (r.wallNs / 1e9));
      const d = await driver.parallel(4, targets.map((n, k) => cniCall(p, 'DEL', `par${k}`, n)));
      d.calls.forEach((t, k) => ok(t, `${p.name} DEL par${k}`));
    }

    const s = {
      add: Object.fromEntries(plugins.map((p, i) => [p.name, summarize(add[i]!)])),
      del: Object.fromEntries(plugins.map((p, i) => [p.name, summarize(del[i]!)])),
      floor: summarize(floor),
      version: Object.fromEntries(Object.entries(version).map(([k, v]) => [k, summarize(v)])),
    };
    const med = (o: Record<string, { median_ms: number }>, k: string) => o[k]!.median_ms;
    const f = s.floor.median_ms;
    const REF = 'bridge+host-local';
    const NS = 'nsnet-cni';
    const ratios = {
      add_reference_over_nsnet: med(s.add, REF) / med(s.add, NS),
      del_reference_over_nsnet: med(s.del, REF) / med(s.del, NS),
      add4_nsnet_over_reference: perSec[0]! / perSec[1]!,
      // The same ratios with this run's exec floor (/bin/true, spawn to
      // reaped) taken off both sides: what each plugin adds to an exec.
      addNet_reference_over_nsnet: (med(s.add, REF) - f) / (med(s.add, NS) - f),
      delNet_reference_over_nsnet: (med(s.del, REF) - f) / (med(s.del, NS) - f),
      // nsnet-cni starts faster than /bin/true, so the floor above is taken
      // off it more than it costs: this one takes off each binary's own
      // start-to-exit (VERSION) instead, leaving the work of the call.
      addWork_reference_over_nsnet: (med(s.add, REF) - med(s.version, 'bridge plugin')) / (med(s.add, NS) - med(s.version, NS)),
    };
    console.log(table([
      ['', 'ADD median ms', 'ADD p90 ms', 'DEL median ms', 'DEL p90 ms', `ADD/s, 4 callers`],
      ...plugins.map((p, i) => [p.name, s.add[p.name]!.median_ms, s.add[p.name]!.p90_ms, s.del[p.name]!.median_ms, s.del[p.name]!.p90_ms, Math.round(perSec[i]!)]),
      [TRUE, s.floor.median_ms, s.floor.p90_ms, '', '', ''],
    ]));
    console.log(table([['VERSION start-to-exit', 'median ms', 'p90 ms'], ...Object.entries(s.version).map(([k, v]) => [k, v.median_ms, v.p90_ms])]));
    console.log(`ADD: reference / nsnet-cni = ${ratios.add_reference_over_nsnet.toFixed(2)}x (goal >= 5x), ${ratios.addNet_reference_over_nsnet.toFixed(2)}x above the exec floor, ${ratios.addWork_reference_over_nsnet.toFixed(2)}x above each binary's own start; DEL ${ratios.del_reference_over_nsnet.toFixed(2)}x (${ratios.delNet_reference_over_nsnet.toFixed(2)}x above the floor); rounds ${ROUNDS}`);
    writeResult('cni.json', {
      machine: machine(), quick: QUICK, method: 'exec-driver', rounds: ROUNDS, parallelAdds: PARALLEL_ADDS, ...s,
      addPerSec4: Object.fromEntries(plugins.map((p, i) => [p.name, perSec[i]!])), ratios,
    });
  } finally {
    await driver.close().catch(() => undefined);
    for (const n of namespaces) await run('ip', ['netns', 'del', n]).catch(() => undefined);
    if (daemon) {
      await apiDelete(`/networks/ncn${tag}`);
      const exited = new Promise((r) => daemon!.once('exit', r));
      daemon.kill('SIGTERM');
      await exited;
    }
    for (const b of [`ncd${tag}`, `ncn${tag}`, `ncr${tag}`]) spawnSync('ip', ['link', 'del', b], { stdio: 'ignore' });
    const owner = ownershipFor(dataDir).tag;
    spawnSync('nft', ['delete', 'table', 'inet', `nsnet_${owner}`], { stdio: 'ignore' });
    await releaseForwardingClaims(owner);
    // The reference bridge plugin turns forwarding on for isGateway; put it back.
    writeFileSync(FORWARD, forwardBefore);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
