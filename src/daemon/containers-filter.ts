// `docker ps` filters, dockerd's set (daemon/list.go's acceptedPsFilterTags).
// Those about what nsnet's containers do not have (a health check, volumes,
// swarm tasks) are read the way dockerd would read them for such a
// container, not refused: `health=none` matches every container, a volume
// none.
import { InvalidInputError, NotFoundError } from '../errors.js';
import { allLabelsMatch, filterMatch, parseBoolFilter, type Filters } from './filters.js';
import { portSummaries } from './container-settings.js';
import type { ContainerRecord } from './types.js';

export const CONTAINER_FILTERS = ['ancestor', 'before', 'expose', 'exited', 'health', 'id', 'is-task', 'isolation', 'label', 'name', 'network',
  'publish', 'since', 'status', 'volume'] as const;
const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];
const HEALTH = ['starting', 'healthy', 'unhealthy', 'none'];

export function filterContainers(list: ContainerRecord[], f: Filters, all: boolean): ContainerRecord[] {
  for (const s of f.get('status') ?? []) {
    if (!STATUSES.includes(s)) throw new InvalidInputError(`invalid filter 'status=${s}'`);
  }
  for (const h of f.get('health') ?? []) {
    if (!HEALTH.includes(h)) throw new InvalidInputError(`Unrecognised filter value for health: ${h}`);
  }
  const exited = (f.get('exited') ?? []).map((v) => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v)) throw new InvalidInputError(`invalid filter 'exited=${v}'`);
    return n;
  });
  const isTask = parseBoolFilter(f.get('is-task'), 'is-task');
  const publish = (f.get('publish') ?? []).map((v) => portFilter(v, 'publish'));
  const expose = (f.get('expose') ?? []).map((v) => portFilter(v, 'expose'));
  // before/since name a container; the list is cut at its creation time.
  // By position in creation order (the list's), not by timestamps two containers may share.
  const order = new Map(list.map((r, i) => [r.Id, i]));
  const ref = (k: 'before' | 'since') => {
    const v = f.get(k)?.[0];
    if (v === undefined) return undefined;
    const r = list.find((x) => x.Id === v || x.Name === `/${v}` || x.Name === v) ?? list.find((x) => x.Id.startsWith(v));
    if (!r) throw new NotFoundError(`No such container: ${v}`);
    return order.get(r.Id)!;
  };
  const before = ref('before');
  const since = ref('since');
  // A status filter lists stopped containers without `all`, as dockerd does (no other key does).
  const everyone = all || !!f.get('status')?.length;
  const any = (k: string, pred: (v: string) => boolean) => !f.get(k)?.length || f.get(k)!.some(pred);
  return list.filter((r) => {
    if (!everyone && !r.State.Running) return false;
    if (!any('id', (v) => filterMatch(r.Id, v))) return false;
    // As dockerd: the name with its leading slash, or without.
    if (!any('name', (v) => filterMatch(r.Name, v) || filterMatch(r.Name.slice(1), v))) return false;
    if (!any('status', (v) => v === r.State.Status)) return false;
    if (!any('network', (v) => Object.entries(r.NetworkSettings.Networks).some(([name, s]) => name === v || (!!s.NetworkID && s.NetworkID.startsWith(v))))) return false;
    if (!any('ancestor', (v) => sameImage(r.Image, v))) return false;
    if (exited.length && (r.State.Status !== 'exited' || !exited.includes(r.State.ExitCode))) return false;
    if (!any('health', (v) => v === 'none')) return false; // no container of nsnet's has a health check
    if (!any('isolation', (v) => v === 'default' || v === '')) return false;
    if (isTask === true) return false; // no swarm tasks here
    if (f.get('volume')?.length) return false; // nor volumes
    const at = order.get(r.Id)!;
    if (before !== undefined && at >= before) return false;
    if (since !== undefined && at <= since) return false;
    // dockerd: one of the container's ports matches a publish (its public side) or an expose (its private side).
    if ((publish.length || expose.length) && !portSummaries(r.NetworkSettings.Ports).some((x) =>
      (x.PublicPort !== undefined && publish.some((p) => p.matches({ port: x.PublicPort!, proto: x.Type }))) || expose.some((p) => p.matches({ port: x.PrivatePort, proto: x.Type })))) return false;
    return allLabelsMatch(r.Config.Labels ?? {}, f.get('label'));
  });
}

/** An image reference as given at create, against a filter's (a missing tag is latest). */
function sameImage(image: string, wanted: string): boolean {
  const tagged = (x: string) => (/:[^/]+$/.test(x) || x.includes('@') ? x : `${x}:latest`);
  return image === wanted || tagged(image) === tagged(wanted);
}

interface PortOf { port: number; proto: string }

/** "80", "80/udp", "8000-8080/tcp": dockerd's port filter (nat.ParsePortRangeToInt; tcp by default). */
function portFilter(v: string, key: string): { matches(p: PortOf): boolean } {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/.exec(v);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m?.[2] !== undefined ? Number(m[2]) : lo;
  if (!m || hi < lo || hi > 65535) throw new InvalidInputError(`invalid filter '${key}=${v}'`);
  const proto = m[3] ?? 'tcp';
  return { matches: (p) => p.proto === proto && p.port >= lo && p.port <= hi };
}
