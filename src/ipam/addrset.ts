// A set of offsets within a pool, with next-free search in first-free or
// serial (round-robin) order, optionally restricted to a sub-range.
// Dense pools (up to 2^24 addresses, an IPv4 /8) use one Bitmap; wider ones
// (IPv6) use fixed-size chunks created on first use and dropped when empty,
// so a /64 costs memory only for what is allocated.
import { Bitmap } from './bitmap.js';

const DENSE_LIMIT = 2n ** 24n;
const CHUNK_BITS = 16;
const CHUNK = 1n << BigInt(CHUNK_BITS);

export interface AddrSet {
  readonly size: bigint;
  readonly count: bigint;
  /** Serial-mode position: where the next serial search starts. */
  cursor: bigint;
  has(i: bigint): boolean;
  add(i: bigint): boolean;
  remove(i: bigint): boolean;
  /** Takes the next free offset in [lo, hi); serial continues after the last serial pick, wrapping. */
  addAny(lo: bigint, hi: bigint, serial: boolean): bigint | undefined;
  readonly bytes: number;
}

export function newAddrSet(size: bigint): AddrSet {
  return size <= DENSE_LIMIT ? new DenseSet(Number(size)) : new SparseSet(size);
}

class DenseSet implements AddrSet {
  private readonly bits: Bitmap;
  private cur = 0;
  constructor(n: number) {
    this.bits = new Bitmap(n);
  }
  get size(): bigint { return BigInt(this.bits.size); }
  get count(): bigint { return BigInt(this.bits.count); }
  get cursor(): bigint { return BigInt(this.cur); }
  set cursor(v: bigint) { this.cur = Number(v); }
  get bytes(): number { return this.bits.bytes; }
  has(i: bigint): boolean { return this.bits.isSet(Number(i)); }
  add(i: bigint): boolean { return this.bits.set(Number(i)); }
  remove(i: bigint): boolean { return this.bits.unset(Number(i)); }

  /** The hot path: numbers only, no bigint. */
  addAnyN(lo: number, hi: number, serial: boolean): number {
    let pos = -1;
    if (serial && this.cur > lo && this.cur < hi) {
      pos = this.bits.nextClear(this.cur, hi);
      if (pos < 0) pos = this.bits.nextClear(lo, this.cur);
    } else {
      pos = this.bits.nextClear(lo, hi);
    }
    if (pos < 0) return -1;
    this.bits.set(pos);
    if (serial) this.cur = pos + 1;
    return pos;
  }

  addAny(lo: bigint, hi: bigint, serial: boolean): bigint | undefined {
    const pos = this.addAnyN(Number(lo), Number(hi), serial);
    return pos < 0 ? undefined : BigInt(pos);
  }
}

const chunkKey = (i: bigint): number | bigint => {
  const k = i >> BigInt(CHUNK_BITS);
  return k <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(k) : k;
};

class SparseSet implements AddrSet {
  // Keyed by chunk number as a double: exact below 2^53 chunks (a /75 and narrower).
  private readonly chunks = new Map<number | bigint, Bitmap>();
  private n = 0n;
  cursor = 0n;
  constructor(readonly size: bigint) {}
  get count(): bigint { return this.n; }
  get bytes(): number {
    let b = 0;
    for (const c of this.chunks.values()) b += c.bytes;
    return b;
  }
  has(i: bigint): boolean {
    return this.chunks.get(chunkKey(i))?.isSet(Number(i & (CHUNK - 1n))) ?? false;
  }
  add(i: bigint): boolean {
    if (i < 0n || i >= this.size) throw new RangeError(`offset ${i} outside the pool`);
    const key = chunkKey(i);
    let c = this.chunks.get(key);
    if (!c) this.chunks.set(key, (c = new Bitmap(Number(CHUNK))));
    const added = c.set(Number(i & (CHUNK - 1n)));
    if (added) this.n++;
    return added;
  }
  remove(i: bigint): boolean {
    const key = chunkKey(i);
    const c = this.chunks.get(key);
    if (!c || !c.unset(Number(i & (CHUNK - 1n)))) return false;
    this.n--;
    if (c.count === 0) this.chunks.delete(key);
    return true;
  }
  private nextClear(from: bigint, to: bigint): bigint | undefined {
    let pos = from;
    while (pos < to) {
      const chunkStart = (pos >> BigInt(CHUNK_BITS)) << BigInt(CHUNK_BITS);
      const c = this.chunks.get(chunkKey(pos));
      if (!c) return pos; // an absent chunk is all free
      const within = c.nextClear(Number(pos - chunkStart));
      if (within >= 0) {
        const found = chunkStart + BigInt(within);
        return found < to ? found : undefined;
      }
      pos = chunkStart + CHUNK;
    }
    return undefined;
  }
  addAny(lo: bigint, hi: bigint, serial: boolean): bigint | undefined {
    let pos: bigint | undefined;
    if (serial && this.cursor > lo && this.cursor < hi) {
      pos = this.nextClear(this.cursor, hi) ?? this.nextClear(lo, this.cursor);
    } else {
      pos = this.nextClear(lo, hi);
    }
    if (pos === undefined) return undefined;
    this.add(pos);
    if (serial) this.cursor = pos + 1n;
    return pos;
  }
}

export { DenseSet };
