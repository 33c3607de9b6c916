// CNI through the exec interface, as a runtime drives it: nsnet-cni (which
// forwards to a running nsnet daemon) against the reference bridge +
// host-local plugins (Debian containernetworking-plugins), on namespaces
// made the same way (`ip netns add`), interleaved in the same run.
// ADD and DEL latency, ADD throughput with 4 concurrent callers, and each
// binary's own start-to-exit cost (VERSION).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ownershipFor } from '../src/driver-api/ownership.js';
import { releaseForwardingClaims } from '../src/firewall/firewall.js';
import { run } from './impls/exec.js';
import { CNI_PATH, cniAvailable } from './impls/cni.js';
import { machine, now, summarize, table, writeResult } from './stats.js';

const QUICK = process.env.NSNET_BENCH_QUICK === '1';
const ROUNDS = QUICK ? 15 : 50;
const PARALLEL_ADDS = QUICK ? 20 : 40;
const SHIM = 'build/Release/nsnet-cni';
const tag = (process.pid % 1000).toString(36);
const dir = mkdtempSync(join(tmpdir(), 'nsnet-bench-cni-'));
const socket = join(dir, 'nsnet.sock');
const dataDir = join(dir, 'data');
const FORWARD = '/proc/sys/net/ipv4/ip_forward';

interface Plugin {
  name: string;
  bin: string;
  conf: string;
}

const plugins: Plugin[] = [
  {
    name: 'nsnet-cni',
    bin: SHIM,
    conf: JSON.stringify({ cniVersion: '1.0.0', name: `ncn${tag}`, type: 'nsnet', socket, bridge: `ncn${tag}`, ipam: { subnet: '10.45.1.0/24' } }),
  },
  {
    name: 'bridge+host-local',
    bin: `${CNI_PATH}/bridge`,
    conf: JSON.stringify({
      cniVersion: '1.0.0', name: `ncr${tag}`, type: 'bridge', bridge: `ncr${tag}`, isGateway: true, ipMasq: false,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.45.2.0/24' }]], dataDir: join(dir, 'host-local') },
    }),
  },
];

function exec(p: Plugin, command: string, id: string, ns: string): Promise<string> {
  return run(p.bin, [], {
    input: p.conf,
    env: { PATH: process.env['PATH'] ?? '', CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0', CNI_PATH },
  });
}

async function timed<T>(fn: () => Promise<T>): Promise<number> {
  const t = now();
  await fn();
  return now() - t;
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
  let daemon: ChildProcess | undefined;
  try {
    daemon = spawn(process.execPath, ['bin/nsnet.js', 'daemon', '--socket', socket, '--data-dir', dataDir,
      '--bridge-name', `ncd${tag}`, '--bridge-subnet', '10.45.0.0/24'], { stdio: 'inherit' });
    for (let i = 0; i < 200 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));

    // Start-to-exit of each binary, without network work: VERSION (and /bin/true as the floor).
    const version: Record<string, number[]> = { 'nsnet-cni': [], 'bridge plugin': [], '/bin/true': [] };
    const versionOf = (bin: string) => timed(() => run(bin, [], { input: '{"cniVersion":"1.0.0"}', env: { CNI_COMMAND: 'VERSION' } }));
    for (let i = 0; i < ROUNDS; i++) {
      version['nsnet-cni']!.push(await versionOf(SHIM));
      version['bridge plugin']!.push(await versionOf(`${CNI_PATH}/bridge`));
      version['/bin/true']!.push(await versionOf('/bin/true'));
    }

    // Latency: one namespace per plugin, ADD then DEL, rotating which plugin goes first.
    const ns = await Promise.all(plugins.map((_, i) => netns(`l${i}`)));
    for (const [i, p] of plugins.entries()) { // warm-up (nsnet creates its network, the plugin its bridge)
      await exec(p, 'ADD', `warm${i}`, ns[i]!);
      await exec(p, 'DEL', `warm${i}`, ns[i]!);
    }
    const add = plugins.map(() => [] as number[]);
    const del = plugins.map(() => [] as number[]);
    for (let r = 0; r < ROUNDS; r++) {
      for (let k = 0; k < plugins.length; k++) {
        const i = (r + k) % plugins.length;
        const p = plugins[i]!;
        const id = `lat${r}`;
        add[i]!.push(await timed(() => exec(p, 'ADD', id, ns[i]!)));
        del[i]!.push(await timed(() => exec(p, 'DEL', id, ns[i]!)));
      }
    }

    // Throughput: PARALLEL_ADDS ADDs into as many namespaces, 4 callers at a time.
    const perSec: number[] = [];
    for (const [i, p] of plugins.entries()) {
      const targets = await Promise.all(Array.from({ length: PARALLEL_ADDS }, (_, k) => netns(`t${i}x${k}`)));
      let next = 0;
      const t = now();
      await Promise.all(Array.from({ length: 4 }, async () => {
        while (next < targets.length) {
          const k = next++;
          await exec(p, 'ADD', `par${k}`, targets[k]!);
        }
      }));
      perSec.push(PARALLEL_ADDS / ((now() - t) / 1e9));
      for (const [k, n] of targets.entries()) await exec(p, 'DEL', `par${k}`, n);
    }

    const s = {
      add: Object.fromEntries(plugins.map((p, i) => [p.name, summarize(add[i]!)])),
      del: Object.fromEntries(plugins.map((p, i) => [p.name, summarize(del[i]!)])),
      version: Object.fromEntries(Object.entries(version).map(([k, v]) => [k, summarize(v)])),
    };
    const med = (o: Record<string, { median_ms: number }>, k: string) => o[k]!.median_ms;
    const ratios = {
      add_reference_over_nsnet: med(s.add, 'bridge+host-local') / med(s.add, 'nsnet-cni'),
      del_reference_over_nsnet: med(s.del, 'bridge+host-local') / med(s.del, 'nsnet-cni'),
      add4_nsnet_over_reference: perSec[0]! / perSec[1]!,
      // Process creation is a fixed cost both pay (and a loaded machine inflates it):
      // the same ratio with the /bin/true start-to-exit floor of this run taken off.
      addNet_reference_over_nsnet: (med(s.add, 'bridge+host-local') - med(s.version, '/bin/true')) / (med(s.add, 'nsnet-cni') - med(s.version, '/bin/true')),
    };
    console.log(table([
      ['', 'ADD median ms', 'ADD p90 ms', 'DEL median ms', 'DEL p90 ms', `ADD/s, 4 callers`],
      ...plugins.map((p, i) => [p.name, s.add[p.name]!.median_ms, s.add[p.name]!.p90_ms, s.del[p.name]!.median_ms, s.del[p.name]!.p90_ms, Math.round(perSec[i]!)]),
    ]));
    console.log(table([['VERSION start-to-exit', 'median ms', 'p90 ms'], ...Object.entries(s.version).map(([k, v]) => [k, v.median_ms, v.p90_ms])]));
    console.log(`ADD: reference / nsnet-cni = ${ratios.add_reference_over_nsnet.toFixed(2)}x (goal >= 5x), ${ratios.addNet_reference_over_nsnet.toFixed(2)}x above the exec floor; DEL ${ratios.del_reference_over_nsnet.toFixed(2)}x; rounds ${ROUNDS}`);
    writeResult('cni.json', {
      machine: machine(), quick: QUICK, rounds: ROUNDS, parallelAdds: PARALLEL_ADDS, ...s,
      addPerSec4: Object.fromEntries(plugins.map((p, i) => [p.name, perSec[i]!])), ratios,
    });
  } finally {
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
