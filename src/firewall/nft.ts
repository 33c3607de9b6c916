// Applies nft scripts. Each script runs as one atomic transaction; the
// script is passed on stdin to `nft -f -` as an argv array, never a shell
// string. (Network create/delete and port publishing only: nothing on the
// plain endpoint path comes here.)
import { spawn, spawnSync } from 'node:child_process';
import { NsnetError } from '../errors.js';

export class FirewallError extends NsnetError {
  constructor(message: string) {
    super('EFIREWALL', message);
  }
}

let nftPath: string | null | undefined;
export function findNft(): string | null {
  if (nftPath !== undefined) return nftPath;
  for (const p of ['/usr/sbin/nft', '/sbin/nft', '/usr/bin/nft']) {
    if (spawnSync(p, ['--version'], { stdio: 'ignore' }).status === 0) return (nftPath = p);
  }
  return (nftPath = null);
}

export function nftApply(script: string): Promise<void> {
  const nft = findNft();
  if (!nft) return Promise.reject(new FirewallError('nft not found: install nftables, or start the controller with firewall: "none"'));
  return new Promise((resolve, reject) => {
    const p = spawn(nft, ['-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('error', (e) => reject(new FirewallError(`nft: ${e.message}`)));
    p.on('close', (code) => (code === 0 ? resolve() : reject(new FirewallError(`nft: ${err.trim() || `exit ${code}`}`))));
    p.stdin.on('error', () => undefined);
    p.stdin.end(`${script}\n`);
  });
}

export function nftList(table: string): string | undefined {
  const nft = findNft();
  if (!nft) return undefined;
  const r = spawnSync(nft, ['list', 'table', 'inet', table], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : undefined;
}
