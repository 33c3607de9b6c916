// The API socket's path, claimed owner-only and without clobbering: the
// socket is bound inside a fresh 0700 directory beside the path, made 0600
// there, then hard-linked into place. link() fails with EEXIST instead of
// replacing, so the claim is atomic (a rename would silently replace another
// daemon's socket), no one can connect before the mode is set, and no
// process-wide umask is changed while other threads create files. An
// existing socket is removed only if nothing answers on it (ECONNREFUSED:
// its daemon died). Closing removes the path only if it is still ours.
import { chmodSync, linkSync, lstatSync, mkdtempSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { connect, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { ConflictError } from '../errors.js';

export type SocketState = 'free' | 'stale' | 'live';

/** Whether something listens on `path`; `stale` is a socket nobody answers on. */
export function probeSocket(path: string, timeoutMs = 2000): Promise<SocketState> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (state: SocketState) => {
      clearTimeout(timer);
      s.destroy();
      resolve(state);
    };
    // A listener too busy to accept within the timeout is still a listener.
    const timer = setTimeout(() => done('live'), timeoutMs);
    s.once('connect', () => done('live'));
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ENOENT' ? 'free' : e.code === 'ECONNREFUSED' ? 'stale' : 'live'));
  });
}

const inUse = (path: string) => new ConflictError(`another nsnet daemon is listening on ${path}`, 'ESOCKETINUSE');

/** Refuses early (before a daemon starts) when the path is taken by a live listener or by something that is not a socket. */
export async function assertSocketFree(path: string): Promise<void> {
  let st;
  try { st = lstatSync(path); } catch { return; }
  if (!st.isSocket()) throw new ConflictError(`${path} exists and is not a socket`, 'ESOCKETINUSE');
  if ((await probeSocket(path)) === 'live') throw inUse(path);
}

export interface ClaimedSocket {
  /** Removes the path if it is still the socket this process bound. */
  release(): void;
}

export async function listenOwnerOnly(server: Server, path: string): Promise<ClaimedSocket> {
  // A short name: a unix socket path has at most 107 bytes.
  const dir = mkdtempSync(join(dirname(path), '.nsn'));
  const tmp = join(dir, 's');
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(tmp, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(tmp, 0o600);
    await linkInto(tmp, path);
  } catch (e) {
    await new Promise<void>((r) => server.close(() => r()));
    throw e;
  } finally {
    try { unlinkSync(tmp); } catch { /* not bound */ }
    rmdirSync(dir);
  }
  const ours = statSync(path);
  return {
    release: () => {
      try {
        const now = lstatSync(path);
        if (now.ino === ours.ino && now.dev === ours.dev) unlinkSync(path);
      } catch { /* gone already */ }
    },
  };
}

async function linkInto(tmp: string, path: string): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      linkSync(tmp, path);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let st;
    try { st = lstatSync(path); } catch { continue; }
    if (!st.isSocket()) throw new ConflictError(`${path} exists and is not a socket`, 'ESOCKETINUSE');
    if ((await probeSocket(path)) === 'live') break;
    // Stale: its daemon died without removing it. Remove that one only.
    try {
      const again = lstatSync(path);
      if (again.ino === st.ino && again.dev === st.dev) unlinkSync(path);
    } catch { /* gone meanwhile */ }
  }
  throw inUse(path);
}
