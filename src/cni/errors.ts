// CNI's error model: a numeric code from the spec (or 100+ for nsnet's own
// conditions) travels with the message, and every failure reaches the
// runtime as {cniVersion, code, msg, details}.
import { NsnetError } from '../errors.js';

/** SPEC.md "Error": well-known codes, then nsnet's (100 and up). */
export const CniCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodingFailure: 6,
  InvalidConfig: 7,
  TryAgainLater: 11,
  NotAvailable: 50,
  Degraded: 51,
  /** The kernel or nsnet failed while the request was valid. */
  Internal: 100,
  /** Something is already there: an attachment, an address, a host port. */
  Conflict: 101,
  /** CHECK found the kernel not matching the attachment. */
  CheckFailed: 102,
  /** The network has no free address left. */
  NoAddress: 103,
} as const;

export class CniError extends NsnetError {
  constructor(readonly cniCode: number, message: string, readonly details = '') {
    super('ECNI', message);
  }
}

// nsnet's codes, as the runtime sees them.
const BY_NSNET_CODE: Record<string, number> = {
  EINVALIDINPUT: CniCode.InvalidConfig,
  INVALID_POOL: CniCode.InvalidConfig,
  INVALID_SUBPOOL: CniCode.InvalidConfig,
  IP_OUT_OF_RANGE: CniCode.InvalidConfig,
  ECONFLICT: CniCode.Conflict,
  ENETWORKEXISTS: CniCode.Conflict,
  EENDPOINTEXISTS: CniCode.Conflict,
  ESANDBOXEXISTS: CniCode.Conflict,
  EPORTINUSE: CniCode.Conflict,
  IP_ALREADY_ALLOCATED: CniCode.Conflict,
  POOL_OVERLAP: CniCode.Conflict,
  NO_AVAILABLE_IPS: CniCode.NoAddress,
};

/** The spec's error object for anything thrown while serving a command. */
export function errorBody(e: unknown, cniVersion: string): { cniVersion: string; code: number; msg: string; details: string } {
  if (e instanceof CniError) return { cniVersion, code: e.cniCode, msg: e.message, details: e.details };
  const code = (e as { code?: unknown }).code;
  const name = typeof code === 'string' ? code : '';
  return { cniVersion, code: BY_NSNET_CODE[name] ?? CniCode.Internal, msg: (e as Error).message ?? String(e), details: name };
}

/** HTTP status for the daemon's answer (the shim only tells 200 from the rest). */
export function httpStatusOf(code: number): number {
  if (code === CniCode.Conflict) return 409;
  if (code === CniCode.UnknownContainer) return 404;
  if (code === CniCode.TryAgainLater || code === CniCode.NotAvailable || code === CniCode.Degraded) return 503;
  return code < 100 ? 400 : 500;
}
