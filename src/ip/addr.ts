// IP addresses as plain values: family plus a bigint, so IPv4 and IPv6 share
// one arithmetic. Parsing is strict: anything ambiguous is refused.
import { isIP } from 'node:net';
import { InvalidInputError } from '../errors.js';

export type Family = 4 | 6;

export interface IP {
  readonly family: Family;
  readonly value: bigint;
}

export interface Prefix {
  readonly ip: IP;      // the network address (host bits zero)
  readonly bits: number;
}

export const bitsOf = (f: Family): number => (f === 4 ? 32 : 128);

export function parseIP(text: string): IP {
  const family = isIP(text);
  if (family === 4) {
    let v = 0n;
    for (const part of text.split('.')) {
      if (part.length > 1 && part.startsWith('0')) throw new InvalidInputError(`invalid IP address: ${text}`);
      v = (v << 8n) | BigInt(Number(part));
    }
    return { family: 4, value: v };
  }
  if (family === 6 && !text.includes('%')) return { family: 6, value: parseV6(text) };
  throw new InvalidInputError(`invalid IP address: ${text}`);
}

function parseV6(text: string): bigint {
  let head = text;
  let tail = '';
  const dbl = text.indexOf('::');
  if (dbl >= 0) {
    head = text.slice(0, dbl);
    tail = text.slice(dbl + 2);
  }
  const groups = (s: string): number[] => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (g.includes('.')) {
        const v4 = parseIP(g).value;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const h = groups(head);
  const t = groups(tail);
  const all = dbl >= 0 ? [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t] : h;
  let v = 0n;
  for (const g of all) v = (v << 16n) | BigInt(g);
  return v;
}

export function formatIP(ip: IP): string {
  if (ip.family === 4) {
    const v = Number(ip.value);
    return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((ip.value >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: compress the longest run (>1) of zero groups, leftmost on ties.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

export function ipBytes(ip: IP): Buffer {
  const n = ip.family === 4 ? 4 : 16;
  const b = Buffer.alloc(n);
  let v = ip.value;
  for (let i = n - 1; i >= 0; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return b;
}

export function ipFromBytes(b: Uint8Array): IP {
  if (b.length !== 4 && b.length !== 16) throw new InvalidInputError(`bad address length ${b.length}`);
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return { family: b.length === 4 ? 4 : 6, value: v };
}

export const maskOf = (f: Family, bits: number): bigint => {
  const total = bitsOf(f);
  return ((1n << BigInt(total)) - 1n) ^ ((1n << BigInt(total - bits)) - 1n);
};

/** "10.0.0.5/24" -> the address as given and its prefix length. */
export function parseCIDR(text: string): { ip: IP; bits: number } {
  const slash = text.lastIndexOf('/');
  if (slash < 0) throw new InvalidInputError(`invalid CIDR address: ${text}`);
  const ip = parseIP(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  const bits = Number(lenText);
  if (!/^\d{1,3}$/.test(lenText) || bits > bitsOf(ip.family))
    throw new InvalidInputError(`invalid prefix length in ${text}`);
  return { ip, bits };
}

/** A network prefix; host bits must be zero unless `loose`. */
export function parsePrefix(text: string, loose = false): Prefix {
  const { ip, bits } = parseCIDR(text);
  const net = ip.value & maskOf(ip.family, bits);
  if (!loose && net !== ip.value) throw new InvalidInputError(`invalid subnet ${text}: host bits set (did you mean ${formatIP({ family: ip.family, value: net })}/${bits}?)`);
  return { ip: { family: ip.family, value: net }, bits };
}

export const formatPrefix = (p: Prefix): string => `${formatIP(p.ip)}/${p.bits}`;

export const prefixSize = (p: Prefix): bigint => 1n << BigInt(bitsOf(p.ip.family) - p.bits);
export const prefixLast = (p: Prefix): bigint => p.ip.value + prefixSize(p) - 1n;

export function prefixContains(p: Prefix, ip: IP): boolean {
  return ip.family === p.ip.family && (ip.value & maskOf(ip.family, p.bits)) === p.ip.value;
}

export function prefixesOverlap(a: Prefix, b: Prefix): boolean {
  if (a.ip.family !== b.ip.family) return false;
  return a.ip.value <= prefixLast(b) && b.ip.value <= prefixLast(a);
}

export const sameIP = (a: IP, b: IP): boolean => a.family === b.family && a.value === b.value;

/** Is `address` inside the subnet written as "net/bits"? */
export function cidrContains(subnet: string, address: string): boolean {
  const p = parsePrefix(subnet, true);
  return prefixContains(p, parseIP(address));
}
