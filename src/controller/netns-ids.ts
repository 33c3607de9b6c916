// The host's IDs for sandbox namespaces (`ip netns set`), handed out
// downward, so the newest sandbox has the lowest.
//
// Why: the kernel finds a namespace's ID in the host (__peernet2id) by
// walking the host's ID table in ID order, on every notification about a
// veth whose peer is in another namespace: several per join and leave. Left
// to the kernel, a namespace gets the lowest free ID on its first such
// notification, so a new sandbox's ID sits at the end of the table, and
// with 4,000 sandboxes each join spent about 0.2 ms walking it (measured
// with bench/floor: joins into namespaces with IDs at the table's head
// against its tail). Given an ID below all of nsnet's, a new sandbox is
// found at once; the walk is paid once, when the ID is set, at sandbox
// creation (or when the pool makes the namespace) instead of in the join.
//
// nsnet's IDs stay in [NSID_FLOOR, NSID_TOP), far above the kernel's own
// (lowest free from 0), so the two never meet. One allocator per process:
// the table is the host's, shared by every controller here.
import { batch, isKernelError, netnsListIds, netnsSetIdOp, type KernelError, type Netns, type Op } from '../netlink/index.js';

export const NSID_TOP = 2 ** 30;
export const NSID_FLOOR = 2 ** 24;
/** How far down to jump when an ID is taken (another process hands out IDs in the same range). */
const JUMP = 4096;

let next = NSID_TOP - 1;

/** Continues below every ID of nsnet's range already in the host's table (a restart, another process). */
export async function continueBelowHostIds(): Promise<void> {
  for (const id of await netnsListIds()) if (id >= NSID_FLOOR && id <= next) next = id - 1;
  if (next < NSID_FLOOR) next = NSID_TOP - 1;
}

function take(): number {
  const id = next;
  next = id > NSID_FLOOR ? id - 1 : NSID_TOP - 1;
  return id;
}

/** The request giving `ns` the next ID; its answer goes to settleNsid. */
export const nextNsidOp = (ns: Netns): Op<undefined> => netnsSetIdOp(ns, take());

/**
 * What a refused ID means. Never fatal: a namespace without one gets the
 * kernel's on first use, as before. An ID someone else took moves the
 * allocator past that process's IDs; a namespace that already has an ID
 * (a runtime's) keeps it.
 */
export function settleNsid(error: unknown): void {
  if (!error || !isKernelError(error)) return;
  const e = error as KernelError;
  if (e.code === 'ENOSPC' || (e.code === 'EEXIST' && /nsid is already used/.test(e.message))) {
    next = Math.max(NSID_FLOOR, next - JUMP);
  }
}

/**
 * Runs `ops` (a new sandbox's namespace set-up) with its numbering in the
 * same crossing; throws the first failure of `ops`, never the numbering's.
 */
export async function batchNumbered(ns: Netns, ops: readonly Op<unknown>[]): Promise<void> {
  const res = await batch([...ops, nextNsidOp(ns)]);
  const id = res.pop();
  for (const r of res) if (!r.ok) throw r.error;
  if (id && !id.ok) settleNsid(id.error);
}
