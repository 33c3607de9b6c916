// The typed netlink façade: the only way src/ reaches the kernel.
export * from './netns.js';
export * from './link.js';
export * from './addr.js';
export * from './route.js';
export * from './sysctl.js';
export { batch, batchAll, noop, run, type Op, type Settled } from './request.js';
export { isKernelError, Lane, native, type KernelError, type LaneId } from './native.js';
