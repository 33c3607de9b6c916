// Swarm-mode routes answered as dockerd answers them on a node outside a
// swarm (daemon/cluster: errNoSwarm, errNoManager), so SDKs and the docker
// CLI get a 503 they understand instead of "page not found".
import { NsnetError } from '../errors.js';
import type { Router } from './router.js';

export const NO_SWARM = 'This node is not part of a swarm';
export const NOT_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

const noSwarm = () => { throw new NsnetError('ENOSWARM', NO_SWARM); };
const notManager = () => { throw new NsnetError('ENOTSWARMMANAGER', NOT_MANAGER); };

export function swarmRoutes(r: Router): void {
  // Inspect, update, unlock and unlockkey need a manager; leave needs a swarm.
  r.on('GET', '/swarm', notManager);
  r.on('GET', '/swarm/unlockkey', notManager);
  for (const p of ['update', 'unlock']) r.on('POST', `/swarm/${p}`, notManager);
  r.on('POST', '/swarm/leave', noSwarm);
  // dockerd would start swarm mode here; nsnet has none to start.
  for (const p of ['init', 'join']) r.on('POST', `/swarm/${p}`, noSwarm);
  // Every node, service, task, secret and config route sits behind the manager check.
  for (const method of ['GET', 'POST', 'DELETE']) r.on(method, '/(?:nodes|services|tasks|secrets|configs)(?:/.*)?', notManager);
}
