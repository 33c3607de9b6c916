// The process that runs the baselines' commands for bench/impls/exec.ts.
// One JSON request per line on stdin ({ id, cmd, args, input, env }), one
// JSON answer per line on stdout ({ id, code, out, err }). It exists so the
// measuring process never forks: a fork write-protects every page of the
// Node process, and the copy-on-write faults that follow land on whatever
// that process measures next (nsnet's joins, right after a baseline's turn).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const reply = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

createInterface({ input: process.stdin }).on('line', (line) => {
  const { id, cmd, args, input, env } = JSON.parse(line);
  let p;
  try {
    p = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    reply({ id, code: -1, out: '', err: String(e) });
    return;
  }
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => { out += d.toString(); });
  p.stderr.on('data', (d) => { err += d.toString(); });
  p.on('error', (e) => reply({ id, code: -1, out, err: String(e) }));
  p.stdin.on('error', () => undefined); // the command may exit before reading its input
  p.on('close', (code) => reply({ id, code, out, err }));
  p.stdin.end(input ?? undefined);
});
