// Gathers the kernel requests of several joins and sends them in few
// crossings; each join gets back exactly the answers to its own requests.
// Joins add their requests synchronously (before their first await), then
// the caller sends what is left. A batch is sent in chunks as it fills, so
// the lane thread works on the first joins while the JS thread still
// prepares the later ones (a joinMany's throughput is then the slower of the
// two, not their sum).
import { batch, type Op, type Settled } from '../netlink/index.js';

/** Requests per crossing: about eight joins, enough to keep the lane busy while the next chunk is prepared. */
const CHUNK_REQUESTS = 32;
/**
 * The first chunk is sent sooner, so the lane starts while the JS thread
 * prepares the rest (a full first chunk left it idle ~1 ms); one request
 * more than the addon runs on the calling thread, so it goes to the lane.
 */
const FIRST_CHUNK_REQUESTS = 17;

interface Waiter {
  from: number;
  count: number;
  resolve(res: Settled<unknown>[]): void;
  reject(e: unknown): void;
}

export class JoinBatch {
  private ops: Op<unknown>[] = [];
  private waiters: Waiter[] = [];
  private readonly inFlight: Promise<void>[] = [];
  private sent = false;

  add(ops: readonly Op<unknown>[]): Promise<Settled<unknown>[]> {
    if (this.sent) return batch(ops);
    const answered = new Promise<Settled<unknown>[]>((resolve, reject) => {
      this.waiters.push({ from: this.ops.length, count: ops.length, resolve, reject });
      this.ops.push(...ops);
    });
    if (this.ops.length >= (this.inFlight.length ? CHUNK_REQUESTS : FIRST_CHUNK_REQUESTS)) this.flush();
    return answered;
  }

  /** Sends what is gathered and waits until every chunk is answered. */
  async send(): Promise<void> {
    this.sent = true;
    if (this.waiters.length) this.flush();
    await Promise.all(this.inFlight);
  }

  /** Requests never depend on another join's: a failure settles only its own join (no stop on error). */
  private flush(): void {
    const [ops, waiters] = [this.ops, this.waiters];
    this.ops = [];
    this.waiters = [];
    this.inFlight.push(batch(ops).then(
      (res) => { for (const w of waiters) w.resolve(res.slice(w.from, w.from + w.count)); },
      (e: unknown) => { for (const w of waiters) w.reject(e); },
    ));
  }
}
