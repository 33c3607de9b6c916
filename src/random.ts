// Random hex for IDs and kernel names, from a pooled buffer: one CSPRNG call
// per 4 KiB instead of one per name (each randomBytes() call costs ~6 µs
// here, and a create+join+leave draws three).
import { randomFillSync } from 'node:crypto';

const pool = Buffer.alloc(4096);
let at = pool.length;

/** Where `bytes` (at most the pool's size) fresh random bytes start in the pool. */
function draw(bytes: number): number {
  if (at + bytes > pool.length) {
    randomFillSync(pool);
    at = 0;
  }
  const from = at;
  at += bytes;
  return from;
}

/** `bytes` random bytes as lower-case hex (2 × bytes characters). */
export function randomHex(bytes: number): string {
  if (bytes > pool.length) return randomFillSync(Buffer.alloc(bytes)).toString('hex');
  const from = draw(bytes);
  return pool.toString('hex', from, from + bytes);
}

/** Each byte's two lower-case hex digits, for MAC strings built without intermediate arrays. */
export const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A random, locally administered unicast MAC (libnetwork's GenerateRandomMAC). */
export function randomLocalMac(): string {
  const b = pool;
  const i = draw(6);
  return `${HEX_BYTE[(b[i]! & 0xfe) | 0x02]}:${HEX_BYTE[b[i + 1]!]}:${HEX_BYTE[b[i + 2]!]}:${HEX_BYTE[b[i + 3]!]}:${HEX_BYTE[b[i + 4]!]}:${HEX_BYTE[b[i + 5]!]}`;
}
