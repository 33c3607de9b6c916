// One controller per data directory. The directory is made and canonicalised
// before anything is derived from it, then claimed with an exclusive flock
// held for the controller's life: a second daemon, a `--local` command or an
// embedder's second Controller on the same directory is refused before it
// touches the store or the kernel. The kernel drops the lock when the
// process dies, even by SIGKILL, so it never goes stale.
import { ftruncateSync, mkdirSync, readFileSync, realpathSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError } from '../errors.js';
import { lockFile, unlockFile } from '../netlink/file-lock.js';

export const LOCK_FILE = 'nsnet.lock';

export interface DataDirClaim {
  /** The canonical path (symlinks resolved). */
  readonly path: string;
  /** Releases the lock; idempotent. */
  release(): void;
}

export function claimDataDir(dir: string): DataDirClaim {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = realpathSync(dir);
  const lockPath = join(path, LOCK_FILE);
  let fd: number;
  try {
    fd = lockFile(lockPath);
  } catch (e) {
    if ((e as { code?: string }).code !== 'EWOULDBLOCK') throw e;
    const pid = holderPid(lockPath);
    const who = pid === undefined ? '' : pid === process.pid ? ` (pid ${pid}, this process)` : ` (pid ${pid})`;
    throw new ConflictError(`data directory ${path} is in use by another nsnet controller${who}`, 'EDATADIRLOCKED');
  }
  // The holder's pid, for the message above; only ever read, never trusted.
  ftruncateSync(fd, 0);
  writeSync(fd, `${process.pid}\n`, 0);
  let held = true;
  return {
    path,
    release: () => {
      if (!held) return;
      held = false;
      try { ftruncateSync(fd, 0); } catch { /* the lock goes anyway */ }
      unlockFile(fd);
    },
  };
}

function holderPid(lockPath: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
