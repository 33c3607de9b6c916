// Random hex for IDs and kernel names, from a pooled buffer: one CSPRNG call
// per 4 KiB instead of one per name (each randomBytes() call costs ~6 µs
// here, and a create+join+leave draws three).
import { randomFillSync } from 'node:crypto';

const pool = Buffer.alloc(4096);
let at = pool.length;

/** `bytes` random bytes as lower-case hex (2 × bytes characters). */
export function randomHex(bytes: number): string {
  if (bytes > pool.length) return randomFillSync(Buffer.alloc(bytes)).toString('hex');
  if (at + bytes > pool.length) {
    randomFillSync(pool);
    at = 0;
  }
  const s = pool.toString('hex', at, at + bytes);
  at += bytes;
  return s;
}

/** A random, locally administered unicast MAC (libnetwork's GenerateRandomMAC). */
export function randomLocalMac(): string {
  const h = randomHex(6);
  const first = ((parseInt(h.slice(0, 2), 16) & 0xfe) | 0x02).toString(16).padStart(2, '0');
  return [first, ...h.slice(2).match(/../g)!].join(':');
}
