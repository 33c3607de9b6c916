// The container's /etc/hosts and /etc/resolv.conf, written into the
// sandbox's own directory for the runtime to bind-mount.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SandboxOptions } from '../driver-api/records.js';

const DEFAULT_DNS = ['8.8.8.8', '8.8.4.4'];

export function hostsContent(opts: SandboxOptions, addresses: string[]): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
  ];
  for (const h of opts.extraHosts ?? []) lines.push(`${h.ip}\t${h.name}`);
  if (opts.hostname) {
    const names = opts.domainname ? `${opts.hostname}.${opts.domainname} ${opts.hostname}` : opts.hostname;
    for (const a of addresses) lines.push(`${a}\t${names}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Docker's rule: the host's resolv.conf minus loopback nameservers, unless DNS is given. */
export function resolvContent(opts: SandboxOptions, hostResolv = '/etc/resolv.conf'): string {
  let servers = opts.dns ?? [];
  let search = opts.dnsSearch ?? [];
  let options = opts.dnsOptions ?? [];
  if (!servers.length) {
    let text = '';
    try { text = readFileSync(hostResolv, 'utf8'); } catch { /* no host file: defaults */ }
    const lines = text.split('\n').map((l) => l.trim());
    servers = lines.filter((l) => l.startsWith('nameserver')).map((l) => l.split(/\s+/)[1] ?? '')
      .filter((s) => s && !s.startsWith('127.') && s !== '::1');
    if (!search.length) search = lines.filter((l) => l.startsWith('search')).flatMap((l) => l.split(/\s+/).slice(1));
    if (!options.length) options = lines.filter((l) => l.startsWith('options')).flatMap((l) => l.split(/\s+/).slice(1));
    if (!servers.length) servers = DEFAULT_DNS;
  }
  const out = servers.map((s) => `nameserver ${s}`);
  if (search.length) out.push(`search ${search.join(' ')}`);
  if (options.length) out.push(`options ${options.join(' ')}`);
  return `${out.join('\n')}\n`;
}

/**
 * resolv.conf of a container served by the embedded resolver (Docker's rule
 * for user-defined networks): the resolver as the only nameserver, the
 * search list and options of the container (or else the host's), and
 * `ndots:0` unless the container set ndots itself. The container's --dns
 * servers become the resolver's upstreams instead.
 */
export function embeddedResolvContent(opts: SandboxOptions, resolvers: string[], hostResolv = '/etc/resolv.conf'): string {
  let text = '';
  try { text = readFileSync(hostResolv, 'utf8'); } catch { /* no host file */ }
  const lines = text.split('\n').map((l) => l.trim());
  const search = opts.dnsSearch?.length ? opts.dnsSearch : lines.filter((l) => l.startsWith('search')).flatMap((l) => l.split(/\s+/).slice(1));
  const options = opts.dnsOptions?.length ? [...opts.dnsOptions]
    : lines.filter((l) => l.startsWith('options')).flatMap((l) => l.split(/\s+/).slice(1));
  if (!options.some((o) => o.startsWith('ndots:'))) options.push('ndots:0');
  const out = resolvers.map((s) => `nameserver ${s}`);
  if (search.length) out.push(`search ${search.join(' ')}`);
  out.push(`options ${options.join(' ')}`);
  return `${out.join('\n')}\n`;
}

/** Rewrites resolv.conf: the embedded resolvers when given, else the usual content. */
export function updateResolvConf(dir: string, opts: SandboxOptions, resolvers: string[]): void {
  writeFileSync(join(dir, 'resolv.conf'), resolvers.length ? embeddedResolvContent(opts, resolvers) : resolvContent(opts));
}

export function writeSandboxFiles(dir: string, opts: SandboxOptions, addresses: string[]): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, 'hosts'), hostsContent(opts, addresses));
  writeFileSync(join(dir, 'resolv.conf'), resolvContent(opts));
  if (opts.hostname) writeFileSync(join(dir, 'hostname'), `${opts.hostname}\n`);
}

export function updateHosts(dir: string, opts: SandboxOptions, addresses: string[]): void {
  writeFileSync(join(dir, 'hosts'), hostsContent(opts, addresses));
}

export const removeSandboxFiles = (dir: string): void => rmSync(dir, { recursive: true, force: true });
