// A prepared operation: the request the addon will run plus how to read its
// answer. Single calls and batches (many requests, one crossing) share it.
import { types } from 'node:util';
import { InvalidInputError } from '../errors.js';
import { Kind, Lane, type LaneId, native, type NativeRequest } from './native.js';
import type { MessageBuilder } from './message.js';
import type { Netns } from './netns.js';

export interface Op<T> {
  readonly request: NativeRequest;
  readonly decode: (raw: unknown) => T;
}

export const nsPath = (ns: Netns | undefined): string => ns?.path ?? '';
export const nsIno = (ns: Netns | undefined): number => ns?.ino ?? 0;

/** An rtnetlink request in `ns`; `fdTargets` fill the builder's nsFd() slots in order. */
export function rtnlOp<T>(op: string, ns: Netns | undefined, m: MessageBuilder, decode: (b: Buffer) => T,
  fdTargets: (Netns | undefined)[] = []): Op<T> {
  if (fdTargets.length !== m.fdOffsets.length) throw new InvalidInputError(`${op}: namespace fd slots mismatch`);
  const fds: (string | number)[] = [];
  m.fdOffsets.forEach((off, i) => fds.push(off, nsPath(fdTargets[i]), nsIno(fdTargets[i])));
  return {
    request: [Kind.Rtnl, op, nsPath(ns), nsIno(ns), m.finish(), fds.length ? fds : undefined],
    decode: (raw) => decode(raw as Buffer),
  };
}

export const ack = (): undefined => undefined;

function settle<T>(raw: unknown, op: Op<T>): T {
  if (types.isNativeError(raw)) throw raw;
  return op.decode(raw);
}

export async function run<T>(op: Op<T>, lane: LaneId = Lane.Fast): Promise<T> {
  const [raw] = await native.submit(lane, [op.request]);
  return settle(raw, op);
}

export type Settled<T> = { ok: true; value: T } | { ok: false; error: Error };

/**
 * Runs several operations in one crossing, in order, on one lane thread.
 * With stopOnError, requests after the first failure are not sent (ECANCELED).
 */
export async function batch(ops: readonly Op<unknown>[], opts: { lane?: LaneId; stopOnError?: boolean } = {}): Promise<Settled<unknown>[]> {
  const raws = await native.submit(opts.lane ?? Lane.Fast, ops.map((o) => o.request), opts.stopOnError ?? false);
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

export const noop = (): Op<undefined> => ({ request: [Kind.Noop, 'noop', '', 0], decode: ack });
