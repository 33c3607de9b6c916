// Input checks done before anything reaches the kernel.
import { InvalidInputError } from '../errors.js';
import { IFNAMSIZ } from './constants.js';

export function checkIfName(name: string): string {
  const bytes = Buffer.byteLength(name);
  if (bytes === 0 || bytes >= IFNAMSIZ)
    throw new InvalidInputError(`invalid interface name '${name}': must be 1 to ${IFNAMSIZ - 1} bytes`);
  // The kernel refuses these too, except `%`: it expands `%d` to a free
  // number, so the link would get a name the caller never asked for.
  if (name === '.' || name === '..' || /[\s/:%\u0000-\u001f\u007f]/.test(name))
    throw new InvalidInputError(`invalid interface name ${JSON.stringify(name)}`);
  return name;
}

const hexDigit = (c: number): number =>
  c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;

/**
 * Writes `mac` (six colon-separated hex pairs) as six bytes at `at`, or
 * throws. On every join's path, twice: read straight from the string.
 */
export function writeMac(b: Uint8Array, at: number, mac: string): void {
  let ok = mac.length === 17;
  for (let i = 0; ok && i < 6; i++) {
    const hi = hexDigit(mac.charCodeAt(i * 3));
    const lo = hexDigit(mac.charCodeAt(i * 3 + 1));
    ok = hi >= 0 && lo >= 0 && (i === 5 || mac.charCodeAt(i * 3 + 2) === 58);
    b[at + i] = (hi << 4) | lo;
  }
  if (!ok) throw new InvalidInputError(`invalid MAC address '${mac}'`);
}

export function parseMac(mac: string): Buffer {
  const b = Buffer.allocUnsafe(6);
  writeMac(b, 0, mac);
  return b;
}

export const formatMac = (b: Buffer): string => {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (i ? ':' : '') + (b[i]! < 16 ? '0' : '') + b[i]!.toString(16);
  return s;
};

export function checkMtu(mtu: number): number {
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new InvalidInputError(`invalid MTU ${mtu}`);
  return mtu;
}

export function checkU32(what: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new InvalidInputError(`invalid ${what} ${v}`);
  return v;
}
