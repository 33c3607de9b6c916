// Gathers the kernel requests of several joins and sends them in one
// crossing; each join gets back exactly the answers to its own requests.
// Joins add their requests synchronously (before their first await), then
// the caller sends them all.
//
// One crossing, not chunks sent while later joins are still being
// prepared: on two vCPUs the JS thread preparing, the lane running the
// earlier chunks and the kernel's link watcher (woken by every new veth,
// spinning on RTNL while the lane holds it) are three busy threads on two
// CPUs, and the lane's kernel work slowed by about as much as the overlap
// saved (a joinMany of 32 in paired runs: 8.1-9.7 ms of lane work in one
// crossing against 9.6-11.0 ms in chunks, the whole call within noise of
// each other).
import { batch, type Op, type Settled } from '../netlink/index.js';

interface Waiter {
  from: number;
  count: number;
  resolve(res: Settled<unknown>[]): void;
  reject(e: unknown): void;
}

export class JoinBatch {
  private readonly ops: Op<unknown>[] = [];
  private readonly waiters: Waiter[] = [];
  private sent = false;

  add(ops: readonly Op<unknown>[]): Promise<Settled<unknown>[]> {
    if (this.sent) return batch(ops);
    return new Promise<Settled<unknown>[]>((resolve, reject) => {
      this.waiters.push({ from: this.ops.length, count: ops.length, resolve, reject });
      this.ops.push(...ops);
    });
  }

  /**
   * Sends what is gathered, in one crossing. Requests never depend on
   * another join's: a failure settles only its own join (no stop on error).
   */
  async send(): Promise<void> {
    this.sent = true;
    if (!this.waiters.length) return;
    try {
      const res = await batch(this.ops);
      for (const w of this.waiters) w.resolve(res.slice(w.from, w.from + w.count));
    } catch (e) {
      for (const w of this.waiters) w.reject(e);
    }
  }
}
