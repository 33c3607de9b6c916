// Checks on everything a caller hands the model before any of it reaches a
// file (hosts, resolv.conf), an nftables script or a kernel name. They live
// here, below the controller and the drivers, so the library refuses bad
// input itself rather than trusting the API layer to have done it. Each
// throws InvalidInputError with Docker's wording where Docker has one.
import { InvalidInputError } from '../errors.js';
import { parseIP } from '../ip/addr.js';
import { IFNAMSIZ } from '../netlink/constants.js';
import { checkMtu } from '../netlink/validate.js';
import type { SandboxOptions } from './records.js';

/**
 * Interface names nsnet makes or adopts: a conservative character set. The
 * kernel would take more (and expand `%d` itself, so the link gets a name
 * nsnet never asked for), but these names are also quoted into nftables
 * scripts and sysctl paths, where quotes, slashes and spaces do harm.
 */
const IFNAME_RE = /^[A-Za-z0-9_.-]+$/;

export function checkInterfaceName(what: string, name: unknown, room = 0): string {
  if (typeof name !== 'string' || !name) throw new InvalidInputError(`invalid interface name in ${what}: it must be a non-empty string`);
  if (!IFNAME_RE.test(name) || name === '.' || name === '..')
    throw new InvalidInputError(`invalid interface name "${printable(name)}" in ${what}: only [A-Za-z0-9_.-] are allowed, and not "." or ".."`);
  if (!room) checkNotReservedIfname(what, name);
  const max = IFNAMSIZ - 1 - room;
  if (Buffer.byteLength(name) > max)
    throw new InvalidInputError(`invalid interface name "${name}" in ${what}: longer than ${max} bytes${room ? ` (the kernel's limit less ${room} for the index suffix)` : ''}`);
  return name;
}

/**
 * Names no interface nsnet makes may take: the kernel refuses "all" and
 * "default" (each interface's sysctl directory would clash with conf/all and
 * conf/default), and inside a namespace "lo" is its loopback.
 */
export function checkNotReservedIfname(what: string, name: string, inNamespace = false): void {
  if (name === 'all' || name === 'default')
    throw new InvalidInputError(`invalid interface name "${name}" in ${what}: "all" and "default" are the kernel's own (net.*.conf.${name})`);
  if (inNamespace && name === 'lo')
    throw new InvalidInputError(`invalid interface name "lo" in ${what}: every network namespace has its own loopback by that name`);
}

/** Room left after a container interface prefix for its index suffix (eth0 … eth99). */
export const IFACE_SUFFIX_ROOM = 2;

/** One RFC 1123 label: letters, digits, inner hyphens, 1–63 bytes. */
const LABEL_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

function isDomain(name: string, max: number): boolean {
  return name.length > 0 && name.length <= max && name.split('.').every((l) => LABEL_RE.test(l));
}

/** The kernel's HOST_NAME_MAX: a longer name cannot be set in the container's UTS namespace. */
const HOST_NAME_MAX = 64;

export function checkHostname(name: unknown): void {
  if (typeof name !== 'string' || !isDomain(name, HOST_NAME_MAX)) throw new InvalidInputError(`invalid hostname format: ${printable(name)}`);
}

export function checkDomainname(name: unknown): void {
  if (typeof name !== 'string' || (name !== '' && !isDomain(name.replace(/\.$/, ''), 253)))
    throw new InvalidInputError(`invalid domainname format: ${printable(name)}`);
}

export function checkIP(what: string, ip: unknown): string {
  if (typeof ip !== 'string') throw new InvalidInputError(`${printable(ip)} is not an ip address`);
  try {
    parseIP(ip);
  } catch {
    throw new InvalidInputError(what === 'dns' ? `${printable(ip)} is not an ip address` : `invalid IP address in ${what}: "${printable(ip)}"`);
  }
  return ip;
}

/** Docker's opts.ValidateDNSSearch: a domain, or "." (no search domains). */
export function checkDnsSearch(domain: unknown): void {
  if (domain === '.') return;
  if (typeof domain !== 'string' || !isDomain(domain.replace(/\.$/, ''), 253)) throw new InvalidInputError(`${printable(domain)} is not a valid domain`);
}

/** resolv.conf's options: a keyword, or keyword:N (ndots:2, timeout:1, attempts:3). */
const DNS_OPTION_RE = /^[A-Za-z][A-Za-z0-9_-]*(?::\d{1,5})?$/;

export function checkDnsOption(opt: unknown): void {
  if (typeof opt !== 'string' || !DNS_OPTION_RE.test(opt)) throw new InvalidInputError(`invalid DNS option ${JSON.stringify(opt)}`);
}

/** A name in /etc/hosts: RFC 1123 labels, underscores tolerated (as glibc's resolver does). */
const HOSTS_NAME_RE = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})$/;

export function checkExtraHost(h: unknown): void {
  const e = h as { name?: unknown; ip?: unknown } | null;
  if (!e || typeof e !== 'object' || typeof e.name !== 'string' || !HOSTS_NAME_RE.test(e.name))
    throw new InvalidInputError(`invalid extra host name: ${printable(e?.name)}`);
  checkIP('add-host', e.ip);
}

function list(what: string, v: unknown): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new InvalidInputError(`${what} must be a list`);
  return v;
}

/** Everything in a sandbox's options that is written into its hosts, resolv.conf and hostname files. */
export function validateSandboxOptions(o: SandboxOptions): void {
  if (o.hostname !== undefined) checkHostname(o.hostname);
  if (o.domainname !== undefined) checkDomainname(o.domainname);
  for (const s of list('dns', o.dns)) checkIP('dns', s);
  for (const s of list('dns search', o.dnsSearch)) checkDnsSearch(s);
  for (const s of list('dns options', o.dnsOptions)) checkDnsOption(s);
  for (const h of list('extra hosts', o.extraHosts)) checkExtraHost(h);
  if (o.netnsPath !== undefined) checkText('netns path', o.netnsPath);
}

/** A string that goes into a record, a file or a script: no line breaks, no NUL, no other control characters. */
export function checkText(what: string, v: unknown): string {
  if (typeof v !== 'string') throw new InvalidInputError(`invalid ${what}: ${printable(v)} is not a string`);
  if (/[\u0000-\u001f\u007f]/.test(v)) throw new InvalidInputError(`invalid ${what} ${JSON.stringify(v)}: control characters are not allowed`);
  return v;
}

/** Labels and driver options: string keys and values, no control characters. */
export function checkStringMap(what: string, m: unknown): void {
  if (m === undefined || m === null) return;
  if (typeof m !== 'object' || Array.isArray(m)) throw new InvalidInputError(`invalid ${what}: not an object`);
  for (const [k, v] of Object.entries(m)) {
    checkText(`${what} key`, k);
    if (!k) throw new InvalidInputError(`invalid ${what}: empty key`);
    checkText(`${what} ${k}`, v);
  }
}

/** A string option that must parse as a boolean (strconv.ParseBool's forms and yes/no/on/off). */
export function checkBoolOption(key: string, v: string | undefined): void {
  if (v === undefined || v === '') return;
  if (!/^(1|t|true|yes|on|0|f|false|no|off)$/i.test(v)) throw new InvalidInputError(`invalid value "${v}" for option ${key}: not a boolean`);
}

/** An MTU given as a string option (com.docker.network.driver.mtu). */
export function checkMtuOption(v: string | undefined): void {
  if (v === undefined) return;
  if (!/^\d{1,5}$/.test(v)) throw new InvalidInputError(`invalid MTU number: ${printable(v)}`);
  try {
    checkMtu(Number(v));
  } catch {
    throw new InvalidInputError(`invalid MTU number: ${v}`);
  }
}

/** A unicast MAC: a multicast one on a veth would be refused by the kernel after the link was half made. */
export function checkMac(mac: unknown): string {
  if (typeof mac !== 'string' || !/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(mac)) throw new InvalidInputError(`invalid MAC address ${printable(mac)}`);
  if (parseInt(mac.slice(0, 2), 16) & 1) throw new InvalidInputError(`invalid MAC address ${mac}: a multicast address`);
  if (/^(00:){5}00$/.test(mac)) throw new InvalidInputError(`invalid MAC address ${mac}: the all-zero address`);
  return mac;
}

const isPort = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;

/**
 * Port bindings' shape (the registry checks host ports and conflicts): every
 * field lands in an nftables map element, so each is checked for its type.
 */
export function checkPortBindings(ports: unknown): void {
  for (const p of list('ports', ports)) {
    const b = p as { proto?: unknown; containerPort?: unknown; containerPortEnd?: unknown; hostIp?: unknown; hostPort?: unknown } | null;
    if (!b || typeof b !== 'object') throw new InvalidInputError('invalid port binding');
    if (b.proto !== 'tcp' && b.proto !== 'udp') throw new InvalidInputError(`invalid proto ${printable(b.proto)}: only tcp and udp are supported`);
    if (!isPort(b.containerPort)) throw new InvalidInputError(`invalid container port ${printable(b.containerPort)}`);
    if (b.containerPortEnd !== undefined && (!isPort(b.containerPortEnd) || (b.containerPortEnd as number) < (b.containerPort as number)))
      throw new InvalidInputError(`invalid container port range ${printable(b.containerPort)}-${printable(b.containerPortEnd)}`);
    if (b.hostIp !== undefined && b.hostIp !== '') checkIP('port binding', b.hostIp);
    if (b.hostPort !== undefined && !(typeof b.hostPort === 'number' ? Number.isInteger(b.hostPort) : typeof b.hostPort === 'string' && /^(\d+(-\d+)?)?$/.test(b.hostPort)))
      throw new InvalidInputError(`invalid host port ${printable(b.hostPort)}`);
  }
}

/** A value as it may be shown in a message: control characters escaped, so an error cannot forge lines either. */
function printable(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  return JSON.stringify(s).slice(1, -1);
}
