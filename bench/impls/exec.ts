// Running a baseline's command, asynchronously (so baselines can run in
// parallel too), through one long-lived helper process (spawner.mjs): the
// measuring process itself never forks, so no copy-on-write faults from a
// baseline's fork land on the next implementation's measurement.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

interface Answer { id: number; code: number | null; out: string; err: string }

let helper: ChildProcessByStdio<Writable, Readable, null> | undefined;
const waiting = new Map<number, (a: Answer) => void>();
let next = 0;

function spawner(): ChildProcessByStdio<Writable, Readable, null> {
  if (helper) return helper;
  const p = spawn(process.execPath, [fileURLToPath(new URL('./spawner.mjs', import.meta.url))], { stdio: ['pipe', 'pipe', 'inherit'] });
  createInterface({ input: p.stdout }).on('line', (l) => {
    const a = JSON.parse(l) as Answer;
    waiting.get(a.id)?.(a);
    waiting.delete(a.id);
  });
  // Idle, it must not keep the bench alive; a pending answer does (below).
  p.unref();
  (p.stdout as Readable & { unref?: () => void }).unref?.();
  (p.stdin as Writable & { unref?: () => void }).unref?.();
  return (helper = p);
}

export function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const p = spawner();
  const id = next++;
  return new Promise((resolve, reject) => {
    const keep = setInterval(() => undefined, 1 << 30);
    waiting.set(id, (a) => {
      clearInterval(keep);
      if (a.code === 0) resolve(a.out);
      else reject(new Error(`${cmd} ${args.join(' ')}: exit ${a.code}: ${a.err || a.out}`));
    });
    p.stdin.write(`${JSON.stringify({ id, cmd, args, input: opts.input, env: opts.env ?? process.env })}\n`);
  });
}
