// The driver contract, on libnetwork's driverapi: small, one job per method.
import type { Netns } from '../netlink/index.js';
import type { Undo } from '../controller/undo.js';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from '../controller/types.js';

export interface JoinTarget {
  sandbox: SandboxRecord;
  /** The sandbox's namespace; undefined for the host's. */
  ns: Netns | undefined;
  /** Program the default route through this endpoint's gateway. */
  gateway: boolean;
}

export interface Driver {
  readonly type: string;
  /** Endpoints get addresses from IPAM (bridge) or none at all (null, host). */
  readonly needsAddresses: boolean;
  /** Only one network of this driver may exist (host, null). */
  readonly singleton: boolean;
  /** Validate options before anything is allocated. */
  validate(net: NetworkRecord, others: readonly NetworkRecord[]): void;
  createNetwork(net: NetworkRecord, undo: Undo): Promise<void>;
  deleteNetwork(net: NetworkRecord): Promise<void>;
  /** After a restart: make sure the network's kernel objects exist. */
  restoreNetwork(net: NetworkRecord): Promise<void>;
  /** Refuse a join that cannot work before anything is changed. */
  checkJoin(net: NetworkRecord, joined: number): void;
  /** `joined`: how many endpoints of this network are joined now. */
  join(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget, undo: Undo, joined: number): Promise<void>;
  /**
   * Detach the endpoint. When it returns the interface is down, without its
   * address, and its name and address are reusable; the kernel object may go
   * later. `sandboxGone`: the namespace is being deleted anyway.
   */
  leave(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget, sandboxGone: boolean): Promise<void>;
  /** Move the sandbox's default route to (or off) this endpoint. */
  setGateway(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget, on: boolean): Promise<void>;
  /** Joined endpoints the driver is tracking (for the bridge port limit). */
  endpointLeft?(net: NetworkRecord): void;
}
