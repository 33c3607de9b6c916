// This host's registration: a lease with a TTL, kept alive, holding the
// host's key and every address and endpoint it registers, so that when the
// host dies etcd removes them after the TTL. When the lease is lost (etcd
// said it expired, or was unreachable for too long) a new one is granted
// and `renewed` re-registers what this host still has.
import type { Lease } from 'etcd3';
import { ClusterError } from './errors.js';
import { keys, type HostEntry } from './keys.js';
import type { EtcdStore } from './store.js';

export interface SessionEvents {
  /** A new lease replaced a lost one (or the first was granted after etcd was away at start): re-register under it. */
  renewed(leaseId: string): Promise<void>;
  /** Something to tell the operator (the daemon logs it). */
  log(message: string): void;
}

export class HostSession {
  private lease: Lease | undefined;
  private id: Promise<string> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;
  /** Times a lease was granted (the first one included). */
  grants = 0;

  constructor(private readonly store: EtcdStore, readonly host: HostEntry, readonly ttl: number, private readonly events: SessionEvents) {}

  /** The current lease's ID, granting one if there is none (a ClusterError at once when etcd is away). */
  leaseId(): Promise<string> {
    if (this.closed) return Promise.reject(new ClusterError('cluster session closed'));
    this.id ??= this.grant();
    return this.id;
  }

  /** Starts the session; when etcd is away it keeps trying in the background. */
  start(): void {
    this.leaseId().catch(() => this.retryLater());
  }

  private async grant(): Promise<string> {
    const lease = this.store.lease(this.ttl);
    lease.on('lost', (e) => this.lost(lease, e));
    try {
      const id = await this.store.grant(lease);
      await this.store.put(keys.host(this.host.address), JSON.stringify(this.host), id);
      this.lease = lease;
      this.grants++;
      if (this.grants > 1) this.events.log(`cluster: lease renewed (${id}), re-registering this host's endpoints`);
      // Not awaited: the re-registration asks for the lease, which is this very grant.
      void this.events.renewed(id).catch((e: unknown) => this.events.log(`cluster: re-registration incomplete: ${(e as Error).message}`));
      return id;
    } catch (e) {
      lease.removeAllListeners('lost');
      void this.store.revoke(lease);
      this.id = undefined;
      throw e;
    }
  }

  private lost(lease: Lease, e: Error): void {
    if (this.closed || lease !== this.lease) return;
    this.events.log(`cluster: lease lost (${e.message}); a new one will be granted`);
    this.lease = undefined;
    this.id = undefined;
    this.retryLater(0);
  }

  private retryLater(delay = 1000): void {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.leaseId().catch(() => this.retryLater());
    }, delay);
    this.retry.unref();
  }

  /** Stops keeping the lease alive. `revoke` removes this host's keys now (a clean leave); otherwise they expire with the TTL. */
  async close(revoke = false): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const lease = this.lease;
    this.lease = undefined;
    if (!lease) return;
    lease.removeAllListeners('lost');
    if (revoke) await this.store.revoke(lease);
    else lease.release();
  }
}
