// `docker network` flows on the controller: create with the seed's
// validation, list filters, remove, prune (the JSON views are api/views.ts).
import type { Controller, Network } from '../controller/controller.js';
import type { IpamConf, NetworkRecord } from '../driver-api/records.js';
import { InvalidInputError } from '../errors.js';
import { errPredefinedCreate, errPredefinedRemove, PREDEFINED } from './errors.js';
import { allLabelsMatch, parseBoolFilter, pruneLabelsMatch, type Filters } from './filters.js';
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
export async function createNetwork(c: Controller, req: NetworkCreateRequest): Promise<Network> {
  // libnetwork's only rule on names (config.IsValidName): not blank. The name
  // never becomes a kernel name or a path: bridges are named from the ID.
  if (typeof req.Name !== 'string' || !req.Name.trim()) throw new InvalidInputError(`invalid name: ${req.Name ?? ''}`);
  if (PREDEFINED.has(req.Name)) throw errPredefinedCreate(req.Name);
  return c.newNetwork({
    name: req.Name,
    driver: req.Driver || c.defaultDriver,
    enableIPv4: req.EnableIPv4 ?? true,
    enableIPv6: req.EnableIPv6 ?? false,
    internal: !!req.Internal,
    attachable: !!req.Attachable,
    ingress: !!req.Ingress,
    configOnly: !!req.ConfigOnly,
    labels: req.Labels ?? {},
    options: req.Options ?? {},
    ipam: { driver: req.IPAM?.Driver || 'default', options: req.IPAM?.Options ?? {}, config: req.IPAM?.Config ?? [] },
  });
}

export async function removeNetwork(c: Controller, term: string): Promise<void> {
  const n = c.network(term);
  if (PREDEFINED.has(n.name) && n.info().builtin) throw errPredefinedRemove(n.name);
  await n.delete();
}

export function filterNetworks(c: Controller, f: Filters): NetworkRecord[] {
  const dangling = parseBoolFilter(f.get('dangling'), 'dangling');
  for (const t of f.get('type') ?? []) if (t !== 'builtin' && t !== 'custom') throw new InvalidInputError(`invalid filter 'type=${t}'`);
  return c.networks().map((n) => n.info()).filter((n) => {
    const any = (k: string, pred: (v: string) => boolean) => !f.get(k)?.length || f.get(k)!.some(pred);
    if (!any('driver', (v) => n.driver === v)) return false;
    if (!any('id', (v) => n.id.startsWith(v))) return false;
    if (!any('name', (v) => n.name.includes(v))) return false;
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
export async function pruneNetworks(c: Controller, f: Filters): Promise<string[]> {
  const untils = f.get('until') ?? [];
  if (untils.length > 1) throw new InvalidInputError('more than one until filter specified');
  const until = untils[0] !== undefined ? parseUntil(untils[0]) : undefined;
  const deleted: string[] = [];
  for (const n of c.networks().map((x) => x.info())) {
    if (PREDEFINED.has(n.name) || n.builtin) continue;
    if (!pruneLabelsMatch(f, n.labels)) continue;
    if (until !== undefined && Date.parse(n.created) > until) continue;
    if (c.network(n.id).endpoints().length) continue;
    await c.network(n.id).delete();
    deleted.push(n.name);
  }
  return deleted;
}
