// Building and reading rtnetlink messages. The addon fills in length, seq and
// pid; we lay out the rest. Attributes are 4-byte aligned TLVs.
import { NLM_F } from './constants.js';

const HDR = 16;
const align4 = (n: number) => (n + 3) & ~3;

export class MessageBuilder {
  private buf: Buffer;
  private len = HDR;
  /** Offsets of u32 attributes the addon must fill with a namespace fd. */
  readonly fdOffsets: number[] = [];

  constructor(type: number, flags: number, size = 256) {
    this.buf = Buffer.alloc(size);
    this.buf.writeUInt16LE(type, 4);
    this.buf.writeUInt16LE(flags | NLM_F.REQUEST, 6);
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
    const total = 4 + payload.length;
    this.room(align4(total));
    this.buf.writeUInt16LE(total, this.len);
    this.buf.writeUInt16LE(type, this.len + 2);
    this.buf.set(payload, this.len + 4);
    this.len += align4(total);
    return this;
  }

  u8(type: number, v: number): this { return this.attr(type, Uint8Array.of(v)); }
  u16(type: number, v: number): this { const b = Buffer.alloc(2); b.writeUInt16LE(v); return this.attr(type, b); }
  u16be(type: number, v: number): this { const b = Buffer.alloc(2); b.writeUInt16BE(v); return this.attr(type, b); }
  u32(type: number, v: number): this { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return this.attr(type, b); }
  str(type: number, s: string): this { return this.attr(type, Buffer.from(`${s}\0`)); }

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
    this.buf.writeUInt16LE(this.len - start, start);
    this.buf.writeUInt16LE(type, start + 2);
    return this;
  }

  finish(): Buffer {
    this.buf.writeUInt32LE(this.len, 0);
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
