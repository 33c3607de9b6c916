// The address helpers every join uses: the IPv4 fast path must accept and
// refuse exactly what net.isIP does, and the byte and mask helpers must
// agree with plain bigint arithmetic.
import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { formatIP, ipBytes, maskOf, parseIP, writeIP, type IP } from '../src/ip/addr.js';
import { InvalidInputError } from '../src/errors.js';

const accepts = (text: string): boolean => {
  try {
    parseIP(text);
    return true;
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidInputError);
    return false;
  }
};

describe('parseIP', () => {
  it('reads dotted quads as net.isIP does, edge cases included', () => {
    const cases = [
      '0.0.0.0', '255.255.255.255', '10.0.0.1', '1.2.3.4', '192.168.100.200',
      '256.1.1.1', '1.2.3.256', '01.2.3.4', '1.2.3.04', '00.0.0.0', '1.2.3', '1.2.3.4.5', '1.2.3.4.', '.1.2.3.4',
      '1..2.3', '', '1.2.3.-4', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.4/24', '1000.2.3.4', '1.2.3.a', '١.2.3.4',
      '::1', '::ffff:1.2.3.4', 'fe80::1%eth0', '2001:db8::', '1:2:3:4:5:6:7:8', 'gggg::',
    ];
    for (const c of cases) expect(accepts(c), c).toBe(isIP(c) !== 0 && !c.includes('%'));
  });

  it('agrees with net.isIP on random near-quads', () => {
    // mulberry32: reproducible, and its low bits are as random as its high ones.
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return (((t ^ (t >>> 14)) >>> 0) % n);
    };
    let valid = 0;
    for (let k = 0; k < 20000; k++) {
      const groups = 3 + rnd(3);
      let s = '';
      for (let g = 0; g < groups; g++) {
        if (g) s += rnd(20) ? '.' : ['', '..', 'x', ' '][rnd(4)];
        const digits = rnd(12) ? 1 + rnd(3) : rnd(5);
        for (let d = 0; d < digits; d++) s += String(rnd(10));
      }
      const v4 = isIP(s) === 4;
      if (v4) valid++;
      expect(accepts(s), s).toBe(v4);
      if (v4) expect(formatIP(parseIP(s))).toBe(s);
    }
    // Enough of both kinds for the comparison to mean something.
    expect(valid).toBeGreaterThan(1000);
    expect(valid).toBeLessThan(19000);
  });

  it('gives the value bigint arithmetic gives', () => {
    expect(parseIP('10.1.2.3')).toEqual({ family: 4, value: (10n << 24n) | (1n << 16n) | (2n << 8n) | 3n });
    expect(parseIP('255.255.255.255').value).toBe(0xffffffffn);
    expect(parseIP('2001:db8::1')).toEqual({ family: 6, value: (0x2001n << 112n) | (0xdb8n << 96n) | 1n });
  });
});

describe('address bytes and masks', () => {
  const slow = (ip: IP): number[] => {
    const n = ip.family === 4 ? 4 : 16;
    return Array.from({ length: n }, (_, i) => Number((ip.value >> BigInt(8 * (n - 1 - i))) & 0xffn));
  };

  it('writes addresses in network order, in place or in a buffer of their own', () => {
    for (const text of ['0.0.0.0', '10.200.3.255', '255.255.255.255', '::', '2001:db8::ff00:42:8329', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']) {
      const ip = parseIP(text);
      expect([...ipBytes(ip)], text).toEqual(slow(ip));
      const b = Buffer.alloc(24, 0xaa);
      writeIP(b, 3, ip);
      expect([...b.subarray(3, 3 + slow(ip).length)]).toEqual(slow(ip));
      expect(b[2]).toBe(0xaa);
      expect(b[3 + slow(ip).length]).toBe(0xaa);
    }
  });

  it('masks every prefix length as the formula does, asked once or many times', () => {
    for (const [family, total] of [[4, 32], [6, 128]] as const) {
      for (let bits = 0; bits <= total; bits++) {
        const want = ((1n << BigInt(total)) - 1n) ^ ((1n << BigInt(total - bits)) - 1n);
        expect(maskOf(family, bits)).toBe(want);
        expect(maskOf(family, bits)).toBe(want);
      }
    }
  });
});
