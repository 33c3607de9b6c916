// The exec driver (bench/exec-driver/exec-driver.c): execs a plugin as a
// runtime does (posix_spawn, stdin pipe, stdout read to EOF, waitpid) and
// times the call inside its own small process, so a comparison between
// plugins carries none of Node's process-creation cost. Built with cc by
// the bench, run as a child process for the whole run.
import { execFileSync, spawn, type ChildProcessByStdio } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

/** One timed call: nanoseconds from spawn to reaped, exit status, stdout (newlines as spaces). */
export interface Timed { ns: number; status: number; out: string }

/** A call: the binary, the configuration slot (or -1 for empty stdin), and the whole environment. */
export interface Call { bin: string; conf: number; env: Record<string, string> }

export function buildExecDriver(dir: string): string {
  const out = join(dir, 'exec-driver');
  const src = fileURLToPath(new URL('../exec-driver/exec-driver.c', import.meta.url));
  execFileSync('cc', ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-pthread', '-o', out, src], { stdio: 'inherit' });
  return out;
}

const field = (s: string): string => {
  if (/[\t\n]/.test(s)) throw new Error(`exec-driver: a tab or newline in ${JSON.stringify(s)}`);
  return s;
};

export class ExecDriver {
  private readonly proc: ChildProcessByStdio<Writable, Readable, null>;
  private readonly lines: Interface;
  private readonly waiting: ((line: string) => void)[] = [];
  private confs = 0;

  constructor(bin: string, private readonly dir: string) {
    this.proc = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = createInterface({ input: this.proc.stdout });
    this.lines.on('line', (l) => this.waiting.shift()?.(l));
  }

  private next(): Promise<string> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private send(line: string): void {
    this.proc.stdin.write(`${line}\n`);
  }

  /** Stores a configuration in the driver; calls then name it by the slot returned. */
  async conf(text: string): Promise<number> {
    const slot = this.confs++;
    const path = join(this.dir, `conf-${slot}.json`);
    writeFileSync(path, text);
    const answer = this.next();
    this.send(`conf\t${slot}\t${field(path)}`);
    if ((await answer) !== 'ok') throw new Error(`exec-driver: conf ${slot}: ${await answer}`);
    return slot;
  }

  private static line(c: Call): string {
    return ['call', field(c.bin), String(c.conf), ...Object.entries(c.env).map(([k, v]) => field(`${k}=${v}`))].join('\t');
  }

  private static parse(line: string): Timed {
    const [ns, status, ...out] = line.split('\t');
    return { ns: Number(ns), status: Number(status), out: out.join('\t') };
  }

  async call(c: Call): Promise<Timed> {
    const answer = this.next();
    this.send(ExecDriver.line(c));
    return ExecDriver.parse(await answer);
  }

  /** Runs the calls with `workers` concurrent callers; each call's timing and the batch's wall time. */
  async parallel(workers: number, calls: Call[]): Promise<{ calls: Timed[]; wallNs: number }> {
    const answers = [...calls.map(() => this.next()), this.next()];
    this.send(`par\t${workers}`);
    for (const c of calls) this.send(ExecDriver.line(c));
    this.send('go');
    const lines = await Promise.all(answers);
    const wall = lines.pop()!.split('\t');
    if (wall[0] !== 'wall') throw new Error(`exec-driver: expected the batch's wall time, got ${wall.join(' ')}`);
    return { calls: lines.map(ExecDriver.parse), wallNs: Number(wall[1]) };
  }

  async close(): Promise<void> {
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.stdin.end();
    await exited;
  }
}
