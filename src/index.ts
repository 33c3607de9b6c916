// The package's main entry (`nsnet`): the controller model a runtime embeds,
// its option and info types, and the error classes with their codes. The
// netlink façade is the `nsnet/netlink` entry.
export {
  Controller,
  type ControllerOptions, type ControllerStats, type OwnershipMarks,
  type Endpoint, type EndpointCreateOptions, type EndpointInfo, type JoinRequest, type JoinResult,
  type Network, type NetworkCreateOptions, type NetworkInfo,
  type Sandbox, type SandboxInfo,
} from './controller/controller.js';
export type { IpamConf, OverlayPeer, PoolState, SandboxOptions } from './driver-api/records.js';
export { BridgeOption } from './driver-api/options.js';
export type { PortBinding } from './firewall/ports.js';
export type { PortMapping } from './firewall/ruleset.js';
export type { FirewallMode } from './firewall/firewall.js';
export type { PoolSpec } from './ipam/index.js';
export * from './errors.js';
export { IpamError, IpamCode, type IpamCodeT } from './ipam/errors.js';
export { BridgeFullError, BRIDGE_MAX_PORTS } from './drivers/bridge.js';
export { OverlayOption, VXLAN_OVERHEAD, VXLAN_PORT } from './drivers/overlay.js';
export { FirewallError } from './firewall/nft.js';
export { isKernelError, type KernelError } from './netlink/native.js';
