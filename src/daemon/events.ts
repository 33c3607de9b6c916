// The daemon's event stream, as dockerd's events service keeps it: the last
// 256 events for `since`, and live subscribers, each with its filters
// (daemon/events/filter.go's rules). What emits which event, and in which
// order, is the daemon's (daemon.ts); this module only records and matches.
import { InvalidInputError } from '../errors.js';
import { allLabelsMatch, type Filters } from './filters.js';
import { parseUntil } from './until.js';

export type EventType = 'container' | 'network';

export interface EventMessage {
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  /** Nanoseconds since the epoch; a bigint because it does not fit a double exactly. */
  timeNano: bigint;
  // The fields container events still carry for old clients (events.Message's Status, ID, From).
  status?: string;
  id?: string;
  from?: string;
}

/** dockerd's accepted keys (daemon/events/filter.go, api/server/router/system). */
export const EVENT_FILTERS = [
  'config', 'container', 'daemon', 'event', 'image', 'label', 'network', 'node', 'plugin', 'scope', 'secret', 'service', 'type', 'volume',
] as const;

/** dockerd's eventsLimit: how many past events `since` can reach. */
export const EVENTS_KEPT = 256;

export type Listener = (e: EventMessage) => void;

export class EventLog {
  private readonly recent: EventMessage[] = [];
  private readonly listeners = new Set<{ filters: Filters; fn: Listener }>();
  private lastNano = 0n;

  log(type: EventType, action: string, id: string, attributes: Record<string, string>): void {
    // Strictly increasing, so `since` taken from one event's time never loses its successors.
    const wall = BigInt(Date.now()) * 1_000_000n;
    const nano = wall > this.lastNano ? wall : this.lastNano + 1n;
    this.lastNano = nano;
    const e: EventMessage = {
      ...(type === 'container' ? { status: action, id, from: attributes['image'] ?? '' } : {}),
      Type: type, Action: action, Actor: { ID: id, Attributes: attributes }, scope: 'local',
      time: Number(nano / 1_000_000_000n), timeNano: nano,
    };
    this.recent.push(e);
    if (this.recent.length > EVENTS_KEPT) this.recent.shift();
    for (const l of [...this.listeners]) if (matches(l.filters, e)) l.fn(e);
  }

  /**
   * The kept events between `since` and `until` (milliseconds since the
   * epoch, either open; none when both are) that pass the filters, and a subscription to the
   * ones to come. The caller must unsubscribe.
   */
  subscribe(filters: Filters, since: number | undefined, until: number | undefined, fn: Listener): { past: EventMessage[]; unsubscribe(): void } {
    // Neither bound: only what comes next, as dockerd's loadBufferedEvents.
    const past = since === undefined && until === undefined ? [] : this.recent.filter((e) => {
      const ms = Number(e.timeNano) / 1e6;
      return (since === undefined || ms >= since) && (until === undefined || ms <= until) && matches(filters, e);
    });
    const l = { filters, fn };
    this.listeners.add(l);
    return { past, unsubscribe: () => void this.listeners.delete(l) };
  }

  /** Live subscribers (for tests: a closed stream leaves none behind). */
  get subscribers(): number { return this.listeners.size; }
}

/** One event as a line of the stream: JSON, with timeNano written as the exact integer. */
export function eventLine(e: EventMessage): string {
  const { timeNano, ...rest } = e;
  return `${JSON.stringify(rest).slice(0, -1)},"timeNano":${timeNano}}\n`;
}

/** The events route's `since`/`until`: what the docker CLI sends (seconds[.nanoseconds]) and the forms prune's `until` takes. */
export function parseEventTime(v: string | null, what: string): number | undefined {
  if (v === null || v === '') return undefined;
  try {
    return parseUntil(v);
  } catch {
    throw new InvalidInputError(`invalid value for ${what}: ${JSON.stringify(v)}`);
  }
}

// dockerd's filters.Args matching: no values = everything passes.
const exact = (f: Filters, k: string, v: string): boolean => !f.get(k)?.length || f.get(k)!.includes(v);
const fuzzy = (f: Filters, k: string, v: string): boolean => !f.get(k)?.length || f.get(k)!.some((x) => x === v || v.startsWith(x));

/** dockerd's Filter.Include for the event types nsnet emits. */
export function matches(f: Filters, e: EventMessage): boolean {
  const name = e.Actor.Attributes['name'] ?? '';
  // An object filter names that object: its ID (or a prefix) or its name.
  const named = (t: EventType) => !f.get(t)?.length || (e.Type === t && (fuzzy(f, t, e.Actor.ID) || fuzzy(f, t, name)));
  // Filters for objects nsnet never emits events about let nothing through, as dockerd's do for those it has none of.
  const none = ['config', 'daemon', 'node', 'plugin', 'secret', 'service', 'volume'].every((k) => !f.get(k)?.length);
  return none
    && exact(f, 'event', e.Action) && exact(f, 'type', e.Type) && exact(f, 'scope', e.scope)
    && named('container') && named('network')
    && (!f.get('image')?.length || (e.Type === 'container' && f.get('image')!.some((i) => imageMatches(i, e.Actor.Attributes['image'] ?? ''))))
    && allLabelsMatch(e.Actor.Attributes, f.get('label'));
}

/** An image filter against a container's image: the same reference, or the same name when the filter has no tag. */
function imageMatches(filter: string, image: string): boolean {
  if (filter === image) return true;
  const untagged = (r: string) => r.replace(/(?::[\w][\w.-]{0,127})?(?:@.*)?$/, '');
  return !/:[\w][\w.-]*$/.test(filter.split('/').at(-1)!) && untagged(image) === filter;
}
