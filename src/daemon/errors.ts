// Errors with Docker's wording, for the flows the daemon layer adds.
import { ConflictError, ForbiddenError, NotFoundError, InvalidInputError } from '../errors.js';

export const PREDEFINED = new Set(['bridge', 'host', 'none', 'default']);

export const errPredefinedCreate = (name: string) =>
  new ForbiddenError(`operation is not permitted on predefined ${name} network `, 'EPREDEFINED');
export const errPredefinedRemove = (name: string) =>
  new ForbiddenError(`${name} is a pre-defined network and cannot be removed`, 'EPREDEFINED');
export const errNoSuchContainer = (term: string) => new NotFoundError(`No such container: ${term}`);
export const errNameInUse = (name: string, id: string) =>
  new ConflictError(`Conflict. The container name "/${name}" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`, 'ECONTAINEREXISTS');
export const errRunningRemove = (id: string) =>
  new ConflictError(`cannot remove container "${id}": container is running: stop the container before removing or force remove`, 'ECONTAINERRUNNING');
export const errSharedNetwork = () =>
  new ForbiddenError('container sharing network namespace with another container or host cannot be connected to any other network', 'ESHAREDNETNS');
/** dockerd's ErrConflictNoNetwork: `none` shares a container with no other network. */
export const errConflictNoNetwork = () =>
  new InvalidInputError('container cannot be connected to multiple networks with one of the networks in private (none) mode');
export const errNotConnected = (container: string, network: string) =>
  new ForbiddenError(`container ${container} is not connected to network ${network}`, 'ENOTCONNECTED');
export const errAlreadyConnected = (container: string, network: string) =>
  new ForbiddenError(`endpoint with name ${container} already exists in network ${network}`, 'EENDPOINTEXISTS');
export const errNotRunning = (id: string) => new ConflictError(`Container ${id} is not running`, 'ENOTRUNNING');
export const errAlreadyPaused = (id: string) => new ConflictError(`Container ${id} is already paused`, 'EPAUSED');
export const errNotPaused = (id: string) => new ConflictError(`Container ${id} is not paused`, 'ENOTPAUSED');
export const errPaused = (id: string) => new ConflictError(`Container ${id} is paused, unpause the container before exec`, 'EPAUSED');
export const errInvalid = (msg: string) => new InvalidInputError(msg);
