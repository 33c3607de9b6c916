// The `until` prune filter as dockerd reads it (api/types/time.GetTimestamp):
// a Go duration before now ("10m", "1h30m", "1.5h"), an RFC 3339 time or
// one of its shorter forms (a date, "2006-01-02T15", "...T15:04", with or
// without a zone; no zone = local time), or Unix seconds with an optional
// fraction. Returns milliseconds since the epoch.
import { InvalidInputError } from '../errors.js';

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 };

/** Go's time.ParseDuration, in milliseconds; undefined when `v` is not a duration. */
export function parseGoDuration(v: string): number | undefined {
  const m = /^([+-]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(v);
  if (!m) return v === '0' || v === '+0' || v === '-0' ? 0 : undefined;
  let total = 0;
  for (const part of m[2]!.matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) total += Number(part[1]) * UNIT_MS[part[2]!]!;
  return m[1] === '-' ? -total : total;
}

/** dockerd's GetTimestamp followed by ParseTimestamps, as a point in time. */
export function parseUntil(v: string, now = Date.now()): number {
  // "0" is a Unix time for dockerd, not a duration.
  const d = v !== '0' ? parseGoDuration(v) : undefined;
  if (d !== undefined) return now - d;
  const unix = /^(-?\d+)(?:\.(\d{1,9}))?$/.exec(v);
  // Go's time.Unix(sec, nsec): the fraction is added, also to negative seconds.
  if (unix) return Number(unix[1]) * 1000 + (unix[2] ? Number(unix[2].padEnd(9, '0')) / 1e6 : 0);
  const t = parseTimeForm(v);
  if (t === undefined || Number.isNaN(t)) {
    if (v.includes('-')) throw new InvalidInputError(`parsing time ${JSON.stringify(v)}: cannot parse as a time or a duration`);
    throw new InvalidInputError(`failed to parse value as time or duration: ${JSON.stringify(v)}`);
  }
  return t;
}

// The forms Go's layouts in GetTimestamp accept: a date, then optionally
// T and hours, minutes, seconds and a fraction, then optionally a zone.
const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?(Z|z|[+-]\d{2}:\d{2})?$/;

function parseTimeForm(v: string): number | undefined {
  const m = TIME_RE.exec(v);
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const parts = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  const [Y, M, D, H, Mi, S] = parts;
  if (M < 1 || M > 12 || D < 1 || D > 31 || H > 23 || Mi > 59 || S > 59) return undefined;
  const ms = frac ? Number(frac.padEnd(9, '0')) / 1e6 : 0;
  if (!zone) {
    const local = new Date(Y, M - 1, D, H, Mi, S).getTime();
    return new Date(local).getDate() === D ? local + ms : undefined;
  }
  const utc = Date.UTC(Y, M - 1, D, H, Mi, S);
  if (new Date(utc).getUTCDate() !== D) return undefined;
  const off = zone === 'Z' || zone === 'z' ? 0 : (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 6e4;
  return utc - off + ms;
}
