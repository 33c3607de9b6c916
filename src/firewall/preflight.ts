// What the host must have for a network's rules to mean anything. A rule
// that the kernel never consults is worse than an error: the caller would
// believe containers are isolated when they are not.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FirewallError } from './nft.js';

export const BRIDGE_SYSCTL_DIR = '/proc/sys/net/bridge';

/**
 * enable_icc=false drops traffic between ports of one bridge in the inet
 * forward hook, which bridged frames reach only through br_netfilter with
 * bridge-nf-call-iptables (and -ip6tables for IPv6) on. `dir` is the sysctl
 * directory, a parameter so tests can point it at a fake.
 */
export function checkBrNetfilter(ipv6: boolean, dir = BRIDGE_SYSCTL_DIR): void {
  const keys = ['bridge-nf-call-iptables', ...(ipv6 ? ['bridge-nf-call-ip6tables'] : [])];
  for (const key of keys) {
    const path = join(dir, key);
    let value: string;
    try {
      value = readFileSync(path, 'utf8').trim();
    } catch {
      throw new FirewallError(`enable_icc=false needs the br_netfilter kernel module (${path} is missing): load it with "modprobe br_netfilter"`);
    }
    if (value !== '1')
      throw new FirewallError(`enable_icc=false needs ${path} set to 1 (it is ${value}): bridged traffic would bypass the rules`);
  }
}
