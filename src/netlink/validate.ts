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

const MAC = /^(?:[0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;

/** On every join's path (each host end gets one): no intermediate arrays. */
export function parseMac(mac: string): Buffer {
  if (!MAC.test(mac)) throw new InvalidInputError(`invalid MAC address '${mac}'`);
  const b = Buffer.allocUnsafe(6);
  for (let i = 0; i < 6; i++) b[i] = parseInt(mac.slice(i * 3, i * 3 + 2), 16);
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
