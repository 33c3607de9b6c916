// Namespaces made ahead of need (ControllerOptions.netnsPool), so a
// sandbox's start does not pay namespace creation (unshare + bind mount,
// about a millisecond). Refilled in the background, one at a time, on the
// slow lane so it never queues in front of a join; emptied on stop. A crash
// leaves them to the next start's sweep: they carry the controller's prefix.
import type { Netns } from '../netlink/index.js';

export class NetnsPool {
  private readonly ready: Netns[] = [];
  private filling: Promise<void> | undefined;
  private stopped = false;
  /** The last failure to make one (the pool then stops refilling until the next take). */
  lastError: unknown;

  constructor(
    private readonly size: number,
    private readonly make: () => Promise<Netns>,
    private readonly destroy: (ns: Netns) => Promise<unknown>,
  ) {}

  get available(): number {
    return this.ready.length;
  }

  /** A prepared namespace, or undefined when the pool is empty (the caller makes one). */
  take(): Netns | undefined {
    const ns = this.ready.shift();
    this.refill();
    return ns;
  }

  refill(): void {
    if (this.filling || this.stopped || this.ready.length >= this.size) return;
    this.filling = (async () => {
      while (!this.stopped && this.ready.length < this.size) {
        let ns: Netns;
        try {
          ns = await this.make();
        } catch (e) {
          this.lastError = e;
          return;
        }
        if (this.stopped) {
          await this.destroy(ns).catch(() => undefined);
          return;
        }
        this.ready.push(ns);
      }
    })().finally(() => { this.filling = undefined; });
  }

  /** Resolves once the pool is full (or refilling failed); for tests and benchmarks. */
  async filled(): Promise<void> {
    while (this.filling) await this.filling;
  }

  /** Stops refilling and deletes every namespace still in the pool. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.filling;
    const all = this.ready.splice(0);
    await Promise.allSettled(all.map((ns) => this.destroy(ns)));
  }
}
