// CNI's door into the daemon: the nsnet-cni shim POSTs each command here.
import type { Daemon } from '../daemon/daemon.js';
import { CniPlugin } from '../cni/plugin.js';
import type { Router } from './router.js';

export function withCniRoutes(r: Router, d: Daemon): Router {
  const cni = new CniPlugin(d.controller);
  // The envelope is checked by the CNI layer itself, which answers in the spec's error format.
  r.on('POST', '/cni/v1/exec', async (req) => cni.exec((req.body as { envelope: unknown }).envelope), { body: (envelope) => ({ envelope }) });
  return r;
}
