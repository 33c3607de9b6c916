// Docker's --link-local-ip: extra addresses on a container's interface,
// beside the network's (libnetwork's iface.llAddrs: /16 for IPv4, /64 for
// IPv6). Every driver with addresses adds them the same way.
import { addrAddOp, type Netns, type Op } from '../netlink/index.js';
import type { EndpointRecord } from './records.js';

/** The requests adding an endpoint's link-local addresses to interface `index` in `ns`. */
export const linkLocalOps = (ns: Netns | undefined, index: number, ep: EndpointRecord): Op<unknown>[] =>
  (ep.linkLocal ?? []).map((cidr) => addrAddOp(ns, index, cidr, cidr.includes(':') ? { noDad: true } : {}));
