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
  const v4 = dottedQuad(text);
  if (v4 !== undefined) return { family: 4, value: BigInt(v4) };
  // dottedQuad takes every address net.isIP calls IPv4: what is left is IPv6 or nothing.
  if (isIP(text) === 6 && !text.includes('%')) return { family: 6, value: parseV6(text) };
  throw new InvalidInputError(`invalid IP address: ${text}`);
}

/**
 * A strict dotted quad as a number (four decimal octets, no leading zeros),
 * or undefined for anything else. On every join's path, so no regex and no
 * bigint per octet; it accepts exactly what net.isIP calls IPv4.
 */
function dottedQuad(text: string): number | undefined {
  let v = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46; // a final '.' closes the last octet
    if (c === 46) {
      if (digits === 0 || octet > 255 || ++dots > 4) return undefined;
      v = v * 256 + octet;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) return undefined; // a leading zero
      if (++digits > 3) return undefined;
      octet = octet * 10 + (c - 48);
    } else {
      return undefined;
    }
  }
  return dots === 4 ? v : undefined;
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
  const b = Buffer.allocUnsafe(ip.family === 4 ? 4 : 16);
  writeIP(b, 0, ip);
  return b;
}

/** The address in network order at `at` of `b` (4 or 16 bytes), with no buffer of its own. */
export function writeIP(b: Uint8Array, at: number, ip: IP): void {
  if (ip.family === 4) {
    const v = Number(ip.value);
    b[at] = v >>> 24;
    b[at + 1] = (v >>> 16) & 255;
    b[at + 2] = (v >>> 8) & 255;
    b[at + 3] = v & 255;
    return;
  }
  let v = ip.value;
  for (let i = 15; i >= 0; i--) {
    b[at + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

export function ipFromBytes(b: Uint8Array): IP {
  if (b.length !== 4 && b.length !== 16) throw new InvalidInputError(`bad address length ${b.length}`);
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return { family: b.length === 4 ? 4 : 6, value: v };
}

const masks: Record<Family, bigint[]> = { 4: [], 6: [] };

/** The netmask of a prefix length (made once per family and length: IPAM and every address request ask). */
export const maskOf = (f: Family, bits: number): bigint => {
  const known = masks[f][bits];
  if (known !== undefined) return known;
  const total = bitsOf(f);
  const m = ((1n << BigInt(total)) - 1n) ^ ((1n << BigInt(total - bits)) - 1n);
  if (Number.isInteger(bits) && bits >= 0 && bits <= total) masks[f][bits] = m;
  return m;
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

/** One spelling per interface address ("fd00:0::5/64" and "fd00::5/64" alike), so the kernel's and IPAM's forms compare equal. */
export const normCidr = (cidr: string): string => {
  const { ip, bits } = parseCIDR(cidr);
  return `${formatIP(ip)}/${bits}`;
};

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
