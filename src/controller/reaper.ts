// Deferred link destruction. Destroying a link costs ~20 ms of kernel RCU
// waiting; callers must not wait for it. Leave marks the host veth end dead
// (interface group), and the reaper deletes every dead link with one
// RTM_DELLINK by group, on the slow lane, at most `delayMs` after the first
// mark. flush() on shutdown; a crashed process's dead links are deleted on the
// next start.
import { isKernelError, linkDelGroup } from '../netlink/index.js';

export class LinkReaper {
  private pending = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  /** Rounds failed in a row: the retry waits longer each time (a kernel that keeps refusing is not asked in a loop). */
  private failStreak = 0;
  /** The ordinal (in `started`) of the last round that succeeded: every link buried before it began is gone. */
  private doneThrough = 0;
  /** Completed batch deletions (for tests and stats). */
  rounds = 0;
  /** Batch deletions begun: they run one at a time, in order. */
  started = 0;
  /** Rounds that failed (their links stay buried and go with a later round), and the last such error. */
  failures = 0;
  lastError: unknown;
  /** Links handed to completed rounds, and the wall time those rounds took on the slow lane (the reaper's own cost). */
  reapedLinks = 0;
  busyNs = 0;

  constructor(
    private readonly group: number,
    private readonly delayMs = 50,
    /** The batch deletion itself (the kernel's, unless a test gives another). */
    private readonly deleteGroup: (group: number) => Promise<unknown> = (g) => linkDelGroup(undefined, g),
  ) {}

  /** A link was moved to the dead group. */
  bury(): void {
    this.pending++;
    if (!this.timer && !this.running) this.arm();
  }

  get backlog(): number {
    return this.pending;
  }

  /**
   * Links buried before round `completed` began (see `started`) are gone. A
   * failed round completes nothing: its links are still there, enslaved.
   */
  get completed(): number {
    return this.doneThrough;
  }

  /** No round after this (the controller stopped): a timer armed by a failed round is cleared, and none is armed again. */
  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private disposed = false;

  private arm(): void {
    if (this.disposed) return;
    const wait = Math.min(this.delayMs * 2 ** this.failStreak, 5_000);
    this.timer = setTimeout(() => void this.reap(), wait);
  }

  /** One deletion round; resolves with its error (undefined when it succeeded). */
  private async reap(): Promise<unknown> {
    this.timer = undefined;
    // One round at a time: a round asked for while one runs is that one (links
    // buried meanwhile get the next, armed by its tail).
    if (this.running) return this.running;
    const links = this.pending;
    this.pending = 0;
    const t0 = process.hrtime.bigint();
    const ordinal = ++this.started;
    this.running = this.deleteGroup(this.group)
      .catch((e: unknown) => {
        // ENODEV: nothing was left in the group (e.g. a namespace took them).
        if (!(isKernelError(e) && e.code === 'ENODEV')) throw e;
      })
      .then(
        () => {
          this.rounds++;
          this.doneThrough = ordinal;
          this.failStreak = 0;
          this.reapedLinks += links;
          this.busyNs += Number(process.hrtime.bigint() - t0);
          return undefined;
        },
        (e: unknown) => {
          // The links are still in the group: counted again, for a later round.
          this.pending += links;
          this.failures++;
          this.failStreak++;
          this.lastError = e;
          return e;
        },
      );
    const error = await this.running;
    this.running = undefined;
    if (this.pending && !this.timer) this.arm();
    return error;
  }

  /**
   * Deletes every dead link now and waits for it; rejects with the error of
   * its own round (one that failed before it and that it made good is not
   * its error). Flushes run one after another: two at once would both start
   * a round, and rounds run one at a time.
   */
  flush(): Promise<void> {
    const run = this.flushing.then(() => this.flushNow());
    this.flushing = run.catch(() => undefined);
    return run;
  }

  private flushing: Promise<void> = Promise.resolve();

  private async flushNow(): Promise<void> {
    // Wait out the round in progress (a timer's, too), then run one for what is left.
    while (this.running) await this.running;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const error = await this.reap();
    // Links buried during that round keep the timer their round's tail armed.
    if (!this.pending && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (error !== undefined) throw error;
  }
}
