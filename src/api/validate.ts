// Request validation: bodies against the JSON schemas (ajv), query values
// and path parameters by hand. Everything here runs before a handler, so a
// refused request has changed nothing.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { InvalidInputError } from '../errors.js';
import type { Schema } from './schemas.js';

// verbose: errors carry their schema node, where `goType` is read.
const ajv = new Ajv({ allErrors: false, verbose: true, strict: true, allowUnionTypes: true });
ajv.addKeyword({ keyword: 'goType', schemaType: 'string' });

export type BodyCheck = (body: unknown) => Record<string, unknown>;

/** A body checker for one schema; a missing or null body is an empty object, as Go decodes it. */
export function bodyValidator(schema: Schema): BodyCheck {
  const validate: ValidateFunction = ajv.compile(schema);
  return (body) => {
    const b = body === undefined || body === null ? {} : body;
    dropNullFields(b, schema);
    if (!validate(b)) throw new InvalidInputError(describe(validate.errors?.[0], b, schema));
    return b as Record<string, unknown>;
  };
}

/**
 * Go's decoder leaves a struct field as it was when the JSON value is null
 * (docker-py sends `"IPRange": null` for every unset pool field): such fields
 * are dropped, so they validate and reach handlers as absent. Map values and
 * list elements are not struct fields and stay as sent (`[null]` is refused).
 */
function dropNullFields(v: unknown, s: Schema | undefined): void {
  if (!s || v === null || typeof v !== 'object') return;
  if (Array.isArray(v)) {
    for (const x of v) dropNullFields(x, s['items'] as Schema | undefined);
    return;
  }
  const o = v as Record<string, unknown>;
  const props = s['properties'] as Record<string, Schema> | undefined;
  const extra = typeof s['additionalProperties'] === 'object' ? s['additionalProperties'] as Schema : undefined;
  for (const k of Object.keys(o)) {
    const field = props?.[k];
    if (field && o[k] === null) delete o[k];
    else dropNullFields(o[k], field ?? extra);
  }
}

const goKind = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'boolean' ? 'bool' : typeof v === 'number' ? 'number' : typeof v;

/** dockerd's wording: `invalid JSON: json: cannot unmarshal string into Go struct field CreateRequest.EnableIPv6 of type bool`. */
function describe(err: ErrorObject | undefined, body: unknown, root: Schema): string {
  if (!err) return 'invalid JSON';
  const segments = err.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let value: unknown = body;
  for (const s of segments) value = (value as Record<string, unknown>)[s];
  const goType = String((err.parentSchema as Schema | undefined)?.['goType'] ?? 'value');
  const rootType = String(root['goType']);
  if (!segments.length) return `invalid JSON: json: cannot unmarshal ${goKind(value)} into Go value of type ${rootType}`;
  const field = segments.map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s}`)).join('');
  return `invalid JSON: json: cannot unmarshal ${goKind(value)} into Go struct field ${rootType.split('.').pop()}${field} of type ${goType}`;
}

/** Path parameters arrive percent-encoded; a bad escape is the client's error (Go's url.PathUnescape wording). */
export function decodePathParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    const bad = /%(?![0-9a-fA-F]{2})[^%]{0,2}/.exec(raw)?.[0] ?? raw;
    throw new InvalidInputError(`invalid URL escape "${bad}"`);
  }
}

/** dockerd's httputils.BoolValue: anything but "", "0", "no", "false", "none" is true. */
export function boolQuery(q: URLSearchParams, k: string): boolean {
  const s = (q.get(k) ?? '').trim().toLowerCase();
  return !['', '0', 'no', 'false', 'none'].includes(s);
}

/** An optional integer query value (e.g. the stop timeout `t`). */
export function intQuery(q: URLSearchParams, k: string): number | undefined {
  const s = q.get(k);
  if (s === null || s === '') return undefined;
  if (!/^[+-]?\d{1,15}$/.test(s)) throw new InvalidInputError(`invalid value for ${k}: ${JSON.stringify(s)}: must be an integer`);
  return Number(s);
}
