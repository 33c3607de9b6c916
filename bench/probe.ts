// Where a join's time goes, against the floor, in one process (a
// development probe, not part of the suite): nsnet's JS-visible create+join,
// the part of it the lane thread spent executing requests, and the floor's
// own time for the same join, interleaved one by one.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeStats } from '../dist/netlink/index.js';
import { buildFloor, FloorImpl } from './impls/floor.js';
import { NsnetImpl } from './impls/nsnet.js';
import { now, summarize } from './stats.js';

const N = Number(process.env.N ?? 300);
const tmp = mkdtempSync(join(tmpdir(), 'nsnet-probe-'));
const ns = new NsnetImpl(join(tmp, 'ns'), '10.57.0.0/16', 'nsbprobe0', { runtime: process.env.RUNTIME === '1' });
const fl = new FloorImpl('floor', buildFloor(tmp), process.env.RUNTIME === '1' ? 'runtime' : 'own', 'nsbprobe1', 58);
await ns.setup();
await fl.setup();
const a = await ns.newSandbox(0);
const b = await fl.newSandbox(0);
const create: number[] = [], vis: number[] = [], exec: number[] = [], floor: number[] = [], leave: number[] = [];
for (let i = 0; i < N + 10; i++) {
  const e0 = nativeStats().execNs;
  let t = now();
  const e = ns.net.createEndpoint(`p${i}`);
  const ct = now() - t;
  await e.join(a);
  const dt = now() - t;
  const ex = nativeStats().execNs - e0;
  t = now();
  await ns.leaveDelete(a, e);
  const lt = now() - t;
  if (process.env.NOFLUSH !== '1') await ns.c.flush();
  else await new Promise((r) => setTimeout(r, 2));
  const f = await fl.createJoin(b);
  const ft = fl.lastNs;
  await fl.leaveDelete(b, f);
  if (i >= 10) { create.push(ct); vis.push(dt); exec.push(ex); floor.push(ft); leave.push(lt); }
}
const m = (x: number[]) => summarize(x).median_ms;
console.log(JSON.stringify({ load: loadavg(), n: N, runtime: process.env.RUNTIME === '1', createEndpoint: m(create), nsnetVisible: m(vis), nsnetLaneExec: m(exec), floor: m(floor), leave: m(leave), ratio: m(vis) / m(floor), execRatio: m(exec) / m(floor) }));
await ns.teardown();
await fl.teardown();
rmSync(tmp, { recursive: true, force: true });
