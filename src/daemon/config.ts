// The daemon's configuration, with Docker's daemon.json names where they exist.
import type { PoolSpec } from '../ipam/index.js';

export interface BridgeConfig {
  /** Device of the default "bridge" network (Docker's docker0); nsnet0 so nsnet can live beside Docker. */
  name: string;
  /** Docker's "bip"/"fixed-cidr": the default network's subnet; omitted = first free default pool. */
  subnet?: string;
  gateway?: string;
  mtu: number;
  icc: boolean;
  masquerade: boolean;
  hostBindingIPv4: string;
}

export interface DaemonConfig {
  dataDir: string;
  runDir: string;
  socket: string;
  bridge: BridgeConfig;
  defaultPools?: PoolSpec[];
  /** Name of the network "default" resolves to. */
  defaultNetwork: string;
  /** Docker's daemon `dns`: upstreams of the embedded resolver (empty: the host's resolv.conf). */
  dns?: string[];
  /** Port of the embedded resolver on each gateway (53; another only for experiments). */
  dnsPort?: number;
  /** etcd://HOST:PORT: the cluster store holding global (overlay) networks; none = single host. */
  clusterStore?: string;
  /** This host's underlay IPv4 address: its VTEP and its name in the cluster. */
  advertiseAddress?: string;
  /** Seconds a dead host's endpoints outlive it in the cluster (its lease's TTL). */
  clusterLeaseTtl?: number;
  /** Docker's host-gateway-ips: what `--add-host NAME:host-gateway` stands for (default: the default bridge's gateways). */
  hostGatewayIps?: string[];
}

export function daemonConfig(partial: Partial<Omit<DaemonConfig, 'bridge'>> & { bridge?: Partial<BridgeConfig> } = {}): DaemonConfig {
  return {
    dataDir: partial.dataDir ?? '/var/lib/nsnet',
    runDir: partial.runDir ?? '/run/netns',
    socket: partial.socket ?? '/run/nsnet.sock',
    defaultNetwork: partial.defaultNetwork ?? 'bridge',
    ...(partial.defaultPools ? { defaultPools: partial.defaultPools } : {}),
    ...(partial.dns?.length ? { dns: [...partial.dns] } : {}),
    ...(partial.dnsPort ? { dnsPort: partial.dnsPort } : {}),
    ...(partial.clusterStore ? { clusterStore: partial.clusterStore } : {}),
    ...(partial.advertiseAddress ? { advertiseAddress: partial.advertiseAddress } : {}),
    ...(partial.clusterLeaseTtl ? { clusterLeaseTtl: partial.clusterLeaseTtl } : {}),
    ...(partial.hostGatewayIps?.length ? { hostGatewayIps: [...partial.hostGatewayIps] } : {}),
    bridge: {
      name: 'nsnet0',
      mtu: 1500,
      icc: true,
      masquerade: true,
      hostBindingIPv4: '0.0.0.0',
      ...partial.bridge,
    },
  };
}
