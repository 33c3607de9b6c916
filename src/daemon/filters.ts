// Docker's list filters: {"name":{"x":true}} or the legacy {"name":["x"]}.
import { InvalidInputError } from '../errors.js';

export type Filters = Map<string, string[]>;

export function parseFilters(raw: string | null | undefined, accepted: readonly string[]): Filters {
  const out: Filters = new Map();
  if (!raw) return out;
  let obj: unknown;
  try {
    obj = JSON.parse(raw);
  } catch {
    throw new InvalidInputError(`invalid filter: ${raw}`);
  }
  if (typeof obj !== 'object' || obj === null) throw new InvalidInputError(`invalid filter: ${raw}`);
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    if (!accepted.includes(k)) throw new InvalidInputError(`invalid filter '${k}'`);
    const values = Array.isArray(v) ? v.map(String) : Object.entries(v as Record<string, boolean>).filter(([, on]) => on).map(([x]) => x);
    out.set(k, values);
  }
  return out;
}

/** A label filter value "k" or "k=v" against a label map. */
export const labelMatches = (labels: Record<string, string>, f: string): boolean => {
  const eq = f.indexOf('=');
  if (eq < 0) return f in labels;
  return labels[f.slice(0, eq)] === f.slice(eq + 1);
};

export function parseBoolFilter(values: string[] | undefined, what: string): boolean | undefined {
  if (!values?.length) return undefined;
  const v = values[0]!.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new InvalidInputError(`invalid filter '${what}=${values[0]}'`);
}
