// null: the sandbox keeps only its loopback.
import { ForbiddenError } from '../errors.js';
import type { Driver } from '../driver-api/driver.js';

export class NullDriver implements Driver {
  readonly type: string = 'null';
  readonly scope = 'local';
  readonly needsAddresses = false;
  readonly singleton = true;
  validate(net: { name: string }, others: readonly { driver: string; configOnly?: boolean }[]): void {
    // Config-only networks carry the type null too, and are no instance of it.
    if (others.some((o) => o.driver === this.type && !o.configOnly))
      throw new ForbiddenError(`only one instance of "${this.type}" network is allowed`);
    void net;
  }
  async createNetwork(): Promise<void> {}
  async deleteNetwork(): Promise<void> {}
  async restoreNetwork(): Promise<void> {}
  checkJoin(): void {}
  async join(): Promise<void> {}
  async leave(): Promise<void> {}
  async setGateway(): Promise<void> {}
}
