// Spawning a baseline's command, asynchronously (so baselines can run in parallel too).
import { spawn } from 'node:child_process';

export function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('error', reject);
    p.stdin.on('error', () => undefined); // the command may exit before reading its input
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${err || out}`))));
    if (opts.input !== undefined) p.stdin.end(opts.input);
    else p.stdin.end();
  });
}
