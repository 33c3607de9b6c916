// The core behind each public Controller, for nsnet's own upper layers
// (the daemon) and its tests. The package's entry points do not export
// this module, so embedders never see the store, IPAM, reaper or firewall.
import type { Core } from './core.js';

export const cores = new WeakMap<object, Core>();

export function internals(c: object): Core {
  const core = cores.get(c);
  if (!core) throw new TypeError('not an nsnet Controller');
  return core;
}
