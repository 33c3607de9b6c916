// `docker network` flows on the controller: create with the seed's
// validation, inspect/list shapes, remove, prune.
import type { Controller, Network } from '../controller/controller.js';
import type { IpamConf, NetworkRecord } from '../controller/types.js';
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

export interface ContainerRef {
  id: string;
  name: string;
}

/** NetworkResource as `docker network inspect` shows it. */
export function networkResource(c: Controller, rec: NetworkRecord, containers: ((sandboxId: string) => ContainerRef | undefined) | undefined) {
  const config = [...rec.pools4, ...rec.pools6].map((p) => {
    const o: Record<string, unknown> = { Subnet: p.subnet };
    if (p.ipRange) o['IPRange'] = p.ipRange;
    if (p.gateway) o['Gateway'] = p.gateway;
    if (Object.keys(p.aux).length) o['AuxiliaryAddresses'] = p.aux;
    return o;
  });
  const out: Record<string, unknown> = {
    Name: rec.name,
    Id: rec.id,
    Created: rec.created,
    Scope: rec.scope,
    Driver: rec.driver,
    EnableIPv4: rec.enableIPv4,
    EnableIPv6: rec.enableIPv6,
    IPAM: { Driver: rec.ipam.driver, Options: Object.keys(rec.ipam.options).length ? rec.ipam.options : null, Config: config },
    Internal: rec.internal,
    Attachable: rec.attachable,
    Ingress: rec.ingress,
    ConfigFrom: { Network: '' },
    ConfigOnly: rec.configOnly,
    Containers: {},
    Options: rec.options,
    Labels: rec.labels,
  };
  if (containers) {
    const map: Record<string, unknown> = {};
    for (const e of c.network(rec.id).endpoints()) {
      const ep = e.info();
      const who = ep.sandboxId ? containers(ep.sandboxId) : undefined;
      map[who ? who.id : `ep-${ep.id}`] = {
        Name: who ? who.name : ep.name,
        EndpointID: ep.id,
        MacAddress: ep.mac ?? '',
        IPv4Address: ep.ipv4 ?? '',
        IPv6Address: ep.ipv6 ?? '',
      };
    }
    out['Containers'] = map;
  }
  return out;
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
