// The driver contract, on libnetwork's driverapi: what a driver is given and
// what it must do, one job per method. Drivers and the controller both
// depend on this layer; a driver never reaches into the controller.
import type { Netns, Op, Settled } from '../netlink/index.js';
import type { Firewall } from '../firewall/firewall.js';
import type { Ownership } from './ownership.js';
import type { EndpointRecord, NetworkRecord, OverlayPeer, SandboxRecord } from './records.js';
import type { Undo } from './undo.js';

export interface JoinTarget {
  /** The sandbox being joined (read only for drivers). */
  sandbox: SandboxRecord;
  /** The sandbox's namespace; undefined for the host's. */
  ns: Netns | undefined;
  /** Program the default route of these families through this endpoint's gateway (false: none). */
  gateway: RouteFamilies | false;
}

/**
 * How a default route comes to an endpoint: `replace` (the default) takes it
 * from whichever route holds it; `add` only where the sandbox has no default
 * route of the same metric (one nsnet did not set stays, and the call fails
 * with EEXIST); `remove` takes it away from this endpoint again.
 */
export type RouteChange = 'replace' | 'add' | 'remove';

/** Which address families' default routes a request concerns. */
export interface RouteFamilies {
  v4: boolean;
  v6: boolean;
}

/** A join's requests (in order, in one batch) and how to settle them. */
export interface JoinPlan {
  ops: Op<unknown>[];
  /** Given exactly the answers to `ops`; throws if the join failed (the undo then cleans up). */
  finish(results: Settled<unknown>[]): Promise<void>;
}

/**
 * Deferred link destruction (the controller's reaper): a driver moves a
 * link to the controller's dead interface group and calls bury(); the links
 * are deleted later in one request. flush() deletes them now.
 */
export interface LinkGraveyard {
  bury(): void;
  flush(): Promise<void>;
  /** Deletion rounds begun and completed so far: a link buried when `started` was n is gone once `completed` > n. */
  readonly started: number;
  readonly completed: number;
}

/** What the controller gives every driver it creates. */
export interface DriverContext {
  ownership: Ownership;
  graveyard: LinkGraveyard;
  defaultMtu: number;
  firewall: Firewall;
  /** This host's underlay IPv4 address (ControllerOptions.advertiseAddress): the local VTEP of overlay networks. */
  advertiseAddress?: string | undefined;
}

/**
 * Record fields a driver owns: on a network, `driverState` (set in
 * createNetwork, read back after a restart); on an endpoint, `peerIndex`,
 * `hostIfname`, `hostMac` and `published` (set in join, cleared by the
 * controller after leave). Everything else in the records belongs to the controller.
 */
export interface Driver {
  readonly type: string;
  /** 'global': the driver's networks span hosts (overlay); 'local': this host only. Copied into each network's record. */
  readonly scope: 'local' | 'global';
  /** Endpoints get addresses from IPAM (bridge) or none at all (null, host). */
  readonly needsAddresses: boolean;
  /** Only one network of this driver may exist (host, null). */
  readonly singleton: boolean;
  /** Validate options before anything is allocated. */
  validate(net: NetworkRecord, others: readonly NetworkRecord[]): void;
  /** Refuse an endpoint the driver cannot serve as asked (e.g. ports it cannot publish), before anything is allocated. */
  validateEndpoint?(net: NetworkRecord, ep: EndpointRecord): void;
  createNetwork(net: NetworkRecord, undo: Undo): Promise<void>;
  deleteNetwork(net: NetworkRecord): Promise<void>;
  /** After a restart: make sure the network's kernel objects exist. */
  restoreNetwork(net: NetworkRecord): Promise<void>;
  /**
   * After a restart, once every network and endpoint is back: rebuild state
   * that spans networks (the bridge's firewall table) from the records. Given
   * every network and every joined endpoint, of all drivers: a driver picks
   * those it serves (the bridge driver's bridges also carry overlay networks).
   */
  restored?(nets: readonly NetworkRecord[], joined: readonly EndpointRecord[]): Promise<void>;
  /** Refuse a join that cannot work before anything is changed. */
  checkJoin(net: NetworkRecord, joined: number): void;
  /**
   * The join as kernel requests known in advance plus what to make of their
   * answers, so the controller can send many joins in one crossing
   * (joinMany). Drivers without it are joined one by one with join().
   */
  joinPlan?(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget, undo: Undo, joined: number): JoinPlan;
  /** `joined`: how many endpoints of this network are joined now. */
  join(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget, undo: Undo, joined: number): Promise<void>;
  /**
   * Detach the endpoint. When it returns the interface is down, without its
   * address, and its name and address are reusable; the kernel object may go
   * later. `sandboxGone`: the namespace is being deleted anyway.
   */
  leave(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget, sandboxGone: boolean): Promise<void>;
  /**
   * Publish a joined endpoint's `ports` (drivers that publish ports), its
   * mappings recorded in `published`; undo gives them back.
   */
  publishPorts?(net: NetworkRecord, ep: EndpointRecord, undo: Undo): Promise<void>;
  /** Move the sandbox's default routes of the families in `target.gateway` to this endpoint (`change`: how). */
  setGateway(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget, change?: RouteChange): Promise<void>;
  /**
   * Overlay peers (drivers whose networks span hosts): program a remote
   * endpoint; idempotent, and replaces what was programmed for the same
   * endpointId. Refuses bad fields (InvalidInputError) with nothing changed.
   */
  peerAdd?(net: NetworkRecord, peer: OverlayPeer): Promise<void>;
  /** Unprogram the peer with this endpointId; idempotent (an unknown one is fine). */
  peerDelete?(net: NetworkRecord, peer: OverlayPeer): Promise<void>;
  /** The peers programmed now (in memory: a restarted controller is fed them again). */
  peers?(net: NetworkRecord): OverlayPeer[];
}
