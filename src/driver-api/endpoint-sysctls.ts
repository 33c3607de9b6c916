// Docker's com.docker.network.endpoint.sysctls: sysctls of the container's
// interface, named IFNAME in their keys (net.ipv4.conf.IFNAME.log_martians),
// set inside the sandbox once the interface exists and before it comes up,
// as libnetwork sets them. Only keys under net.{ipv4,ipv6,mpls}.*.IFNAME.*
// are taken: they are the namespace's own, never the host's.
import { InvalidInputError } from '../errors.js';
import { sysctlSetOp, type Op } from '../netlink/index.js';
import type { JoinTarget } from './driver.js';
import type { EndpointRecord } from './records.js';

/** The driver option's name, as Docker's. */
export const ENDPOINT_SYSCTLS = 'com.docker.network.endpoint.sysctls';

// Docker also takes lower-case ifname: the CLI lower-cases some option text.
const KEY_RE = /^net\.(?:ipv4|ipv6|mpls)\.[A-Za-z0-9_-]+\.(?:IFNAME|ifname)\.[A-Za-z0-9_-]+$/;
const VALUE_RE = /^[\x21-\x7e]+(?: [\x21-\x7e]+)*$/;

const unrecognised = (s: string) => new InvalidInputError(
  `unrecognised network interface sysctl '${s}'; represent 'net.X.Y.ethN.Z=V' as 'net.X.Y.IFNAME.Z=V', 'X' must be 'ipv4', 'ipv6' or 'mpls'`);

/** Checks key → value pairs (the library's form); returns them with IFNAME spelled in capitals. */
export function checkEndpointSysctls(sysctls: unknown): Record<string, string> {
  if (typeof sysctls !== 'object' || sysctls === null || Array.isArray(sysctls)) throw new InvalidInputError('sysctls must be an object of key → value');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(sysctls)) {
    if (!KEY_RE.test(k)) throw unrecognised(`${k}=${String(v)}`);
    if (typeof v !== 'string' || !VALUE_RE.test(v)) throw new InvalidInputError(`invalid value for network interface sysctl '${k}': ${JSON.stringify(v)}`);
    out[k.replace('.ifname.', '.IFNAME.')] = v;
  }
  return out;
}

/** The driver option's text ("k=v,k=v"), as dockerd splits it. */
export function parseEndpointSysctls(text: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const item of text.split(',')) {
    const eq = item.indexOf('=');
    if (eq < 0) throw unrecognised(item);
    pairs[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return checkEndpointSysctls(pairs);
}

/** The writes inside the sandbox, for the interface's final name. */
export const endpointSysctlOps = (target: JoinTarget, ifname: string, ep: EndpointRecord): Op<unknown>[] =>
  Object.entries(ep.sysctls ?? {}).map(([k, v]) => sysctlSetOp(k.replaceAll('.', '/').replace('/IFNAME/', `/${ifname}/`), v, target.ns));
