// `docker ps` filters for the ones that mean something without processes:
// id, name, label, status, network. Other keys dockerd knows are refused
// rather than silently ignored.
import { InvalidInputError } from '../errors.js';
import { allLabelsMatch, filterMatch, type Filters } from './filters.js';
import type { ContainerRecord } from './types.js';

export const CONTAINER_FILTERS = ['id', 'label', 'name', 'network', 'status'] as const;
const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];

export function filterContainers(list: ContainerRecord[], f: Filters, all: boolean): ContainerRecord[] {
  for (const s of f.get('status') ?? []) {
    if (!STATUSES.includes(s)) throw new InvalidInputError(`invalid filter 'status=${s}'`);
  }
  // A status filter lists stopped containers without `all`, as dockerd does.
  const everyone = all || !!f.get('status')?.length;
  const any = (k: string, pred: (v: string) => boolean) => !f.get(k)?.length || f.get(k)!.some(pred);
  return list.filter((r) => {
    if (!everyone && !r.State.Running) return false;
    if (!any('id', (v) => filterMatch(r.Id, v))) return false;
    // As dockerd: the name with its leading slash, or without.
    if (!any('name', (v) => filterMatch(r.Name, v) || filterMatch(r.Name.slice(1), v))) return false;
    if (!any('status', (v) => v === r.State.Status)) return false;
    if (!any('network', (v) => Object.entries(r.NetworkSettings.Networks).some(([name, s]) => name === v || (!!s.NetworkID && s.NetworkID.startsWith(v))))) return false;
    return allLabelsMatch(r.Config.Labels ?? {}, f.get('label'));
  });
}
