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
// the table is the host's, shared by every controller here. Another
// process counting down in the same range is met only by collision (the
// kernel's ID dump cannot be trusted to list them: on this kernel it stops
// after its first message block), and answered by moving below it.
import {
  batch, isKernelError, netnsGetId, netnsGetIdOp, netnsSetId, netnsSetIdOp, NSID_NOT_ASSIGNED, type Netns, type Op,
} from '../netlink/index.js';

export const NSID_TOP = 2 ** 30;
export const NSID_FLOOR = 2 ** 24;
/** How far below an ID someone else holds to continue (another process counting down from the same top). */
const JUMP = 4096;

let next = NSID_TOP - 1;

/** Under the floor the allocator starts again from the top. */
const wrap = (id: number): number => (id >= NSID_FLOOR ? id : NSID_TOP - 1);

function take(): number {
  const id = next;
  next = wrap(id - 1);
  return id;
}

/** Continues from `id` down, if that is below where the allocator stands. */
function continueFrom(id: number): void {
  if (id < next) next = wrap(id);
}

/**
 * After a restart: continues below the IDs the kept sandboxes' namespaces
 * already have (asked of each, in one crossing). Never throws.
 */
export async function continueBelow(kept: readonly Netns[]): Promise<void> {
  if (!kept.length) return;
  const res = await batch(kept.map((ns) => netnsGetIdOp(ns))).catch(() => []);
  for (const r of res) {
    const id = r.ok ? (r.value as number) : NSID_NOT_ASSIGNED;
    if (id >= NSID_FLOOR && id < NSID_TOP) continueFrom(id - 1);
  }
}

/** The request giving `ns` the next ID, and the ID it asks for. */
export function nextNsid(ns: Netns): { op: Op<undefined>; nsid: number } {
  const nsid = take();
  return { op: netnsSetIdOp(ns, nsid), nsid };
}

/**
 * A refused ID, where nothing can wait for another try (a join: its veth
 * has been numbered by the kernel meanwhile): moves the allocator below an
 * ID someone else holds. The kernel says which refusal it was only in its
 * message (EEXIST either way; ENOSPC on older kernels for a taken ID).
 */
export function refused(nsid: number, error: unknown): void {
  if (isKernelError(error, 'ENOSPC') || (isKernelError(error, 'EEXIST') && /already used/.test((error as Error).message))) continueFrom(nsid - JUMP);
}

/**
 * A refused ID at sandbox creation: a namespace that already has one (a
 * runtime's) keeps it; otherwise the ID was someone else's, and the
 * namespace gets one more, below it. Never throws: a namespace left
 * without gets the kernel's on first use, as before.
 */
async function renumber(ns: Netns, nsid: number, error: unknown): Promise<void> {
  if (!isKernelError(error, 'EEXIST', 'ENOSPC')) return;
  try {
    if ((await netnsGetId(ns)) !== NSID_NOT_ASSIGNED) return;
    continueFrom(nsid - JUMP);
    await netnsSetId(ns, take());
  } catch { /* left to the kernel */ }
}

/**
 * Runs `ops` (a new sandbox's namespace set-up) with its numbering in the
 * same crossing; throws the first failure of `ops`, never the numbering's.
 */
export async function batchNumbered(ns: Netns, ops: readonly Op<unknown>[]): Promise<void> {
  const { op, nsid } = nextNsid(ns);
  const res = await batch([...ops, op]);
  const id = res.pop();
  for (const r of res) if (!r.ok) throw r.error;
  if (id && !id.ok) await renumber(ns, nsid, id.error);
}
