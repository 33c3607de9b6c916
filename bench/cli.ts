// The nsnet CLI's start-up cost as a user feels it: `nsnet network ls`
// against a running daemon, beside a bare `node -e 0` in the same run
// (interleaved, so both see the same machine load).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ownershipFor } from '../dist/driver-api/ownership.js';
import { machine, now, summarize, table, writeResult } from './stats.js';
import { releaseForwardingClaims } from '../dist/firewall/firewall.js';

const N = process.env.NSNET_BENCH_QUICK === '1' ? 10 : 30;
const dir = mkdtempSync(join(tmpdir(), 'nsnet-bench-cli-'));
const socket = join(dir, 'nsnet.sock');
const bridge = `ncl${(process.pid % 1000).toString(36)}`;

function timed(args: string[]): number {
  const t = now();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const dt = now() - t;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return dt;
}

async function main(): Promise<void> {
  let daemon: ChildProcess | undefined;
  try {
    daemon = spawn(process.execPath, ['bin/nsnet.js', 'daemon', '--socket', socket, '--data-dir', join(dir, 'data'),
      '--bridge-name', bridge, '--bridge-subnet', '10.42.0.0/24'], { stdio: 'inherit' });
    for (let i = 0; i < 200 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));
    const cli = ['bin/nsnet.js', '-H', `unix://${socket}`, 'network', 'ls'];
    timed(cli); // warm the page cache
    const bare: number[] = [];
    const ls: number[] = [];
    for (let i = 0; i < N; i++) {
      bare.push(timed(['-e', '0']));
      ls.push(timed(cli));
    }
    const s = { bareNode: summarize(bare), networkLs: summarize(ls) };
    const ratio = s.networkLs.median_ms / s.bareNode.median_ms;
    console.log(table([['', 'median ms', 'p90 ms'], ['node -e 0', s.bareNode.median_ms, s.bareNode.p90_ms], ['nsnet network ls', s.networkLs.median_ms, s.networkLs.p90_ms]]));
    console.log(`nsnet network ls / node -e 0 = ${ratio.toFixed(2)}x (runs: ${N})`);
    writeResult('cli.json', { machine: machine(), runs: N, ...s, ratio_ls_over_bare: ratio });
  } finally {
    if (daemon) {
      const exited = new Promise((r) => daemon!.once('exit', r));
      daemon.kill('SIGTERM');
      await exited;
    }
    // The default bridge stays when a daemon stops (as docker0 does): this run's goes.
    spawnSync('ip', ['link', 'del', bridge]);
    const tag = ownershipFor(join(dir, 'data')).tag;
    spawnSync('nft', ['delete', 'table', 'inet', `nsnet_${tag}`], { stdio: 'ignore' });
    await releaseForwardingClaims(tag);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
