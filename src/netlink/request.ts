// A prepared operation: the request the addon will run plus how to read its
// answer. Single calls and batches (many requests, one crossing) share it.
import { types } from 'node:util';
import { InvalidInputError } from '../errors.js';
import { RTA, RTM } from './constants.js';
import { Lane, type LaneId, native } from './native.js';
import { encodeRequest, Kind, type FdPatch, type NativeRequest } from './wire.js';
import type { MessageBuilder } from './message.js';

export interface Op<T> {
  readonly request: NativeRequest;
  readonly decode: (raw: unknown) => T;
}

/** What a request needs of a namespace: its path and the inode it must still have (Netns has both). */
export interface NsRef {
  readonly path: string;
  readonly ino: number;
}

export const nsPath = (ns: NsRef | undefined): string => ns?.path ?? '';
export const nsIno = (ns: NsRef | undefined): number => ns?.ino ?? 0;

/** An rtnetlink request in `ns`; `fdTargets` fill the builder's nsFd() slots in order. */
export function rtnlOp<T>(op: string, ns: NsRef | undefined, m: MessageBuilder, decode: (b: Buffer) => T,
  fdTargets: (NsRef | undefined)[] = []): Op<T> {
  if (fdTargets.length !== m.fdOffsets.length) throw new InvalidInputError(`${op}: namespace fd slots mismatch`);
  const fdPatches: FdPatch[] = m.fdOffsets.map((offset, i) => ({ offset, path: nsPath(fdTargets[i]), ino: nsIno(fdTargets[i]) }));
  return {
    request: encodeRequest({ kind: Kind.Rtnl, op, ns: nsPath(ns), nsIno: nsIno(ns), msg: m.finish(), fdPatches }),
    decode: (raw) => decode(raw as Buffer),
  };
}

export const ack = (): undefined => undefined;

function settle<T>(raw: unknown, op: Op<T>): T {
  if (types.isNativeError(raw)) throw raw;
  return op.decode(raw);
}

/** Whether an inline job's answers may be handed over without waiting for a turn of the event loop. */
let turnFree = true;
const freeTurn = (): void => { turnFree = true; };

/**
 * A job's answers. One run on the calling thread (the addon's inline path)
 * answers at once. The first such job of an event-loop turn hands them over
 * at once too; the next waits for the loop to turn (about 30 µs here), as a
 * lane's answers do, so a loop of awaited calls still lets timers (the
 * reaper), I/O and the store's group commit run every other call.
 */
async function submit(lane: LaneId, requests: NativeRequest[], stopOnError = false): Promise<unknown[]> {
  const answers = native.submit(lane, requests, stopOnError);
  if (!Array.isArray(answers)) return answers;
  if (turnFree) {
    turnFree = false;
    setImmediate(freeTurn);
    return answers;
  }
  await new Promise<void>((resolve) => setImmediate(resolve));
  return answers;
}

export async function run<T>(op: Op<T>, lane: LaneId = Lane.Fast): Promise<T> {
  const [raw] = await submit(lane, [op.request]);
  return settle(raw, op);
}

export type Settled<T> = { ok: true; value: T } | { ok: false; error: Error };

/**
 * Runs several operations in one crossing, in order, on one lane thread.
 * With stopOnError, requests after the first failure are not sent (ECANCELED).
 */
export async function batch(ops: readonly Op<unknown>[], opts: { lane?: LaneId; stopOnError?: boolean } = {}): Promise<Settled<unknown>[]> {
  const raws = await submit(opts.lane ?? Lane.Fast, ops.map((o) => o.request), opts.stopOnError ?? false);
  return raws.map((raw, i) => {
    try {
      return { ok: true, value: settle(raw, ops[i] as Op<unknown>) };
    } catch (error) {
      return { ok: false, error: error as Error };
    }
  });
}

/** Like batch() with stopOnError, but throws the first failure. */
export async function batchAll(ops: readonly Op<unknown>[], lane: LaneId = Lane.Fast): Promise<unknown[]> {
  const res = await batch(ops, { lane, stopOnError: true });
  const bad = res.find((r) => !r.ok);
  if (bad && !bad.ok) throw bad.error;
  return res.map((r) => (r.ok ? r.value : undefined));
}

export const noop = (): Op<undefined> => ({ request: encodeRequest({ kind: Kind.Noop, op: 'noop' }), decode: ack });

/**
 * `op` (built with any placeholder ifindex) with its interface index taken
 * instead from the link that the request `back` places earlier in the same
 * batch created with echo (e.g. linkAddVethOp(..., true)): the addon fills it
 * in between the two requests. The index sits in the ifinfomsg/ifaddrmsg
 * header, or in RTA_OIF for a route.
 */
export function onEchoedLink<T>(op: Op<T>, back: number): Op<T> {
  if (!Number.isInteger(back) || back < 1) throw new InvalidInputError(`onEchoedLink: back must be ≥ 1, not ${back}`);
  const [kind, name, ns, ino, msg, fds, arg1, arg2] = op.request;
  if (kind !== Kind.Rtnl || !msg) throw new InvalidInputError(`${name}: only rtnetlink requests take an echoed index`);
  const offset = indexOffset(msg);
  if (offset === undefined) throw new InvalidInputError(`${name}: no interface index to fill`);
  return { request: [kind, name, ns, ino, msg, fds, arg1, arg2, [offset, back]], decode: op.decode };
}

function indexOffset(msg: Buffer): number | undefined {
  const type = msg.readUInt16LE(4);
  // ifinfomsg and ifaddrmsg both keep the index at byte 4 of the header.
  if (type >= RTM.NEWLINK && type <= RTM.DELADDR) return 16 + 4;
  if (type !== RTM.NEWROUTE && type !== RTM.DELROUTE) return undefined;
  for (let at = 16 + 12; at + 4 <= msg.length;) {
    const len = msg.readUInt16LE(at);
    if (len < 4) return undefined;
    if ((msg.readUInt16LE(at + 2) & 0x3fff) === RTA.OIF) return at + 4;
    at += (len + 3) & ~3;
  }
  return undefined;
}
