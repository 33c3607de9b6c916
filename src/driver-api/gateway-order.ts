// libnetwork's Endpoint.Less: the order a sandbox's endpoints are tried in,
// for its default gateway (one per address family) and for names its
// embedded DNS resolves on more than one of its networks.

/** What Endpoint.Less compares of an endpoint in a sandbox. */
export interface GatewayRank {
  /** The endpoint's gateway priority (`--gw-priority`); 0 when unset. */
  priority: number;
  internal: boolean;
  /** How many address families it has a gateway for (0, 1 or 2). */
  families: number;
  /** Its network's name, compared byte by byte as Go compares strings. */
  name: string;
}

/**
 * Negative when `a` comes first: the highest priority, then a non-internal
 * network before an internal one, then gateways of both families before one
 * before none, then the network's name.
 */
export function gatewayOrder(a: GatewayRank, b: GatewayRank): number {
  return b.priority - a.priority
    || Number(a.internal) - Number(b.internal)
    || b.families - a.families
    || Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));
}
