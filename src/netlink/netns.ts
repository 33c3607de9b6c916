// Network namespaces as handles: a path plus the inode it had when opened, so
// a handle outliving its namespace fails (ESTALE/ENOENT) instead of acting on
// whatever now sits at that path.
import { InvalidInputError } from '../errors.js';
import { Kind } from './native.js';
import { run, type Op } from './request.js';

export const DEFAULT_RUN_DIR = '/run/netns';

export class Netns {
  constructor(readonly path: string, readonly ino: number) {}
  /** Same kernel namespace? (inodes of nsfs are unique while it lives) */
  sameAs(other: Netns): boolean {
    return this.ino === other.ino;
  }
  toString(): string {
    return this.path;
  }
}

/** The namespace of the addon's own threads: the host's, for a controller. */
export const HOST_NS = new Netns('', 0);

function checkName(name: string): void {
  if (!name || name.length > 255 || name.includes('/') || name === '.' || name === '..' || name.includes('\0'))
    throw new InvalidInputError(`invalid network namespace name '${name}'`);
}

export const netnsAddOp = (name: string, runDir = DEFAULT_RUN_DIR): Op<Netns> => {
  checkName(name);
  return {
    request: [Kind.NetnsCreate, `netnsAdd ${name}`, runDir, 0, undefined, undefined, name],
    decode: (raw) => {
      const [path, ino] = raw as [string, number];
      return new Netns(path, ino);
    },
  };
};

export const netnsDeleteOp = (ns: Netns): Op<undefined> => ({
  request: [Kind.NetnsDelete, `netnsDelete ${ns.path}`, ns.path, ns.ino],
  decode: () => undefined,
});

/** `ip netns add NAME`: visible to `ip netns` and `ip -n NAME`. */
export const netnsAdd = async (name: string, opts: { runDir?: string } = {}): Promise<Netns> => run(netnsAddOp(name, opts.runDir));

/** `ip netns del`: drops nsnet's cached sockets for it, then umount + unlink. */
export const netnsDelete = async (ns: Netns): Promise<undefined> => run(netnsDeleteOp(ns));

/** Opens an existing namespace by path: /run/netns/X, /proc/PID/ns/net, a runtime's bind mount. */
export async function netnsOpen(path: string): Promise<Netns> {
  if (!path.startsWith('/')) throw new InvalidInputError(`namespace path must be absolute: '${path}'`);
  const ino = await run<number>({ request: [Kind.NetnsInode, `netnsOpen ${path}`, path, 0], decode: (r) => r as number });
  return new Netns(path, ino);
}

/** Forget nsnet's cached sockets for a namespace it did not create (e.g. a runtime's). */
export const netnsRelease = async (ns: Netns): Promise<undefined> =>
  run({ request: [Kind.NetnsForget, `netnsRelease ${ns.path}`, ns.path, 0], decode: () => undefined });
