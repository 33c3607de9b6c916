// What a caller passes to the controller: its own options and those of the
// networks, endpoints and sandboxes it creates (Docker's names where Docker
// has them).
import type { FirewallMode } from '../firewall/firewall.js';
import type { PortBinding } from '../firewall/ports.js';
import type { PoolSpec } from '../ipam/index.js';
import type { IpamConf } from '../driver-api/records.js';

export interface ControllerOptions {
  /** Where the store and sandbox files live (default /var/lib/nsnet). */
  dataDir?: string;
  /** Where named namespaces are bind-mounted (default /run/netns). */
  runDir?: string;
  defaultPools?: PoolSpec[];
  defaultDriver?: string;
  mtu?: number;
  /** Sandboxes (IDs or container IDs) still alive from before a restart: kept, the rest removed. */
  activeSandboxes?: string[];
  /** Delay before left links are destroyed in a batch (ms). */
  reapDelayMs?: number;
  /**
   * Keep this many namespaces made ahead (default 0: none), so a sandbox's
   * start takes one instead of creating it. They are refilled in the
   * background and deleted on stop.
   */
  netnsPool?: number;
  /**
   * Bridge firewall: nftables (the default; bridge networks then fail with
   * FirewallError if neither libnftables nor `nft` is there) or none (chosen
   * explicitly; enable_icc=false, internal networks and published ports are
   * then refused).
   */
  firewall?: FirewallMode;
  /**
   * This host's underlay IPv4 address: the local VTEP of overlay networks,
   * which are refused (InvalidInputError) without it.
   */
  advertiseAddress?: string;
}

export interface NetworkCreateOptions {
  name: string;
  driver?: string;
  id?: string;
  enableIPv4?: boolean;
  enableIPv6?: boolean;
  internal?: boolean;
  attachable?: boolean;
  ingress?: boolean;
  /**
   * Docker's config-only network: a stored configuration (IPAM, options,
   * labels, IPv4/IPv6) other networks take with `configFrom`. No driver,
   * no kernel object, no pool allocated; no endpoint can be created on it.
   */
  configOnly?: boolean;
  /** The name of a config-only network whose configuration this one takes (and may not add to). */
  configFrom?: string;
  labels?: Record<string, string>;
  options?: Record<string, string>;
  ipam?: { driver?: string; options?: Record<string, string>; config?: IpamConf[] };
  /** Built-in network (none, host, bridge): marked so the daemon refuses to remove it. */
  builtin?: boolean;
}

export interface EndpointCreateOptions {
  ipv4Address?: string;
  ipv6Address?: string;
  /** Docker's --link-local-ip: extra addresses on the interface (IPv6 ones only on an IPv6 network). */
  linkLocalIps?: string[];
  macAddress?: string;
  aliases?: string[];
  /** Ports to publish (bridge networks), as Docker's -p. */
  ports?: PortBinding[];
  /**
   * Docker's gw-priority: of a sandbox's endpoints, the one with the highest
   * holds the default route (ties: the network name first in byte order).
   */
  gwPriority?: number;
  /**
   * Sysctls of the container's interface, set before it comes up, as
   * Docker's com.docker.network.endpoint.sysctls: keys
   * net.{ipv4,ipv6,mpls}.<group>.IFNAME.<name>, e.g. net.ipv4.conf.IFNAME.log_martians.
   */
  sysctls?: Record<string, string>;
  /** Interface name inside the sandbox (CNI_IFNAME); default: the network's prefix and the first free number. */
  ifname?: string;
}

