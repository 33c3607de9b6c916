// IPAM errors: Docker's wording where Docker has one, and a stable code.
import { NsnetError } from '../errors.js';

export const IpamCode = {
  IpAlreadyAllocated: 'IP_ALREADY_ALLOCATED',
  NoAvailableIps: 'NO_AVAILABLE_IPS',
  PoolOverlap: 'POOL_OVERLAP',
  NoMoreSubnets: 'NO_MORE_SUBNETS',
  IpOutOfRange: 'IP_OUT_OF_RANGE',
  InvalidPool: 'INVALID_POOL',
  InvalidSubpool: 'INVALID_SUBPOOL',
  PoolNotFound: 'POOL_NOT_FOUND',
  InvalidAddressSpace: 'INVALID_ADDRESS_SPACE',
  BadPoolSpec: 'BAD_DEFAULT_POOL',
} as const;
export type IpamCodeT = (typeof IpamCode)[keyof typeof IpamCode];

export class IpamError extends NsnetError {
  constructor(code: IpamCodeT, message: string) {
    super(code, message);
  }
}

export const errAddressInUse = (ip: string) => new IpamError(IpamCode.IpAlreadyAllocated, `Address already in use: ${ip}`);
export const errNoAvailableIps = (pool: string) => new IpamError(IpamCode.NoAvailableIps, `No available addresses on this pool: ${pool}`);
export const errPoolOverlap = (pool: string, other: string) =>
  new IpamError(IpamCode.PoolOverlap, `Pool overlaps with other one on this address space: ${pool} overlaps ${other}`);
export const errNoMoreSubnets = (family: 4 | 6) =>
  new IpamError(IpamCode.NoMoreSubnets, `all predefined address pools have been fully subnetted (no available, non-overlapping IPv${family} address pool)`);
export const errOutOfRange = (ip: string, pool: string) => new IpamError(IpamCode.IpOutOfRange, `requested address ${ip} is out of range of pool ${pool}`);
