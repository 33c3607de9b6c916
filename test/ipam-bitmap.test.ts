import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Bitmap } from '../src/ipam/bitmap.js';
import { newAddrSet } from '../src/ipam/addrset.js';

// The reference model: a plain Set and the same search rules, written naively.
class Model {
  taken = new Set<bigint>();
  cursor = 0n;
  constructor(readonly size: bigint) {}
  private scan(from: bigint, to: bigint): bigint | undefined {
    for (let i = from; i < to; i++) if (!this.taken.has(i)) return i;
    return undefined;
  }
  addAny(lo: bigint, hi: bigint, serial: boolean): bigint | undefined {
    const start = serial && this.cursor > lo && this.cursor < hi ? this.cursor : lo;
    const pos = this.scan(start, hi) ?? (start > lo ? this.scan(lo, start) : undefined);
    if (pos === undefined) return undefined;
    this.taken.add(pos);
    if (serial) this.cursor = pos + 1n;
    return pos;
  }
}

type Cmd =
  | { t: 'add'; i: number }
  | { t: 'remove'; i: number }
  | { t: 'any'; lo: number; hi: number; serial: boolean };

const cmds = (size: number) =>
  fc.array(
    fc.oneof(
      fc.record({ t: fc.constant('add' as const), i: fc.nat(size - 1) }),
      fc.record({ t: fc.constant('remove' as const), i: fc.nat(size - 1) }),
      fc.record({ t: fc.constant('any' as const), lo: fc.constant(0), hi: fc.constant(size), serial: fc.boolean() }),
      fc.tuple(fc.nat(size), fc.nat(size), fc.boolean()).map(([a, b, serial]) => ({ t: 'any' as const, lo: Math.min(a, b), hi: Math.max(a, b), serial })),
    ),
    { maxLength: 400 },
  );

function check(size: number, base: bigint, list: Cmd[]): void {
  const set = newAddrSet(BigInt(size) + base);
  const model = new Model(BigInt(size) + base);
  for (const c of list) {
    if (c.t === 'add') expect(set.add(base + BigInt(c.i))).toBe(!model.taken.has(base + BigInt(c.i)) && !!model.taken.add(base + BigInt(c.i)));
    else if (c.t === 'remove') expect(set.remove(base + BigInt(c.i))).toBe(model.taken.delete(base + BigInt(c.i)));
    else expect(set.addAny(base + BigInt(c.lo), base + BigInt(c.hi), c.serial)).toBe(model.addAny(base + BigInt(c.lo), base + BigInt(c.hi), c.serial));
    expect(set.count).toBe(BigInt(model.taken.size));
  }
}

describe('address sets against a reference model', () => {
  for (const size of [1, 2, 4, 31, 32, 33, 256, 1100, 40000]) {
    it(`dense, ${size} addresses`, () => {
      fc.assert(fc.property(cmds(size), (list) => check(size, 0n, list)), { numRuns: size > 1000 ? 60 : 150 });
    });
  }
  it('sparse (an IPv6 /64), operating near the start and across chunk boundaries', () => {
    // Offsets are shifted to straddle a 2^16 chunk boundary in a 2^64 space.
    const base = 65536n * 3n - 700n;
    fc.assert(fc.property(cmds(1500), (list) => {
      const set = newAddrSet(1n << 64n);
      const model = new Model(1n << 64n);
      for (const c of list) {
        if (c.t === 'add') { const v = base + BigInt(c.i); expect(set.add(v)).toBe(!model.taken.has(v) && !!model.taken.add(v)); }
        else if (c.t === 'remove') { const v = base + BigInt(c.i); expect(set.remove(v)).toBe(model.taken.delete(v)); }
        else expect(set.addAny(base + BigInt(c.lo), base + BigInt(c.hi), c.serial)).toBe(model.addAny(base + BigInt(c.lo), base + BigInt(c.hi), c.serial));
      }
      expect(set.count).toBe(BigInt(model.taken.size));
    }), { numRuns: 60 });
  });
});

describe('bitmap', () => {
  it('holds a /8 (2^24 bits) in under 2.5 MB and finds the last free bit of a nearly full one', () => {
    const b = new Bitmap(2 ** 24);
    expect(b.bytes).toBeLessThan(2.5 * 1024 * 1024);
    for (let i = 0; i < 2 ** 24; i++) b.set(i);
    expect(b.nextClear(0)).toBe(-1);
    b.unset(12_345_678);
    expect(b.nextClear(0)).toBe(12_345_678);
    expect(b.nextClear(12_345_679)).toBe(-1);
    expect(b.count).toBe(2 ** 24 - 1);
  });
  it('refuses bits outside its range', () => {
    const b = new Bitmap(10);
    expect(() => b.set(10)).toThrow(RangeError);
    expect(() => b.set(-1)).toThrow(RangeError);
    expect(b.nextClear(10)).toBe(-1);
  });
});
