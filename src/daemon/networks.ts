// `docker network` flows on the controller: create with the seed's
// validation, list filters, remove, prune (the JSON views are api/views.ts).
import type { Controller, Network } from '../controller/controller.js';
import type { IpamConf, NetworkRecord } from '../driver-api/records.js';
import { InvalidInputError, NotFoundError } from '../errors.js';
import type { Cluster } from '../cluster/cluster.js';
import { isGlobal } from '../cluster/agent.js';
import { errNoClusterStore } from '../cluster/errors.js';
import { newId } from '../controller/ids.js';
import { errPredefinedCreate, errPredefinedRemove, PREDEFINED } from './errors.js';
import { ConflictError, ForbiddenError } from '../errors.js';
import { validateIpamConfig } from '../controller/ipam-config.js';
import { configOnlyScopeError } from '../controller/config-network.js';
import { allLabelsMatch, filterMatch, parseBoolFilter, pruneLabelsMatch, type Filters } from './filters.js';
import { parseUntil } from './until.js';

/** dockerd's accepted keys: network list (daemon/network/filter.go) and network prune. */
export const NETWORK_FILTERS = ['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type'] as const;
export const PRUNE_FILTERS = ['label', 'label!', 'until'] as const;

export interface NetworkCreateRequest {
  Name: string;
  CheckDuplicate?: boolean;
  Driver?: string;
  Scope?: string;
  EnableIPv4?: boolean;
  EnableIPv6?: boolean;
  IPAM?: { Driver?: string; Options?: Record<string, string> | null; Config?: IpamConf[] | null } | null;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  ConfigOnly?: boolean;
  ConfigFrom?: { Network: string } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

/** The seed's createNetwork: predefined and duplicate names refused, empty driver = default. */
export async function createNetwork(c: Controller, req: NetworkCreateRequest, cluster?: Cluster): Promise<Network> {
  // libnetwork's only rule on names (config.IsValidName): not blank. The name
  // never becomes a kernel name or a path: bridges are named from the ID.
  if (typeof req.Name !== 'string' || !req.Name.trim()) throw new InvalidInputError(`invalid name: ${req.Name ?? ''}`);
  if (PREDEFINED.has(req.Name)) throw errPredefinedCreate(req.Name);
  if (req.ConfigOnly && req.Scope) throw configOnlyScopeError();
  if (req.Driver === GLOBAL_DRIVER || req.Scope === 'global') return createGlobalNetwork(c, req, cluster);
  // libnetwork's NewNetwork, on a daemon that is no swarm node.
  if (req.Scope === 'swarm') throw new ForbiddenError('cannot create a swarm scoped network when swarm is not active');
  if (req.Ingress) throw new ForbiddenError('Ingress network can only be global scope network');
  return c.newNetwork({
    name: req.Name,
    driver: req.Driver || c.defaultDriver,
    enableIPv4: req.EnableIPv4 ?? true,
    enableIPv6: req.EnableIPv6 ?? false,
    internal: !!req.Internal,
    attachable: !!req.Attachable,
    ingress: !!req.Ingress,
    configOnly: !!req.ConfigOnly,
    ...(req.ConfigFrom?.Network ? { configFrom: req.ConfigFrom.Network } : {}),
    labels: req.Labels ?? {},
    options: req.Options ?? {},
    ipam: { driver: req.IPAM?.Driver || 'default', options: req.IPAM?.Options ?? {}, config: req.IPAM?.Config ?? [] },
  });
}

/** The driver of global networks (the only one nsnet has). */
const GLOBAL_DRIVER = 'overlay';

/**
 * A global network: created in the cluster store (name, VNI and subnet
 * unique cluster-wide), then here; every other host instantiates it from
 * there. One IPv4 subnet, as Docker's overlay without swarm.
 */
async function createGlobalNetwork(c: Controller, req: NetworkCreateRequest, cluster: Cluster | undefined): Promise<Network> {
  if ((req.Driver || GLOBAL_DRIVER) !== GLOBAL_DRIVER) throw new InvalidInputError(`scope global needs the ${GLOBAL_DRIVER} driver, not ${req.Driver}`);
  if (!cluster) throw errNoClusterStore();
  if (req.IPAM?.Driver && req.IPAM.Driver !== 'default') throw new NotFoundError(`plugin "${req.IPAM.Driver}" not found`);
  if (req.EnableIPv6) throw new InvalidInputError('overlay networks are IPv4 only in nsnet');
  if (req.EnableIPv4 === false) throw new InvalidInputError('overlay networks need IPv4');
  if (req.ConfigOnly || req.Ingress || req.ConfigFrom?.Network) throw new InvalidInputError('config-only, config-from and ingress networks are swarm features nsnet does not have');
  const config = req.IPAM?.Config ?? [];
  if (config.length > 1) throw new InvalidInputError('an overlay network takes one IPv4 subnet');
  const ipam = config[0] ?? {};
  if (ipam.Subnet?.includes(':')) throw new InvalidInputError('overlay networks are IPv4 only in nsnet');
  if (!ipam.Subnet && (ipam.Gateway || ipam.IPRange)) throw new InvalidInputError('invalid IPAM configuration: ip-range and gateway need a subnet');
  if (Object.keys(ipam.AuxiliaryAddresses ?? {}).length) throw new InvalidInputError('auxiliary addresses are not supported on overlay networks');
  if (c.networkByName(req.Name)) throw new ConflictError(`network with name ${req.Name} already exists`, 'ENETWORKEXISTS');
  // Checked here as the local create would, so a bad request leaves nothing in etcd.
  validateIpamConfig(config);
  return cluster.createNetwork({
    id: newId(), name: req.Name, internal: !!req.Internal, attachable: !!req.Attachable, labels: req.Labels ?? {}, options: req.Options ?? {},
    ...(ipam.Subnet ? { subnet: ipam.Subnet } : {}), ...(ipam.Gateway ? { gateway: ipam.Gateway } : {}), ...(ipam.IPRange ? { ipRange: ipam.IPRange } : {}),
  });
}

export async function removeNetwork(c: Controller, term: string, cluster?: Cluster): Promise<void> {
  const n = c.network(term);
  if (PREDEFINED.has(n.name) && n.info().builtin) throw errPredefinedRemove(n.name);
  if (!isGlobal(n)) return n.delete();
  if (!cluster) throw errNoClusterStore();
  // This host's endpoints first (no etcd needed to refuse), then every host's (in etcd).
  if (n.endpoints().length)
    throw new ForbiddenError(`error while removing network: network ${n.name} id ${n.id} has active endpoints`, 'EACTIVEENDPOINTS');
  await cluster.deleteNetwork(n.id);
}

export function filterNetworks(c: Controller, f: Filters): NetworkRecord[] {
  const dangling = parseBoolFilter(f.get('dangling'), 'dangling');
  for (const t of f.get('type') ?? []) if (t !== 'builtin' && t !== 'custom') throw new InvalidInputError(`invalid filter 'type=${t}'`);
  return c.networks().map((n) => n.info()).filter((n) => {
    const any = (k: string, pred: (v: string) => boolean) => !f.get(k)?.length || f.get(k)!.some(pred);
    if (!any('driver', (v) => n.driver === v)) return false;
    if (!any('id', (v) => filterMatch(n.id, v))) return false;
    if (!any('name', (v) => filterMatch(n.name, v))) return false;
    if (!any('scope', (v) => v === n.scope)) return false;
    if (!any('type', (v) => (v === 'builtin' ? PREDEFINED.has(n.name) : v === 'custom' ? !PREDEFINED.has(n.name) : false))) return false;
    if (!allLabelsMatch(n.labels, f.get('label'))) return false;
    if (dangling !== undefined) {
      const unused = !PREDEFINED.has(n.name) && c.network(n.id).endpoints().length === 0;
      if (unused !== dangling) return false;
    }
    return true;
  }).sort((a, b) => a.name.localeCompare(b.name));
}

/** Removes user networks that no endpoint uses; returns their names. */
export async function pruneNetworks(c: Controller, f: Filters, cluster?: Cluster): Promise<string[]> {
  const untils = f.get('until') ?? [];
  if (untils.length > 1) throw new InvalidInputError('more than one until filter specified');
  const until = untils[0] !== undefined ? parseUntil(untils[0]) : undefined;
  const deleted: string[] = [];
  for (const n of c.networks().map((x) => x.info())) {
    // Configuration networks stay, as Docker's prune leaves them.
    if (PREDEFINED.has(n.name) || n.builtin || n.configOnly) continue;
    if (!pruneLabelsMatch(f, n.labels)) continue;
    if (until !== undefined && Date.parse(n.created) > until) continue;
    if (c.network(n.id).endpoints().length) continue;
    if (n.scope === 'global') {
      // In use on another host, or etcd away: not unused as far as this host can tell.
      if (!cluster) continue;
      try { await cluster.deleteNetwork(n.id); } catch { continue; }
    } else {
      await c.network(n.id).delete();
    }
    deleted.push(n.name);
  }
  return deleted;
}
