// Building and reading rtnetlink messages. The addon fills in length, seq and
// pid; we lay out the rest. Attributes are 4-byte aligned TLVs.
import { InvalidInputError } from '../errors.js';
import { writeIP, type IP } from '../ip/addr.js';
import { NLM_F } from './constants.js';

const HDR = 16;
const align4 = (n: number) => (n + 3) & ~3;
/** An attribute's length is 16 bits: a longer one (a huge string, say) is refused, not cut. */
const checkAttrLen = (n: number): number => {
  if (n > 0xffff) throw new InvalidInputError(`netlink attribute of ${n} bytes: at most 65535`);
  return n;
};

// Little-endian stores of values the builder itself computed (lengths, types,
// offsets within its buffer): Buffer's write methods check each argument again.
const put16 = (b: Buffer, at: number, v: number): void => {
  b[at] = v & 255;
  b[at + 1] = (v >>> 8) & 255;
};
export const put32 = (b: Buffer, at: number, v: number): void => {
  b[at] = v & 255;
  b[at + 1] = (v >>> 8) & 255;
  b[at + 2] = (v >>> 16) & 255;
  b[at + 3] = (v >>> 24) & 255;
};

export class MessageBuilder {
  private buf: Buffer;
  private len = HDR;
  /** Offsets of u32 attributes the addon must fill with a namespace fd. */
  readonly fdOffsets: number[] = [];

  constructor(type: number, flags: number, size = 256) {
    // From Node's shared pool (a fresh zeroed ArrayBuffer per message was the
    // costliest step of building a join's messages); zeroed here, as padding is.
    this.buf = Buffer.allocUnsafe(size).fill(0);
    put16(this.buf, 4, type);
    put16(this.buf, 6, flags | NLM_F.REQUEST);
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** Appends a fixed header struct (ifinfomsg, ifaddrmsg, rtmsg) of `size` bytes. */
  struct(size: number, fill: (b: Buffer, at: number) => void): this {
    this.room(align4(size));
    fill(this.buf, this.len);
    this.len += align4(size);
    return this;
  }

  attr(type: number, payload: Uint8Array): this {
    const at = this.header(type, payload.length);
    this.buf.set(payload, at);
    return this;
  }

  /**
   * Reserves an attribute of `size` payload bytes and returns where its
   * payload goes: scalars and strings are written in place, with no
   * buffer of their own (a join builds about forty attributes).
   */
  private header(type: number, size: number): number {
    const total = checkAttrLen(4 + size);
    this.room(align4(total));
    const at = this.len;
    put16(this.buf, at, total);
    put16(this.buf, at + 2, type);
    this.len += align4(total);
    return at + 4;
  }

  // header() may replace the buffer: the offset is taken before `this.buf` is read.
  u8(type: number, v: number): this { const at = this.header(type, 1); this.buf.writeUInt8(v, at); return this; }
  u16(type: number, v: number): this { const at = this.header(type, 2); this.buf.writeUInt16LE(v, at); return this; }
  u16be(type: number, v: number): this { const at = this.header(type, 2); this.buf.writeUInt16BE(v, at); return this; }
  u32(type: number, v: number): this {
    // Every caller has checked the value (checkU32 and the like): stored as is, without Buffer's own checks.
    const at = this.header(type, 4);
    put32(this.buf, at, v >>> 0);
    return this;
  }
  /** An address attribute (4 or 16 bytes), written in place. */
  ip(type: number, ip: IP): this {
    const at = this.header(type, ip.family === 4 ? 4 : 16);
    writeIP(this.buf, at, ip);
    return this;
  }
  str(type: number, s: string): this {
    const n = Buffer.byteLength(s);
    const at = this.header(type, n + 1);
    this.buf.write(s, at, n, 'utf8');
    this.buf[at + n] = 0;
    return this;
  }

  /** A u32 attribute whose value the addon patches with a namespace fd. */
  nsFd(type: number): this {
    this.fdOffsets.push(this.len + 4);
    return this.u32(type, 0);
  }

  nest(type: number, body: (m: this) => void): this {
    this.room(4);
    const start = this.len;
    this.len += 4;
    body(this);
    put16(this.buf, start, checkAttrLen(this.len - start));
    put16(this.buf, start + 2, type);
    return this;
  }

  finish(): Buffer {
    put32(this.buf, 0, this.len);
    return this.buf.subarray(0, this.len);
  }
}

export interface RawMessage {
  type: number;
  flags: number;
  /** The message body after the nlmsghdr. */
  body: Buffer;
}

export function* messages(buf: Buffer): Generator<RawMessage> {
  let off = 0;
  while (off + HDR <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < HDR || off + len > buf.length) return;
    yield { type: buf.readUInt16LE(off + 4), flags: buf.readUInt16LE(off + 6), body: buf.subarray(off + HDR, off + len) };
    off += align4(len);
  }
}

/** Attributes of a message body starting at `from`, by type (last one wins). */
export function attrs(buf: Buffer, from = 0): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let off = from;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < 4 || off + len > buf.length) break;
    out.set(buf.readUInt16LE(off + 2) & 0x3fff, buf.subarray(off + 4, off + len));
    off += align4(len);
  }
  return out;
}

export const attrString = (b: Buffer | undefined): string | undefined => {
  if (!b) return undefined;
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? b.length : nul);
};
export const attrU32 = (b: Buffer | undefined): number | undefined => (b && b.length >= 4 ? b.readUInt32LE(0) : undefined);
