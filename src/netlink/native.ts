// Loads the addon and types its surface. Everything else in src/ talks to the
// kernel through the modules beside this one, never through `native` directly.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { types } from 'node:util';
import type { DecodedRequest, NativeProtocol, NativeRequest } from './wire.js';

export { Kind, type NativeRequest } from './wire.js';

const require = createRequire(import.meta.url);
const bindings = require('bindings') as (o: { bindings: string; module_root?: string }) => unknown;

export interface NativeStats {
  lanes: number;
  threads: number;
  pending: number;
  cachedNamespaces: number;
  /** Private procfs instances made for sysctls inside namespaces, and those open now (none once no namespace is held). */
  procMountsMade: number;
  procMountsOpen: number;
  retiredThreads: number;
  /** Kernel requests run (a compound request, e.g. vethJoinOp, counts each of its steps that ran). */
  executed: number;
  /** Nanoseconds the lane threads spent executing requests (the bare kernel cost). */
  execNs: number;
  /** Jobs run on the calling thread: short, into namespaces with open sockets, nothing else pending. */
  inlined: number;
  /** Nanoseconds inside the requests of the last job run on the calling thread: a join's kernel share, read right after it. */
  lastInlineNs: number;
  /** CLOCK_MONOTONIC ns (process.hrtime's clock) at which the last job was taken off its queue, and finished. */
  lastPickNs: number;
  lastDoneNs: number;
}

export interface NativeAddon {
  /** The answers, or (for a job run on the calling thread) the answers at once. */
  submit(lane: number, requests: NativeRequest[], stopOnError?: boolean): Promise<unknown[]> | unknown[];
  stats(): NativeStats;
  lanes: number;
  /** The request format as the addon parses it: checked against wire.ts by test/wire.test.ts. */
  protocol: NativeProtocol;
  /** Runs the addon's parser on one request and returns what it read; no kernel work. */
  decodeRequest(request: NativeRequest): DecodedRequest;
  /** The requests a compound request (VethJoin) runs, as decodeRequest reads them; no kernel work. */
  expandRequest(request: NativeRequest): DecodedRequest[];
  /** Opens (0600, created if absent) and flock(LOCK_EX|LOCK_NB)s a file; throws code EWOULDBLOCK if held. Synchronous. */
  lockFile(path: string): number;
  /** Unlocks and closes what lockFile returned. */
  unlockFile(fd: number): void;
  /** Drops every lane's cached socket for a namespace path. Synchronous. */
  forgetNamespace(path: string): void;
}

export const native = bindings({
  bindings: 'nsnet',
  module_root: fileURLToPath(new URL('../..', import.meta.url)),
}) as NativeAddon;

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

/** A kernel error; with `codes`, one with one of those codes (e.g. ENODEV where gone is as good as deleted). */
export function isKernelError(e: unknown): e is KernelError;
export function isKernelError(e: unknown, ...codes: [string, ...string[]]): boolean;
export function isKernelError(e: unknown, ...codes: string[]): boolean {
  // Not instanceof: errors made by the addon may come from another realm.
  return types.isNativeError(e) && typeof (e as KernelError).code === 'string' && typeof (e as KernelError).errno === 'number'
    && (!codes.length || codes.includes((e as KernelError).code));
}
