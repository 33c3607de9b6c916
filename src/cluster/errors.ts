// The cluster layer's errors. A global operation that cannot reach etcd in
// time fails with ClusterError (503, as dockerd answers when its store or
// swarm is unavailable): the request was valid and can be retried.
import { InvalidInputError, NsnetError } from '../errors.js';

export class ClusterError extends NsnetError {
  constructor(message: string, cause?: unknown) {
    super('ECLUSTER', message, { cause });
  }
}

/** libnetwork's words for a global network on a daemon without a cluster store. */
export const errNoClusterStore = () => new InvalidInputError(
  'datastore for scope "global" is not initialized: overlay networks need a cluster store (start the daemon with --cluster-store etcd://HOST:PORT --advertise-addr IP)');
