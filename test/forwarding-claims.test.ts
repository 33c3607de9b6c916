// Forwarding claims shared by several controllers (processes) on one host:
// while any controller holds a claim, forwarding stays on, and the value
// found before comes back when the last lets go. Run in a namespace of the
// test's own (claims are kept per namespace), by processes running the
// compiled library, since the race is between processes.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nl from '../src/netlink/index.js';
import { gate, nsName, uniq } from './helpers.js';

const ROUNDS = 150;

/** A controller's firewall claiming and releasing IPv4 forwarding ROUNDS times; counts rounds where its claim found forwarding off. */
const worker = (tag: string) => `
import { readFileSync } from 'node:fs';
import { Firewall } from '${process.cwd()}/dist/firewall/firewall.js';
const fw = new Firewall('${tag}', 'nftables');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let off = 0;
for (let i = 0; i < ${ROUNDS}; i++) {
  await fw.sysctlWhile('net/ipv4/ip_forward', true);
  await sleep(Math.random() * 2);
  if (readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() !== '1') off++;
  await fw.sysctlWhile('net/ipv4/ip_forward', false);
  await sleep(Math.random() * 2);
}
console.log(off);
`;

function run(ns: string, code: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    p.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    p.on('close', (c) => (c === 0 ? resolve(out.trim()) : reject(new Error(`worker exited ${c}: ${err}`))));
  });
}

describe.skipIf(!gate.ok)(`forwarding claims across processes ${gate.why}`, () => {
  let ns: nl.Netns;
  let ino = 0;

  beforeAll(async () => {
    ns = await nl.netnsAdd(uniq('fwc'));
    ino = ns.ino;
  });

  afterAll(async () => {
    await nl.netnsDelete(ns);
    rmSync(`/run/nsnet/sysctl/netns-${ino}`, { recursive: true, force: true });
  });

  it('three controllers claiming and releasing at once: forwarding is on whenever one holds a claim, and off again after the last', async () => {
    const name = nsName(ns.path);
    const offs = await Promise.all(['fwca', 'fwcb', 'fwcc'].map((t) => run(name, worker(t))));
    expect(offs).toEqual(['0', '0', '0']);
    const after = await run(name, `import { readFileSync } from 'node:fs'; console.log(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim())`);
    expect(after).toBe('0');
  }, 60_000);
});
