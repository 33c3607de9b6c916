import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { buildFloor, FloorImpl } from './impls/floor.js';
import { NsnetImpl } from './impls/nsnet.js';
import { native } from '../src/netlink/native.js';
const now = () => Number(process.hrtime.bigint());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const med = (a: number[]) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]! / 1e6; };
const tmp = mkdtempSync(join(tmpdir(), 'exb-'));
const floor = new FloorImpl('floor', buildFloor(tmp), 'own', 'nsbxfl0', 51);
const ns = new NsnetImpl(join(tmp, 'n'), '10.45.0.0/16', 'nsbxns0');
await floor.setup(); await ns.setup();
const sbs = await Promise.all(Array.from({ length: 8 }, (_, i) => ns.newSandbox(500 + i)));
const fsbs = await Promise.all(Array.from({ length: 8 }, (_, i) => floor.newSandbox(500 + i)));
const ours: number[] = [], theirs: number[] = [], lane: number[] = [];
let serial = 0;
for (let r = 0; r < 21; r++) {
  const reqs = Array.from({ length: 32 }, (_, i) => ({ network: ns.net, sandbox: sbs[i % 8]!, name: `bm${serial++}` }));
  const e0 = native.stats().execNs;
  const t = now();
  const res = await ns.c.joinMany(reqs);
  const dt = now() - t;
  const ex = native.stats().execNs - e0;
  for (const [i, x] of res.entries()) if (x.ok) await ns.leaveDelete(sbs[i % 8]!, x.endpoint); else throw x.error;
  await ns.c.flush();
  let fl = 0;
  const made: { s: (typeof fsbs)[number]; e: { host: string } }[] = [];
  for (let i = 0; i < 32; i++) { const s = fsbs[i % 8]!; made.push({ s, e: await floor.createJoin(s) }); fl += floor.lastNs; }
  for (const m of made.reverse()) await floor.leaveDelete(m.s, m.e);
  if (r > 0) { ours.push(dt); theirs.push(fl); lane.push(ex); }
  await sleep(25);
}
console.log('chunk', process.env.NSNET_CHUNK ?? 32, 'joinMany', med(ours).toFixed(2), 'lane exec', med(lane).toFixed(2), 'floor seq', med(theirs).toFixed(2), 'ratio', (med(theirs) / med(ours)).toFixed(2));
for (const s of sbs) await ns.destroySandbox(s);
for (const s of fsbs) await floor.destroySandbox(s);
await ns.teardown(); await floor.teardown();
