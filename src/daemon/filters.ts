// Docker's list filters: {"name":{"x":true}} or the legacy {"name":["x"]}.
// Anything else is refused whole ("invalid filter"), as dockerd's
// filters.FromJSON does; a value of null is refused too, where Go would
// silently read it as no filter.
import v8 from 'node:v8';
import { InvalidInputError } from '../errors.js';

export type Filters = Map<string, string[]>;

export function parseFilters(raw: string | null | undefined, accepted: readonly string[]): Filters {
  const out: Filters = new Map();
  if (!raw) return out;
  let obj: unknown;
  try {
    obj = JSON.parse(raw);
  } catch {
    throw new InvalidInputError('invalid filter');
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new InvalidInputError('invalid filter');
  const entries = Object.entries(obj as Record<string, unknown>);
  for (const [k, v] of entries) {
    // Go decodes the map first: a malformed value fails before any key is checked.
    if (Array.isArray(v) ? !v.every((x) => typeof x === 'string') : !isBoolMap(v)) throw new InvalidInputError('invalid filter');
  }
  for (const [k, v] of entries) {
    if (!accepted.includes(k)) throw new InvalidInputError(`invalid filter '${k}'`);
    // dockerd's Args.Get lists every key of the map, whatever its boolean.
    out.set(k, Array.isArray(v) ? (v as string[]) : Object.keys(v as object));
  }
  return out;
}

const isBoolMap = (v: unknown): boolean =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((b) => typeof b === 'boolean');

/**
 * dockerd's Args.Match: the value itself, or a regular expression found
 * anywhere in it (so a plain word still matches as a substring, and
 * `^name$` anchors). Go's RE2 syntax is read as JavaScript's; a leading
 * `(?i)` matches both lower-cased. A pattern RE2 would not compile
 * (backreferences, lookaround) or JavaScript cannot matches nothing, as
 * dockerd skips it.
 */
export function filterMatch(source: string, pattern: string): boolean {
  if (source === pattern) return true;
  const ci = pattern.startsWith('(?i)');
  const body = ci ? lowerOutsideEscapes(pattern.slice(4)) : pattern;
  if (NOT_RE2.test(body)) return false;
  // What V8's linear engine cannot take (a counted repeat, {n,m}) inside a repeated group would backtrack.
  if (/\{\d/.test(body) && nestedRepeat(body))
    throw new InvalidInputError(`invalid filter: ${JSON.stringify(pattern)} repeats a group that holds a counted repeat, which nsnet cannot match in linear time`);
  try {
    return new RegExp(body).test(ci ? source.toLowerCase() : source);
  } catch {
    return false;
  }
}

/** What RE2 lacks: backreferences (\\1, \\k<name>) and lookaround. */
const NOT_RE2 = /\\[1-9]|\\k<|\(\?<?[=!]/;

/** The i flag by hand (V8's linear engine does not take it): letters lower-cased, except an escape's (\\W is not \\w). */
function lowerOutsideEscapes(p: string): string {
  let out = '';
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '\\') {
      out += p.slice(i, i + 2);
      i++;
    } else out += p[i]!.toLowerCase();
  }
  return out;
}

/** Whether a group with a quantifier or an alternation inside is itself quantified. */
function nestedRepeat(p: string): boolean {
  const open: { inner: boolean }[] = [];
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\') { i++; continue; }
    if (c === '[') { // a class: quantifier characters inside mean themselves
      for (i++; i < p.length && p[i] !== ']'; i++) if (p[i] === '\\') i++;
      continue;
    }
    if (c === '(') open.push({ inner: false });
    else if (c === ')') {
      const g = open.pop();
      const next = p[i + 1];
      if (g?.inner && (next === '*' || next === '+' || next === '{' || next === '?')) return true;
      if (g?.inner && open.length) open[open.length - 1]!.inner = true;
    } else if ((c === '*' || c === '+' || c === '{' || c === '|') && open.length) open[open.length - 1]!.inner = true;
  }
  return false;
}

// JavaScript's engine backtracks where RE2 runs in linear time: a user's
// pattern like (a|aa)+$ or .*.*.*= could hold this thread (which also
// answers DNS) for seconds. V8 switches such a match to its linear-time
// engine once it backtracks too much; that engine takes RE2's syntax
// without the i flag (done by hand above) or counted repeats (refused
// above where they could backtrack).
v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');

/** A label filter value "k" or "k=v" against a label map. */
export const labelMatches = (labels: Record<string, string>, f: string): boolean => {
  const eq = f.indexOf('=');
  if (eq < 0) return Object.hasOwn(labels, f);
  return Object.hasOwn(labels, f.slice(0, eq)) && labels[f.slice(0, eq)] === f.slice(eq + 1);
};

/** dockerd's MatchKVList: every value must match (true when there are none). */
export const allLabelsMatch = (labels: Record<string, string>, values: string[] | undefined): boolean =>
  !values?.length || values.every((v) => labelMatches(labels, v));

/** Prune's label rule: `label` all match, and not all of `label!` match. */
export function pruneLabelsMatch(f: Filters, labels: Record<string, string>): boolean {
  if (!allLabelsMatch(labels, f.get('label'))) return false;
  const not = f.get('label!');
  return !(not?.length && allLabelsMatch(labels, not));
}

export function parseBoolFilter(values: string[] | undefined, what: string): boolean | undefined {
  if (!values?.length) return undefined;
  if (values.length > 1) throw new InvalidInputError(`invalid filter '${what}=${values.join(',')}'`);
  const v = values[0]!.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new InvalidInputError(`invalid filter '${what}=${values[0]}'`);
}
