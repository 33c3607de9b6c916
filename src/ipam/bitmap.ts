// A dense bitmap with summary levels: level k+1 holds one bit per word of
// level k, set when that word is full. Finding the next free bit skips full
// regions 32x (then 1024x, ...) at a time, so a nearly full /8 costs a few
// word reads, not a linear scan. 2^24 bits (a /8) take ~2.1 MB.

const FULL = 0xffffffff | 0;
const ctz = (x: number): number => 31 - Math.clz32(x & -x);

export class Bitmap {
  readonly size: number;
  private readonly levels: Int32Array[] = [];
  private readonly levelBits: number[] = [];
  private ones = 0;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1 || size > 2 ** 31) throw new RangeError(`bitmap size ${size}`);
    this.size = size;
    let bits = size;
    for (;;) {
      const words = Math.ceil(bits / 32);
      const arr = new Int32Array(words);
      // Padding past the end reads as "taken" so searches never return it.
      const tail = bits % 32;
      if (tail) arr[words - 1] = FULL << tail;
      this.levels.push(arr);
      this.levelBits.push(bits);
      if (words <= 32) break;
      bits = words;
    }
  }

  get count(): number {
    return this.ones;
  }

  isSet(i: number): boolean {
    return ((this.levels[0]![i >>> 5]! >>> (i & 31)) & 1) === 1;
  }

  /** Sets bit i; false if it was already set. */
  set(i: number): boolean {
    if (i < 0 || i >= this.size) throw new RangeError(`bit ${i} outside 0..${this.size - 1}`);
    if (this.isSet(i)) return false;
    this.ones++;
    let idx = i;
    for (let l = 0; l < this.levels.length; l++) {
      const words = this.levels[l]!;
      const w = idx >>> 5;
      words[w] = words[w]! | (1 << (idx & 31));
      if (words[w] !== FULL) break;
      idx = w; // this word just filled: mark it in the level above
    }
    return true;
  }

  /** Clears bit i; false if it was already clear. */
  unset(i: number): boolean {
    if (i < 0 || i >= this.size) throw new RangeError(`bit ${i} outside 0..${this.size - 1}`);
    if (!this.isSet(i)) return false;
    this.ones--;
    let idx = i;
    for (let l = 0; l < this.levels.length; l++) {
      const words = this.levels[l]!;
      const w = idx >>> 5;
      const wasFull = words[w] === FULL;
      words[w] = words[w]! & ~(1 << (idx & 31));
      if (!wasFull) break;
      idx = w; // the word is no longer full: clear its summary bit too
    }
    return true;
  }

  /** First clear bit at or after `from` (and below `to`), or -1. */
  nextClear(from: number, to = this.size): number {
    if (from >= to) return -1;
    const pos = this.findZero(0, from);
    return pos >= 0 && pos < to ? pos : -1;
  }

  private findZero(level: number, from: number): number {
    const words = this.levels[level]!;
    if (from >= this.levelBits[level]!) return -1;
    let w = from >>> 5;
    const inv = ~words[w]! & (FULL << (from & 31));
    if (inv) return (w << 5) + ctz(inv);
    if (level + 1 < this.levels.length) {
      w = this.findZero(level + 1, w + 1);
      if (w < 0) return -1;
    } else {
      do w++; while (w < words.length && words[w] === FULL);
      if (w >= words.length) return -1;
    }
    return (w << 5) + ctz(~words[w]!);
  }

  /** Bytes held by the bitmap arrays. */
  get bytes(): number {
    return this.levels.reduce((n, a) => n + a.byteLength, 0);
  }
}
