// Applies nft scripts, each as one atomic transaction. In-process through
// libnftables on an addon lane thread when the library is there (~0.3 ms a
// transaction, measured in bench/run.ts), else `nft -f -` with the script on
// stdin (~4 ms: a process start). Never a shell string. Only network
// create/delete and port publishing come here, never the plain endpoint path.
import { spawn, spawnSync } from 'node:child_process';
import { NsnetError } from '../errors.js';
import { isKernelError } from '../netlink/native.js';
import { run, type Op } from '../netlink/request.js';
import { encodeRequest, Kind } from '../netlink/wire.js';

export class FirewallError extends NsnetError {
  constructor(message: string) {
    super('EFIREWALL', message);
  }
}

/** Neither libnftables nor the nft command is on this host. */
export class NftMissingError extends FirewallError {
  constructor() {
    super('the firewall needs nftables, and neither libnftables nor the nft command was found: install nftables, or start the controller with firewall: "none"');
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

let inProcess: boolean | undefined = process.env['NSNET_NFT_EXEC'] === '1' ? false : undefined;

/** Which way scripts are applied: "libnftables" (in-process) or "exec". */
export const nftBackend = (): string => (inProcess === false ? 'exec' : 'libnftables');

/** One transaction through libnftables, in the lane's home namespace. */
export const nftRunOp = (script: string): Op<undefined> => ({
  request: encodeRequest({ kind: Kind.NftRun, op: 'nft', arg1: script }),
  decode: () => undefined,
});

export async function nftApply(script: string): Promise<void> {
  if (inProcess !== false) {
    try {
      await run(nftRunOp(script));
      inProcess = true;
      return;
    } catch (e) {
      if (isKernelError(e) && e.code === 'ENOENT' && e.syscall === 'dlopen') inProcess = false;
      else throw new FirewallError(`nft: ${(e as { extack?: string }).extack ?? (e as Error).message}`);
    }
  }
  return nftExec(script);
}

function nftExec(script: string): Promise<void> {
  const nft = findNft();
  if (!nft) return Promise.reject(new NftMissingError());
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
