// The typed netlink façade (the package's `nsnet/netlink` entry), named after
// ip verbs. Every call returns a Promise; each `…Op` form can be batched.
import { native, type NativeStats } from './native.js';

export * from './netns.js';
export * from './link.js';
export * from './addr.js';
export * from './route.js';
export * from './neigh.js';
export * from './sysctl.js';
export * from './veth-join.js';
export { batch, batchAll, noop, onEchoedLink, run, type Op, type Settled } from './request.js';
export { isKernelError, Lane, type KernelError, type LaneId, type NativeStats } from './native.js';

/** The addon's counters: lane threads, pending requests, cached namespace sockets. */
export const nativeStats = (): NativeStats => native.stats();
