// host: the endpoint uses the host's namespace; no interface is made.
import { NullDriver } from './null.js';

export class HostDriver extends NullDriver {
  override readonly type: string = 'host';
}
