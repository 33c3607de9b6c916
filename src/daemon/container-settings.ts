// The daemon's checks and readings of a container's own network settings,
// as dockerd makes them: what container:<id> mode may not set, what
// --add-host and host-gateway write, what -P publishes.
import { isIP, isIPv4, isIPv6 } from 'node:net';
import { InvalidInputError } from '../errors.js';
import { errInvalid } from './errors.js';
import type { ContainerRecord } from './types.js';

/** The parts of a create request these checks read. */
interface CreateSettings {
  Hostname?: string;
  ExposedPorts?: Record<string, object> | null;
  HostConfig?: Partial<ContainerRecord['HostConfig']> | null;
}

/**
 * A container sharing another's network namespace can set none of its own
 * networking: dockerd's validateNetContainerMode, with its messages (400).
 */
export function checkContainerMode(mode: string, req: CreateSettings): void {
  const hc = req.HostConfig ?? {};
  if (mode === 'container:') throw errInvalid('Invalid network mode: invalid container format container:<name|id>');
  if (req.Hostname) throw errInvalid('conflicting options: hostname and the network mode');
  if (hc.Links?.length) throw errInvalid('conflicting options: container type network can\'t be used with links. This would result in undefined behavior');
  if (hc.Dns?.length) throw errInvalid('conflicting options: dns and the network mode');
  if (hc.ExtraHosts?.length) throw errInvalid('conflicting options: custom host-to-IP mapping and the network mode');
  if (Object.keys(hc.PortBindings ?? {}).length || hc.PublishAllPorts) throw errInvalid('conflicting options: port publishing and the container type network mode');
  if (Object.keys(req.ExposedPorts ?? {}).length) throw errInvalid('conflicting options: port exposing and the container type network mode');
}

/** One IPv4 and one IPv6 address at most, as dockerd's host-gateway-ips. */
export function checkHostGatewayIps(ips: string[]): void {
  for (const ip of ips) if (!isIP(ip)) throw new InvalidInputError(`invalid host-gateway-ip ${JSON.stringify(ip)}: an IPv4 or IPv6 address`);
  if (ips.filter((ip) => isIPv4(ip)).length > 1 || ips.filter((ip) => isIPv6(ip)).length > 1)
    throw new InvalidInputError('host-gateway-ip takes one IPv4 address and one IPv6 address at most');
}

/**
 * The bindings to publish: the container's own, and with PublishAllPorts
 * (docker run -P) an ephemeral host port for every exposed port that has
 * none, as dockerd adds an empty binding for it.
 */
export function publishedPorts(bindings: Record<string, { HostIp: string; HostPort: string }[] | null>, all: boolean,
  exposed: Record<string, object> | null | undefined): Record<string, { HostIp: string; HostPort: string }[] | null> {
  if (!all) return bindings;
  const out = { ...bindings };
  for (const key of Object.keys(exposed ?? {})) {
    const k = key.includes('/') ? key : `${key}/tcp`;
    if (!out[k]?.length && !out[key]?.length) out[k] = [{ HostIp: '', HostPort: '' }];
  }
  return out;
}

/** Docker's special --add-host value (opts.HostGatewayName). */
const HOST_GATEWAY = 'host-gateway';

/**
 * --add-host entries as the hosts file takes them: "name:ip", an IPv6
 * address possibly in brackets ("name:[::1]", as Docker accepts it), and
 * host-gateway standing for `gateways()` (a line per address).
 */
export function extraHosts(list: readonly string[], gateways: () => string[]): { name: string; ip: string }[] {
  return list.flatMap((h) => {
    const i = h.indexOf(':');
    if (i < 0) throw errInvalid(`invalid extra host: ${h}`);
    const name = h.slice(0, i);
    const ip = h.slice(i + 1).replace(/^\[(.*)\]$/, '$1');
    if (ip !== HOST_GATEWAY) return [{ name, ip }];
    const gw = gateways();
    if (!gw.length) throw errInvalid('unable to derive the IP value for host-gateway');
    return gw.map((g) => ({ name, ip: g }));
  });
}

export interface PortSummary { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }

/** A list entry's Ports (`docker ps`'s PORTS, and what its publish/expose filters match): each binding of NetworkSettings.Ports, an exposed port without one as its private port alone (moby's list transform). */
export function portSummaries(ports: ContainerRecord['NetworkSettings']['Ports']): PortSummary[] {
  const out: PortSummary[] = [];
  for (const [key, bindings] of Object.entries(ports ?? {})) {
    const [port, proto = 'tcp'] = key.split('/');
    const privatePort = Number(port);
    if (!Number.isInteger(privatePort)) continue;
    if (!bindings?.length) {
      out.push({ PrivatePort: privatePort, Type: proto });
      continue;
    }
    for (const b of bindings) {
      const publicPort = Number(b.HostPort);
      out.push({ ...(b.HostIp ? { IP: b.HostIp } : {}), PrivatePort: privatePort, ...(publicPort ? { PublicPort: publicPort } : {}), Type: proto });
    }
  }
  return out;
}
