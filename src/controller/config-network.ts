// Docker's configuration networks: a config-only network holds a network's
// specific configuration (IPAM, driver options, labels, IPv4/IPv6) and is
// nothing in the kernel; a network created with configFrom takes that
// configuration and may not add its own. The rules and messages are
// libnetwork's (network.validateConfiguration, applyConfigurationTo).
import type { NetworkRecord } from '../driver-api/records.js';
import { ForbiddenError, NotFoundError } from '../errors.js';
import type { NetworkCreateOptions } from './options.js';

const OPERATOR_FIELDS = 'configuration network can only contain network specific fields. Network operator fields like [ ingress | internal | attachable | scope ] are not supported.';

/** Refuses operator fields on a config-only network (ForbiddenError, ECONFIGNETWORK). */
export function checkConfigOnly(o: NetworkCreateOptions): void {
  if (o.configOnly && (o.internal || o.attachable || o.ingress)) throw new ForbiddenError(OPERATOR_FIELDS, 'ECONFIGNETWORK');
}

/** The message for a config-only network asked for with a scope (the daemon's Scope field). */
export const configOnlyScopeError = (): ForbiddenError => new ForbiddenError(OPERATOR_FIELDS, 'ECONFIGNETWORK');

/**
 * The options of a network created from a configuration network: its own
 * name, driver and operator fields, the rest from `configFrom` (found by
 * name among config-only networks). A request that sets any of the rest
 * itself is refused, as Docker refuses it.
 */
export function applyConfigFrom(o: NetworkCreateOptions, nets: Iterable<NetworkRecord>): NetworkCreateOptions {
  if (o.configFrom === undefined) return o;
  if (o.configOnly) throw new ForbiddenError('a configuration network cannot depend on another configuration network', 'ECONFIGNETWORK');
  const some = (m: Record<string, string> | undefined) => Object.keys(m ?? {}).length > 0;
  if ((o.ipam?.driver && o.ipam.driver !== 'default') || o.enableIPv4 === false || o.enableIPv6
    || some(o.labels) || some(o.ipam?.options) || (o.ipam?.config ?? []).length > 0)
    throw new ForbiddenError('user specified configurations are not supported if the network depends on a configuration network', 'ECONFIGNETWORK');
  if (some(o.options))
    throw new ForbiddenError('network driver options are not supported if the network depends on a configuration network', 'ECONFIGNETWORK');
  let from: NetworkRecord | undefined;
  for (const n of nets) if (n.configOnly && n.name === o.configFrom) from = n;
  if (!from) throw new NotFoundError(`configuration network "${o.configFrom}" does not exist`);
  return {
    ...o,
    enableIPv4: from.enableIPv4,
    enableIPv6: from.enableIPv6,
    labels: { ...from.labels },
    options: { ...from.options },
    ipam: { driver: from.ipam.driver, options: { ...from.ipam.options }, config: from.ipam.config.map((c) => ({ ...c })) },
  };
}

/** Refuses to remove a configuration network another network was created from (ForbiddenError, 403 as Docker's). */
export function checkConfigUnused(rec: NetworkRecord, nets: Iterable<NetworkRecord>): void {
  if (!rec.configOnly) return;
  for (const n of nets) if (n.configFrom === rec.name) throw new ForbiddenError(`configuration network "${rec.name}" is in use`, 'ECONFIGINUSE');
}
