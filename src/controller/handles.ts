// Handles onto the controller's records: what a runtime holds for a network,
// an endpoint or a sandbox (their implementation is in handle-impl.ts).
import type { EndpointRecord, NetworkRecord, SandboxRecord } from '../driver-api/records.js';
import type { Netns } from '../netlink/index.js';
import type { EndpointCreateOptions } from './options.js';
import type { PortBinding } from '../firewall/ports.js';

/** A copy of a network's record, as inspect shows it. */
export type NetworkInfo = NetworkRecord;
/** A copy of an endpoint's record: addresses, MAC, interface names while joined. */
export type EndpointInfo = EndpointRecord;
/** A copy of a sandbox's record: namespace path (`key`), joined endpoints. */
export type SandboxInfo = SandboxRecord;

export interface Network {
  readonly id: string;
  readonly name: string;
  /** The driver: bridge, macvlan, overlay, null, host. */
  readonly type: string;
  info(): NetworkInfo;
  endpoints(): Endpoint[];
  /** Allocates addresses and records the endpoint; nothing is made in the kernel until join. */
  createEndpoint(name: string, options?: EndpointCreateOptions): Endpoint;
  /** Refused (EACTIVEENDPOINTS) while endpoints exist. */
  delete(): Promise<void>;
}

export interface Endpoint {
  readonly id: string;
  readonly name: string;
  readonly networkId: string;
  info(): EndpointInfo;
  /** Creates the interface inside the sandbox, with addresses and (if it is the gateway endpoint) the default route. */
  join(sandbox: Sandbox): Promise<void>;
  /** Returns at once with the interface down and its name and address reusable; the link is destroyed later. */
  leave(sandbox: Sandbox): Promise<void>;
  /** `force` leaves first if joined. */
  delete(force?: boolean): Promise<void>;
  /** A new name, unique in the network (a container renamed); joined or not. */
  rename(name: string): void;
  /**
   * Replaces the ports the endpoint publishes (bridge and overlay networks):
   * at once if it is joined, else from its next join. A failure keeps the old ones.
   */
  setPorts(ports: PortBinding[]): Promise<void>;
}

export interface Sandbox {
  readonly id: string;
  readonly containerId: string;
  /** The namespace path (Docker's SandboxKey). */
  readonly key: string;
  /** The open namespace handle, for nsnet/netlink calls inside it; undefined for the host's. */
  readonly netns: Netns | undefined;
  info(): SandboxInfo;
  endpoints(): Endpoint[];
  /** Leaves and deletes its endpoints, deletes the namespace if nsnet made it. */
  destroy(): Promise<void>;
}
