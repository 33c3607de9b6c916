// Where the embedded resolver should live, measured (issue 13): per sandbox
// at 127.0.0.11 (libnetwork: sockets inside the namespace plus DNAT rules in
// it, on the endpoint path of every container) or per network on the
// gateway (aardvark: two sockets per network, nothing per sandbox).
//
// Measures, in one run: nsnet's create+join; the extra kernel work the
// 127.0.0.11 placement adds to each sandbox (its nft DNAT/SNAT table,
// applied inside the namespace: `nsenter nft -f rules` minus `nsenter nft -f
// empty`, medians of alternating runs); and binding the gateway placement's
// UDP+TCP sockets for a network.
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller } from '../dist/index.js';
import { machine, now, summarize, table, writeResult } from './stats.js';

const N = Number(process.env['N'] ?? 100);
const dir = mkdtempSync(join(tmpdir(), 'nsnet-dnsplace-'));
const rules = join(dir, 'dnat.nft');
const empty = join(dir, 'empty.nft');
// libnetwork's setupNAT, in nft: port 53 on 127.0.0.11 to the resolver's ephemeral ports, and back.
writeFileSync(rules, `table ip nsnet_dns {
  chain output { type nat hook output priority -100; policy accept;
    ip daddr 127.0.0.11 udp dport 53 dnat to 127.0.0.11:40001
    ip daddr 127.0.0.11 tcp dport 53 dnat to 127.0.0.11:40002
  }
  chain postrouting { type nat hook postrouting priority 100; policy accept;
    ip saddr 127.0.0.11 udp sport 40001 snat to :53
    ip saddr 127.0.0.11 tcp sport 40002 snat to :53
  }
}
`);
writeFileSync(empty, '');

const c = await Controller.start({ dataDir: join(dir, 'data') });
const bridge = `ntdp${process.pid % 10000}`;
const net = await c.newNetwork({ name: 'place', options: { 'com.docker.network.bridge.name': bridge }, ipam: { config: [{ Subnet: '10.39.0.0/24' }] } });
const createJoin: number[] = [];
const withRules: number[] = [];
const without: number[] = [];
const binds: number[] = [];
try {
  for (let i = 0; i < N; i++) {
    const sb = await c.newSandbox(`place-${i}`);
    const t0 = now();
    const ep = net.createEndpoint(`ep${i}`);
    await ep.join(sb);
    createJoin.push(now() - t0);
    for (const [file, into] of [[empty, without], [rules, withRules]] as const) {
      const t = now();
      const r = spawnSync('nsenter', [`--net=${sb.key}`, '--', 'nft', '-f', file]);
      if (r.status !== 0) throw new Error(`nft: ${r.stderr.toString()}`);
      into.push(now() - t);
    }
  }
  const gw = net.info().pools4[0]!.gateway!;
  for (let i = 0; i < N; i++) {
    const t = now();
    const u = createSocket('udp4');
    await new Promise<void>((res) => u.bind(5399, gw, res));
    const s = createServer();
    await new Promise<void>((res) => s.listen(5399, gw, res));
    binds.push(now() - t);
    u.close();
    await new Promise((res) => s.close(res));
  }
} finally {
  for (const sb of c.sandboxes()) await sb.destroy();
  await net.delete();
  await c.stop();
  rmSync(dir, { recursive: true, force: true });
}
const cj = summarize(createJoin);
const nftWith = summarize(withRules);
const nftWithout = summarize(without);
const bind = summarize(binds);
const extra = nftWith.median_ms - nftWithout.median_ms;
const result = {
  ...machine(), n: N, createJoin: cj, nftInSandboxWithRules: nftWith, nftInSandboxEmpty: nftWithout,
  perSandboxDnatMedianMs: extra, perNetworkBind: bind,
};
console.log(table([
  ['what', 'median ms', 'p99 ms'],
  ['create+join (nsnet)', cj.median_ms, cj.p99_ms],
  ['nsenter nft -f <empty file> in the sandbox', nftWithout.median_ms, nftWithout.p99_ms],
  ['nsenter nft -f <127.0.0.11 DNAT table> in the sandbox', nftWith.median_ms, nftWith.p99_ms],
  ['gateway: bind UDP+TCP on the gateway (once per network)', bind.median_ms, bind.p99_ms],
]));
console.log(`127.0.0.11 placement: the DNAT table alone adds ${extra.toFixed(3)} ms per sandbox (median difference), ${(100 * extra / cj.median_ms).toFixed(0)}% of create+join (rules only; sockets in the namespace not counted)`);
console.log(writeResult('dns-placement.json', result));
