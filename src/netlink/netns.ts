// Network namespaces as handles: a path plus the inode it had when opened, so
// a handle outliving its namespace fails (ESTALE/ENOENT) instead of acting on
// whatever now sits at that path.
import { statSync } from 'node:fs';
import { InvalidInputError } from '../errors.js';
import { native, type KernelError } from './native.js';
import { ack, rtnlOp, run, type NsRef, type Op } from './request.js';
import { encodeRequest, Kind } from './wire.js';
import { NETNSA, NLM_F, RTM } from './constants.js';
import { attrs, MessageBuilder, messages } from './message.js';

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
    request: encodeRequest({ kind: Kind.NetnsCreate, op: `netnsAdd ${name}`, ns: runDir, arg1: name }),
    decode: (raw) => {
      const [path, ino] = raw as [string, number];
      return new Netns(path, ino);
    },
  };
};

export const netnsDeleteOp = (ns: Netns): Op<undefined> => ({
  request: encodeRequest({ kind: Kind.NetnsDelete, op: `netnsDelete ${ns.path}`, ns: ns.path, nsIno: ns.ino }),
  decode: () => undefined,
});

/** `ip netns add NAME`: visible to `ip netns` and `ip -n NAME`. */
export const netnsAdd = async (name: string, opts: { runDir?: string } = {}): Promise<Netns> => run(netnsAddOp(name, opts.runDir));

/** `ip netns del`: drops nsnet's cached sockets for it, then umount + unlink. */
export const netnsDelete = async (ns: Netns): Promise<undefined> => run(netnsDeleteOp(ns));

export const netnsOpenOp = (path: string): Op<Netns> => {
  if (!path.startsWith('/')) throw new InvalidInputError(`namespace path must be absolute: '${path}'`);
  return {
    request: encodeRequest({ kind: Kind.NetnsInode, op: `netnsOpen ${path}`, ns: path }),
    decode: (raw) => new Netns(path, raw as number),
  };
};

export const netnsReleaseOp = (ns: Netns): Op<undefined> => ({
  request: encodeRequest({ kind: Kind.NetnsForget, op: `netnsRelease ${ns.path}`, ns: ns.path }),
  decode: () => undefined,
});

/**
 * Opens an existing namespace by path: /run/netns/X, /proc/PID/ns/net, a
 * runtime's bind mount. Only its inode is read, with stat(2) on the calling
 * thread: a crossing to a lane thread (a wake-up each way) would cost more
 * than the call, which is not namespace-affine and does not block on these
 * in-memory filesystems. The first request made in the namespace opens it
 * there, checking the inode (ESTALE otherwise) and that it is a network
 * namespace. Failures are KernelErrors, as the addon's.
 */
export const netnsOpen = async (path: string): Promise<Netns> => {
  if (!path.startsWith('/')) throw new InvalidInputError(`namespace path must be absolute: '${path}'`);
  const op = `netnsOpen ${path}`;
  try {
    return new Netns(path, statSync(path).ino);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (typeof err.code !== 'string' || typeof err.errno !== 'number') throw e;
    // "ENOENT: no such file or directory, stat '...'" → the addon's "op: No such file or directory"
    const text = err.message.replace(/^[A-Z0-9]+: /, '').split(',')[0]!;
    const k = new Error(`${op}: ${text.charAt(0).toUpperCase()}${text.slice(1)}`) as KernelError;
    Object.assign(k, { code: err.code, errno: err.errno, op, syscall: 'stat', ns: path });
    throw k;
  }
};

/**
 * Forget nsnet's cached sockets for a namespace it did not create (e.g. a
 * runtime's). Done on the calling thread: the cache is shared and locked,
 * and a crossing for it would double the wake-ups of a CNI DEL.
 */
export const netnsRelease = async (ns: Netns): Promise<undefined> => {
  native.forgetNamespace(ns.path);
  return undefined;
};

// ---- namespace IDs (`ip netns set` / `ip netns list-id`) ---------------------

/** The kernel's answer for a namespace that has no ID in the asking one. */
export const NSID_NOT_ASSIGNED = -1;

/** An RTM_*NSID message: a 4-byte rtgenmsg, family unspecified, then attributes. */
const nsidMessage = (type: number, flags: number): MessageBuilder => new MessageBuilder(type, flags, 64).struct(4, () => undefined);

const nsidOf = (body: Buffer): number => {
  const v = attrs(body, 4).get(NETNSA.NSID);
  return v && v.length >= 4 ? v.readInt32LE(0) : NSID_NOT_ASSIGNED;
};

const checkNsid = (nsid: number): void => {
  if (!Number.isInteger(nsid) || nsid < 0 || nsid >= 2 ** 31) throw new InvalidInputError(`namespace ID must be an integer from 0 to 2^31-1, not ${nsid}`);
};

/**
 * `ip netns set`: gives `target` the ID `nsid` in the namespace the request
 * is sent to (`inNs`, the host's by default). The kernel refuses with
 * EEXIST both an ID already taken ("The specified nsid is already used";
 * ENOSPC on older kernels) and a namespace that already has one.
 */
export function netnsSetIdOp(target: NsRef, nsid: number, inNs?: NsRef): Op<undefined> {
  checkNsid(nsid);
  const m = nsidMessage(RTM.NEWNSID, 0).u32(NETNSA.NSID, nsid).nsFd(NETNSA.FD);
  return rtnlOp(`netnsSetId ${target.path || 'host'} ${nsid}`, inNs, m, ack, [target]);
}

/** The ID `target` has in `inNs` (the host's by default), or NSID_NOT_ASSIGNED. */
export function netnsGetIdOp(target: NsRef, inNs?: NsRef): Op<number> {
  const m = nsidMessage(RTM.GETNSID, 0).nsFd(NETNSA.FD);
  return rtnlOp(`netnsGetId ${target.path || 'host'}`, inNs, m, (b) => {
    for (const x of messages(b)) if (x.type === RTM.NEWNSID) return nsidOf(x.body);
    return NSID_NOT_ASSIGNED;
  }, [target]);
}

/**
 * `ip netns list-id`: the IDs assigned in `inNs` (the host's by default), in
 * ID order, as the kernel's dump gives them. Not necessarily all: on 6.18
 * the dump ends after its first message block (about 1,100 IDs here; `ip`
 * shows fewer still). netnsGetId of a known namespace is exact.
 */
export function netnsListIdsOp(inNs?: NsRef): Op<number[]> {
  return rtnlOp('netnsListIds', inNs, nsidMessage(RTM.GETNSID, NLM_F.DUMP), (b) =>
    [...messages(b)].filter((x) => x.type === RTM.NEWNSID).map((x) => nsidOf(x.body)).filter((id) => id >= 0));
}

export const netnsSetId = async (target: NsRef, nsid: number, inNs?: NsRef): Promise<undefined> => run(netnsSetIdOp(target, nsid, inNs));
export const netnsGetId = async (target: NsRef, inNs?: NsRef): Promise<number> => run(netnsGetIdOp(target, inNs));
export const netnsListIds = async (inNs?: NsRef): Promise<number[]> => run(netnsListIdsOp(inNs));
