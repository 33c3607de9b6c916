// IPv6 on a container's interface, as every driver with addresses sets it:
// on for an endpoint with an IPv6 address, off for an IPv4-only one, as in
// Docker (CVE-2024-32473: an interface left with IPv6 takes router
// advertisements and neighbour messages nobody configured it for).
import { sysctlSetOp, type Op } from '../netlink/index.js';
import type { JoinTarget } from './driver.js';
import type { EndpointRecord } from './records.js';

/**
 * The interface must be born down and have IPv6 turned off before it comes
 * up: an IPv4-only endpoint in a namespace the runtime made. nsnet's own
 * namespaces start with IPv6 off for new interfaces; a runtime's keeps its
 * defaults. Off before up also spares the kernel the link-local address,
 * DAD and multicast routes.
 */
export const bornWithoutIpv6 = (ep: EndpointRecord, target: JoinTarget): boolean => !target.sandbox.owned && !ep.ipv6;

/**
 * Whether the interface is born down and brought up once configured: to
 * lose IPv6 first (above), or to take its own sysctls first, as libnetwork
 * sets them before up (driver-api/endpoint-sysctls.ts).
 */
export const bornDown = (ep: EndpointRecord, target: JoinTarget): boolean => bornWithoutIpv6(ep, target) || !!ep.sysctls;

/** disable_ipv6 of the interface inside the sandbox, by name (it has its final name from birth). */
export const interfaceIpv6Op = (target: JoinTarget, ifname: string, on: boolean): Op<undefined> =>
  sysctlSetOp(`net/ipv6/conf/${ifname}/disable_ipv6`, on ? '0' : '1', target.ns);
