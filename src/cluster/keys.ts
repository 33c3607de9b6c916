// The cluster's key schema in etcd, and the JSON values stored under it.
// Everything lives under one versioned prefix so another layout (or another
// program sharing the etcd) never collides with it.

export const PREFIX = '/nsnet/v1/';

/** A global network as every host instantiates it. */
export interface GlobalNetwork {
  id: string;
  name: string;
  driver: 'overlay';
  /** VXLAN network identifier, unique in the cluster. */
  vni: number;
  subnet: string;
  gateway: string;
  ipRange?: string;
  internal: boolean;
  attachable: boolean;
  labels: Record<string, string>;
  /** The driver options as asked (the VNI option is added per host). */
  options: Record<string, string>;
  created: string;
}

/** Who holds an address: a host, and once created the endpoint using it. */
export interface AddressClaim {
  host: string;
  endpointId?: string;
}

/** An endpoint on a global network, as the other hosts program it (the contract's OverlayPeer plus its host). */
export interface EndpointEntry {
  endpointId: string;
  ip: string;
  mac: string;
  vtep: string;
  /** The host's key in the cluster (its advertise address). */
  host: string;
  /** The host's name, shown in inspect's Peers. */
  hostName: string;
  /**
   * Docker's DNSNames of the endpoint (its container's name, its aliases on
   * this network, the short container ID): what the other hosts' embedded
   * DNS answers with its address. Absent in entries of hosts from before.
   */
  names?: string[];
  /** The container's name (PTR answers on the other hosts). */
  containerName?: string;
}

/** A live host: registered under its lease. */
export interface HostEntry {
  address: string;
  name: string;
  since: string;
}

export const keys = {
  networks: `${PREFIX}networks/`,
  network: (id: string) => `${PREFIX}networks/${id}`,
  name: (name: string) => `${PREFIX}names/${encodeURIComponent(name)}`,
  vni: (vni: number) => `${PREFIX}vnis/${vni}`,
  /** One key for every subnet in use, so an allocation compares one revision. */
  subnets: `${PREFIX}subnets`,
  allAddresses: `${PREFIX}addresses/`,
  addresses: (netId: string) => `${PREFIX}addresses/${netId}/`,
  address: (netId: string, ip: string) => `${PREFIX}addresses/${netId}/${ip}`,
  allEndpoints: `${PREFIX}endpoints/`,
  endpoints: (netId: string) => `${PREFIX}endpoints/${netId}/`,
  endpoint: (netId: string, epId: string) => `${PREFIX}endpoints/${netId}/${epId}`,
  hosts: `${PREFIX}hosts/`,
  host: (address: string) => `${PREFIX}hosts/${address}`,
};

/** The network ID and endpoint ID of a key under `endpoints/`, or undefined. */
export function parseEndpointKey(key: string): { netId: string; epId: string } | undefined {
  const m = /^endpoints\/([0-9a-f]{64})\/([0-9a-f]{64})$/.exec(key.startsWith(PREFIX) ? key.slice(PREFIX.length) : '');
  return m ? { netId: m[1]!, epId: m[2]! } : undefined;
}

export function parseNetworkKey(key: string): string | undefined {
  const m = /^networks\/([0-9a-f]{64})$/.exec(key.startsWith(PREFIX) ? key.slice(PREFIX.length) : '');
  return m?.[1];
}

/** Parses a stored JSON value; a malformed one (another writer's) is skipped rather than trusted. */
export function parseJson<T>(text: string | undefined): T | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' ? (v as T) : undefined;
  } catch {
    return undefined;
  }
}
