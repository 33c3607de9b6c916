// The layer between the controller and the drivers: both import it, neither
// imports the other's internals.
export type { Driver, DriverContext, JoinPlan, JoinTarget, LinkGraveyard, RouteChange, RouteFamilies } from './driver.js';
export type { EndpointRecord, IpamConf, NetworkRecord, OverlayPeer, PoolState, SandboxOptions, SandboxRecord } from './records.js';
export { holdsDefaultRoute } from './records.js';
export { gatewayOrder, type GatewayRank } from './gateway-order.js';
export { Undo, withUndo, collect } from './undo.js';
export { fault, faults, InjectedFault } from './faults.js';
export { BridgeOption, parseBool } from './options.js';
export { isNsnetBridgeAlias, ownershipFor, type Ownership } from './ownership.js';
