// `docker network` flows on the controller: create with the seed's
// validation, list filters, remove, prune (the JSON views are api/views.ts).
import type { Controller, Network } from '../controller/controller.js';
import type { IpamConf, NetworkRecord } from '../driver-api/records.js';
import { errPredefinedCreate, errPredefinedRemove, PREDEFINED } from './errors.js';
import { labelMatches, parseBoolFilter, type Filters } from './filters.js';

export const NETWORK_FILTERS = ['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type'] as const;

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
  return c.networks().map((n) => n.info()).filter((n) => {
    const any = (k: string, pred: (v: string) => boolean) => !f.get(k)?.length || f.get(k)!.some(pred);
    if (!any('driver', (v) => n.driver === v)) return false;
    if (!any('id', (v) => n.id.startsWith(v))) return false;
    if (!any('name', (v) => n.name.includes(v))) return false;
    if (!any('scope', (v) => v === n.scope)) return false;
    if (!any('type', (v) => (v === 'builtin' ? PREDEFINED.has(n.name) : v === 'custom' ? !PREDEFINED.has(n.name) : false))) return false;
    if (f.get('label')?.length && !f.get('label')!.every((v) => labelMatches(n.labels, v))) return false;
    if (dangling !== undefined) {
      const unused = !PREDEFINED.has(n.name) && c.network(n.id).endpoints().length === 0;
      if (unused !== dangling) return false;
    }
    return true;
  }).sort((a, b) => a.name.localeCompare(b.name));
}

/** Removes user networks that no endpoint uses; returns their names. */
export async function pruneNetworks(c: Controller, f: Filters): Promise<string[]> {
  const deleted: string[] = [];
  for (const n of c.networks().map((x) => x.info())) {
    if (PREDEFINED.has(n.name) || n.builtin) continue;
    if (f.get('label')?.length && !f.get('label')!.every((v) => labelMatches(n.labels, v))) continue;
    const until = f.get('until')?.[0];
    if (until && Date.parse(n.created) > parseUntil(until)) continue;
    if (c.network(n.id).endpoints().length) continue;
    await c.network(n.id).delete();
    deleted.push(n.name);
  }
  return deleted;
}

function parseUntil(v: string): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const m = /^(\d+)(s|m|h)$/.exec(v);
  if (m) return Date.now() - Number(m[1]) * { s: 1e3, m: 6e4, h: 3.6e6 }[m[2] as 's' | 'm' | 'h'];
  return Date.parse(v);
}
