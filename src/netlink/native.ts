// Loads the addon and types its surface. Everything else in src/ talks to the
// kernel through the modules beside this one, never through `native` directly.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { types } from 'node:util';

const require = createRequire(import.meta.url);
const bindings = require('bindings') as (o: { bindings: string; module_root?: string }) => unknown;

/** [kind, op, ns, nsIno, msg?, fdPatches?, arg1?, arg2?] — see native/request.h. */
export type NativeRequest = [number, string, string, number, Buffer?, (string | number)[]?, string?, string?];

export interface NativeStats {
  lanes: number;
  threads: number;
  pending: number;
  cachedNamespaces: number;
  retiredThreads: number;
  executed: number;
  /** Nanoseconds the lane threads spent executing requests (the bare kernel cost). */
  execNs: number;
}

export interface NativeAddon {
  submit(lane: number, requests: NativeRequest[], stopOnError?: boolean): Promise<unknown[]>;
  stats(): NativeStats;
  lanes: number;
}

export const native = bindings({
  bindings: 'nsnet',
  module_root: fileURLToPath(new URL('../..', import.meta.url)),
}) as NativeAddon;

export const Kind = {
  Noop: 0,
  Rtnl: 1,
  NetnsCreate: 2,
  NetnsDelete: 3,
  NetnsInode: 4,
  SysctlRead: 5,
  SysctlWrite: 6,
  NetnsForget: 7,
  NftRun: 8,
} as const;

/** Lane 0 carries the endpoint path; lane 1 the slow work (link deletion). */
export const Lane = { Fast: 0, Slow: 1 } as const;
export type LaneId = (typeof Lane)[keyof typeof Lane];

/** A failure reported by the kernel or the addon. */
export interface KernelError extends Error {
  code: string;      // EEXIST, ENODEV, ...
  errno: number;     // negative, as in Node's system errors
  op: string;        // nsnet's operation name
  syscall: string;
  extack?: string;   // the kernel's extended-ack text
  ns?: string;
}

// Not instanceof: errors made by the addon may come from another realm.
export const isKernelError = (e: unknown): e is KernelError =>
  types.isNativeError(e) && typeof (e as KernelError).code === 'string' && typeof (e as KernelError).errno === 'number';
