// Docker's list filters: {"name":{"x":true}} or the legacy {"name":["x"]}.
// Anything else is refused whole ("invalid filter"), as dockerd's
// filters.FromJSON does; a value of null is refused too, where Go would
// silently read it as no filter.
import v8 from 'node:v8';
import vm from 'node:vm';
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
 * `^name$` anchors). Go's RE2 syntax is read as JavaScript's, with a leading
 * `(?i)` as the i flag; a pattern RE2 would not compile (backreferences,
 * lookaround) or JavaScript cannot matches nothing, as dockerd skips it.
 */
export function filterMatch(source: string, pattern: string): boolean {
  if (source === pattern) return true;
  const re = compiled(pattern);
  if (!re) return false;
  // JavaScript's engine backtracks where RE2 runs in linear time, and this
  // thread also answers DNS: a match runs under a time budget, and a
  // pattern that overruns it is refused (V8's linear-time fallback, below,
  // keeps the usual offenders such as ^(a+)+$ well inside it).
  budget.re = re;
  budget.s = source;
  try {
    return MATCH.runInContext(budget, { timeout: MATCH_BUDGET_MS }) as boolean;
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw e;
    throw new InvalidInputError(`invalid filter: ${JSON.stringify(pattern)} takes more than ${MATCH_BUDGET_MS} ms to match one name`);
  }
}

const MATCH_BUDGET_MS = 100;
const budget = vm.createContext({ re: /$/, s: '' });
const MATCH = new vm.Script('re.test(s)');

/** What RE2 lacks: backreferences (\\1, \\k<name>) and lookaround. */
const NOT_RE2 = /\\[1-9]|\\k<|\(\?<?[=!]/;

const cache = new Map<string, RegExp | undefined>();
/** The pattern as a RegExp (undefined: one RE2 or JavaScript would not compile), kept for the next name. */
function compiled(pattern: string): RegExp | undefined {
  if (cache.has(pattern)) return cache.get(pattern);
  const ci = pattern.startsWith('(?i)');
  const body = ci ? pattern.slice(4) : pattern;
  let re: RegExp | undefined;
  try {
    re = NOT_RE2.test(body) ? undefined : new RegExp(body, ci ? 'i' : '');
  } catch {
    re = undefined;
  }
  if (cache.size > 256) cache.clear();
  cache.set(pattern, re);
  return re;
}

// V8 switches a match that backtracks too much to its linear-time engine
// (for the syntax that engine takes), so most patterns never come near the budget.
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
