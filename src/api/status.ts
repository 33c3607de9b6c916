// The one table from nsnet's error codes to the HTTP statuses dockerd uses
// for the same conditions (api/server/httpstatus). Every code nsnet raises
// is listed, 500s included on purpose (test/structure.test.ts checks it).
import { types } from 'node:util';

export const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  EINVALIDINPUT: 400,
  EAMBIGUOUS: 400,
  INVALID_POOL: 400,
  INVALID_SUBPOOL: 400,
  IP_OUT_OF_RANGE: 400,
  INVALID_ADDRESS_SPACE: 400,
  BAD_DEFAULT_POOL: 400,
  ENOTFOUND: 404,
  POOL_NOT_FOUND: 404,
  ECONFLICT: 409,
  ENETWORKEXISTS: 409,
  ECONTAINEREXISTS: 409,
  ECONTAINERRUNNING: 409,
  ENOTRUNNING: 409,
  EPAUSED: 409,
  ENOTPAUSED: 409,
  EFORBIDDEN: 403,
  EPREDEFINED: 403,
  EACTIVEENDPOINTS: 403,
  EENDPOINTEXISTS: 403,
  EENDPOINTINUSE: 403,
  // runconfig's validationErrors in dockerd (InvalidParameter), not Forbidden.
  EHOSTMODE: 400,
  ESHAREDNETNS: 400,
  ENOTCONNECTED: 403,
  ENOTJOINED: 403,
  ESANDBOXEXISTS: 403,
  EBRIDGEFULL: 403,
  ECONFIGNETWORK: 403,
  ECONFIGINUSE: 403,
  POOL_OVERLAP: 403,
  IP_ALREADY_ALLOCATED: 403,
  NO_MORE_SUBNETS: 403,
  NO_AVAILABLE_IPS: 503,
  EPORTINUSE: 409,
  EDATADIRLOCKED: 409,
  ESOCKETINUSE: 409,
  // Swarm mode is not run: dockerd's answers on a node outside a swarm.
  ENOSWARM: 503,
  ENOTSWARMMANAGER: 503,
  // The cluster store (etcd) did not answer in time: a global operation to retry.
  ECLUSTER: 503,
  // Server-side failures: the request was valid, nsnet or the kernel failed.
  EFIREWALL: 500,
  ETEARDOWN: 500,
  ENOBRIDGE: 500,
  ENOVXLAN: 500,
  EVETH: 500,
  EINJECTED: 500,
  ESTORE: 500,
  // CNI failures carry their own code (src/cni/errors.ts); the shim reads the body.
  ECNI: 400,
};

/** The status of a known error, or undefined for an unexpected one (a bug, or a kernel error nsnet did not map). */
export function knownStatusOf(e: unknown): number | undefined {
  const code = types.isNativeError(e) ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? STATUS_BY_CODE[code] : undefined;
}

export function statusOf(e: unknown): number {
  return knownStatusOf(e) ?? 500;
}
