export * from './ipam.js';
export * from './errors.js';
export * from './default-pools.js';
export { Bitmap } from './bitmap.js';
export { newAddrSet, type AddrSet } from './addrset.js';
