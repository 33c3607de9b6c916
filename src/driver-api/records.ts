// The persisted shape of the model. Everything the controller needs after a
// restart is in these records; kernel state is derived from them.

export interface IpamConf {
  Subnet?: string;
  IPRange?: string;
  Gateway?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

/** One allocated pool of a network, with what IPAM handed out for it. */
export interface PoolState {
  poolId: string;
  subnet: string;
  ipRange?: string;
  /** Gateway address (no prefix length). */
  gateway?: string;
  aux: Record<string, string>;
}

export interface NetworkRecord {
  id: string;
  name: string;
  driver: string;
  /** 'global' for a network that spans hosts (overlay): the same ID, subnet and VNI on every host. */
  scope: 'local' | 'global';
  created: string;
  enableIPv4: boolean;
  enableIPv6: boolean;
  internal: boolean;
  attachable: boolean;
  ingress: boolean;
  configOnly: boolean;
  /** The config-only network (by name, as Docker keeps it) this one took its configuration from. */
  configFrom?: string;
  labels: Record<string, string>;
  options: Record<string, string>;
  ipam: { driver: string; options: Record<string, string>; config: IpamConf[] };
  /** Persisted: created with the controller's "persist" flag (none, host). */
  builtin?: boolean;
  pools4: PoolState[];
  pools6: PoolState[];
  /** Driver-owned state (e.g. the bridge's name and whether nsnet made it). */
  driverState: Record<string, unknown>;
}

/**
 * A remote endpoint of an overlay network, as whoever knows the cluster
 * (nsnet's cluster layer, or an embedding runtime) feeds it: the local VXLAN
 * device then sends frames for `mac` to `vtep` and answers ARP for `ip`.
 */
export interface OverlayPeer {
  /** The remote endpoint's ID. */
  endpointId: string;
  /** Its IPv4 address, no prefix length ("10.0.9.3"). */
  ip: string;
  /** Its MAC ("02:42:0a:00:09:03"). */
  mac: string;
  /** The remote host's advertise address (its VTEP). */
  vtep: string;
  /** The remote host's name, for inspect. */
  name?: string;
}

import type { PortBinding } from '../firewall/ports.js';
import type { PortMapping } from '../firewall/ruleset.js';

export interface EndpointRecord {
  id: string;
  name: string;
  networkId: string;
  created: string;
  /** "172.18.0.2/16" */
  ipv4?: string;
  ipv6?: string;
  poolId4?: string;
  poolId6?: string;
  mac?: string;
  /** --link-local-ip: extra addresses on the interface, as CIDRs (/16 IPv4, /64 IPv6). */
  linkLocal?: string[];
  aliases: string[];
  /** Ports to publish when joined. */
  ports?: PortBinding[];
  /** Ports published while joined (host ports resolved). */
  published?: PortMapping[];
  /** The interface name asked for at creation, used at every join. */
  requestedIfname?: string;
  /** Set while joined. */
  sandboxId?: string;
  ifname?: string;
  peerIndex?: number;
  hostIfname?: string;
  /** The host end's MAC, chosen at join (absent in records from before it was). */
  hostMac?: string;
  /** Holds the sandbox's default route(s): those of `gatewayFamilies`, else every family it has an address of. */
  gateway?: boolean;
  /**
   * Set when the endpoint holds only one family's default route: Docker
   * elects a gateway endpoint per family, so a dual-stack endpoint may hold
   * IPv6 while an IPv4-only one that outranks it holds IPv4.
   */
  gatewayFamilies?: (4 | 6)[];
  /** Docker's endpoint sysctls: keys naming the interface IFNAME (driver-api/endpoint-sysctls.ts). */
  sysctls?: Record<string, string>;
  /** Docker's gw-priority (absent: 0). */
  gwPriority?: number;
}

export interface SandboxOptions {
  hostname?: string;
  domainname?: string;
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  extraHosts?: { name: string; ip: string }[];
  /** Adopt this namespace (e.g. /proc/PID/ns/net) instead of creating one. */
  netnsPath?: string;
  /** Use the host's namespace (host network mode). */
  useHostNamespace?: boolean;
  /**
   * The adopted namespace is a CNI runtime's: the runtime brings lo up (its
   * loopback plugin) and writes the container's hosts and resolv.conf, so
   * nsnet does neither, and a join may guess the container end's index.
   */
  runtimeManaged?: boolean;
}

export interface SandboxRecord {
  id: string;
  containerId: string;
  created: string;
  /** The namespace path ("SandboxKey"). */
  key: string;
  ino: number;
  /** nsnet created the namespace (and deletes it with the sandbox). */
  owned: boolean;
  host: boolean;
  options: SandboxOptions;
  /** Joined endpoints, in join order. */
  endpoints: string[];
  /** Directory holding the sandbox's hosts and resolv.conf. */
  dir: string;
  /** Unused since joins learn the interface index from the kernel's echo; kept so older records still load. */
  nextIfIndex?: number;
}

/** Whether a joined endpoint holds its sandbox's default route of this family. */
export const holdsDefaultRoute = (ep: EndpointRecord, family: 4 | 6): boolean =>
  !!ep.gateway && (ep.gatewayFamilies ? ep.gatewayFamilies.includes(family) : !!(family === 4 ? ep.ipv4 : ep.ipv6));
