// The embedded store: one SQLite file (WAL) holding every object as JSON by
// kind and ID. The model keeps the live state in memory; writes are queued
// and committed together in one transaction (group commit). A request that
// waits for its writes (durably(), durable(): the API and CNI answers) has
// them committed at the end of the event-loop turn; writes nobody waits for
// (the library's calls) are gathered for up to COMMIT_WINDOW_MS, so a loop
// of endpoint calls pays for one small transaction now and then instead of
// one per call, and an endpoint created, joined, left and deleted within
// the window costs one row write. Reads flush first. A crash can lose the
// writes of the last window that no answer depended on, never corrupt:
// start-up reconciles the kernel against what the store holds.
//
// A failed commit (disk full, I/O error, the database busy) never throws out
// of the group commit, which runs from setImmediate and would take the
// process down. The batch is retried write by write so only the failing
// writes are reported, to the requests that made them (durably()); the rest
// are committed. A failed write stays queued and is retried after the next
// batch that commits, so the store catches up with memory once the fault
// clears.
import Database from 'better-sqlite3';
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from '../errors.js';

export type Kind = 'network' | 'endpoint' | 'sandbox' | 'cursor' | 'container' | 'meta';

/** The writes of one request (durably()), found through its async context. */
interface Tracker {
  /** The batch holding its latest write, until that batch is committed. */
  batch: Batch | undefined;
  error: StoreError | undefined;
}

/** One group commit; its promise is made only if someone waits (the library path never does). */
class Batch {
  readonly errors: StoreError[] = [];
  private settled = false;
  private waiting: { done: Promise<void>; resolve: () => void } | undefined;

  /** Settles (never rejects) once the batch has been tried. */
  done(): Promise<void> {
    if (this.settled) return Promise.resolve();
    if (!this.waiting) {
      let resolve!: () => void;
      const done = new Promise<void>((r) => { resolve = r; });
      this.waiting = { done, resolve };
    }
    return this.waiting.done;
  }

  settle(): void {
    this.settled = true;
    this.waiting?.resolve();
  }
}

interface Write {
  kind: Kind;
  id: string;
  json: string | undefined;
  trackers: Tracker[];
}

// Conditions of the whole database, not of a write: retrying each write
// alone would only wait out the busy timeout once per write.
const WHOLE_DB = /^SQLITE_(BUSY|LOCKED)/;

const tracking = new AsyncLocalStorage<Tracker>();

/** How long writes nobody waits for are gathered before their commit. */
export const COMMIT_WINDOW_MS = 10;

export class Store {
  private readonly db: Database.Database;
  private readonly putStmt: Database.Statement;
  private readonly delStmt: Database.Statement;
  private readonly allStmt: Database.Statement;
  private readonly getStmt: Database.Statement;
  readonly path: string;
  private readonly pending = new Map<string, Write>();
  /** Writes that failed, kept for another try; a newer write of the key replaces its entry. */
  private readonly failed = new Map<string, Write>();
  private batch: Batch | undefined;
  /** The commit to come: on the next turn (someone waits) or at the end of the window. */
  private scheduled: { immediate: NodeJS.Immediate } | { timer: NodeJS.Timeout } | undefined;

  /**
   * `busyTimeoutMs`: how long a commit waits for another connection's write
   * lock (only a foreign tool can hold one: the data dir lock keeps other
   * controllers out). better-sqlite3 waits synchronously, on the JS thread.
   */
  constructor(dir: string, { busyTimeoutMs = 5000 }: { busyTimeoutMs?: number } = {}) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.path = join(dir, 'nsnet.db');
    this.db = new Database(this.path, { timeout: busyTimeoutMs });
    this.db.pragma('journal_mode = WAL');
    // A crash may lose the last transactions, never corrupt: the controller
    // reconciles the kernel against the store on start anyway.
    this.db.pragma('synchronous = NORMAL');
    this.db.exec('CREATE TABLE IF NOT EXISTS objects (kind TEXT NOT NULL, id TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY (kind, id)) WITHOUT ROWID');
    this.putStmt = this.db.prepare('INSERT OR REPLACE INTO objects (kind, id, json) VALUES (?, ?, ?)');
    this.delStmt = this.db.prepare('DELETE FROM objects WHERE kind = ? AND id = ?');
    this.allStmt = this.db.prepare('SELECT json FROM objects WHERE kind = ?');
    this.getStmt = this.db.prepare('SELECT json FROM objects WHERE kind = ? AND id = ?');
  }

  put(kind: Kind, id: string, value: unknown): void {
    this.enqueue(kind, id, JSON.stringify(value));
  }

  delete(kind: Kind, id: string): void {
    this.enqueue(kind, id, undefined);
  }

  private enqueue(kind: Kind, id: string, json: string | undefined): void {
    const key = `${kind}\0${id}`;
    this.failed.delete(key);
    const batch = (this.batch ??= new Batch());
    const trackers = this.pending.get(key)?.trackers ?? [];
    const t = tracking.getStore();
    if (t) {
      t.batch = batch;
      if (!trackers.includes(t)) trackers.push(t);
    }
    // A later write of the key supersedes the earlier one: both requests wait for it.
    this.pending.set(key, { kind, id, json, trackers });
    if (t) this.commitSoon();
    else this.scheduled ??= { timer: setTimeout(() => this.flush(), COMMIT_WINDOW_MS) };
  }

  /** Someone waits for what is queued: commit at the end of this turn rather than of the window. */
  private commitSoon(): void {
    if (this.scheduled && 'immediate' in this.scheduled) return;
    this.cancelScheduled();
    this.scheduled = { immediate: setImmediate(() => this.flush()) };
  }

  private cancelScheduled(): void {
    if (!this.scheduled) return;
    if ('immediate' in this.scheduled) clearImmediate(this.scheduled.immediate);
    else clearTimeout(this.scheduled.timer);
    this.scheduled = undefined;
  }

  /**
   * Runs `fn` (one request) and settles once every write it made is
   * committed: with its result, or with a StoreError if one of them could
   * not be. The request's writes are found through its async context, so
   * concurrent requests are answered for their own writes only.
   */
  durably<T>(fn: () => Promise<T>): Promise<T> {
    const t: Tracker = { batch: undefined, error: undefined };
    return tracking.run(t, async () => {
      const out = await fn();
      if (t.batch) await t.batch.done();
      if (t.error) throw t.error;
      return out;
    });
  }

  /** Settles when everything queued so far has been tried; rejects if a write of that batch failed. */
  async durable(): Promise<void> {
    const b = this.batch;
    if (!b) return;
    this.commitSoon();
    await b.done();
    if (b.errors.length) throw b.errors[0];
  }

  /** Commits every queued write in one transaction; never throws (failures go to durably()/durable()). */
  flush(): void {
    this.cancelScheduled();
    const batch = this.batch;
    this.batch = undefined;
    const writes = [...this.pending.values()];
    this.pending.clear();
    if (!this.db.open) {
      // Work that outlived the controller's stop: reported, not silently lost.
      const closed = new StoreError('store: closed (the controller was stopped)');
      for (const w of writes) for (const t of w.trackers) t.error ??= closed;
      if (writes.length) batch?.errors.push(closed);
    } else if (writes.length && this.commit(writes, batch)) {
      // The database takes writes again: retry those that failed before.
      this.retryFailed();
    }
    batch?.settle();
  }

  private retryFailed(): void {
    if (!this.failed.size) return;
    const again = [...this.failed.values()];
    this.failed.clear();
    this.commit(again, undefined);
  }

  /** One transaction; if it fails, each write alone. Reports failures to their requests and the batch. */
  private commit(writes: Write[], batch: Batch | undefined): boolean {
    try {
      this.db.transaction(() => {
        for (const w of writes) this.apply(w);
      })();
      return true;
    } catch (e) {
      if (WHOLE_DB.test(codeOf(e))) {
        for (const w of writes) this.fail(w, e, batch);
        return false;
      }
    }
    let any = false;
    for (const w of writes) {
      try {
        this.apply(w);
        any = true;
      } catch (e) {
        this.fail(w, e, batch);
      }
    }
    return any;
  }

  private apply(w: Write): void {
    if (w.json === undefined) this.delStmt.run(w.kind, w.id);
    else this.putStmt.run(w.kind, w.id, w.json);
  }

  private fail(w: Write, cause: unknown, batch: Batch | undefined): void {
    const err = new StoreError(`store: cannot commit ${w.kind} ${w.id.slice(0, 12)} (${codeOf(cause) || 'error'}: ${(cause as Error).message})`, cause);
    for (const t of w.trackers) t.error ??= err;
    batch?.errors.push(err);
    const key = `${w.kind}\0${w.id}`;
    if (!this.pending.has(key)) this.failed.set(key, { ...w, trackers: [] });
  }

  get<T>(kind: Kind, id: string): T | undefined {
    this.flush();
    const row = this.getStmt.get(kind, id) as { json: string } | undefined;
    return row ? (JSON.parse(row.json) as T) : undefined;
  }

  all<T>(kind: Kind): T[] {
    this.flush();
    return (this.allStmt.all(kind) as { json: string }[]).map((r) => JSON.parse(r.json) as T);
  }

  count(kind: Kind): number {
    this.flush();
    return (this.db.prepare('SELECT count(*) AS n FROM objects WHERE kind = ?').get(kind) as { n: number }).n;
  }

  /** Groups writes that belong together; they are committed in one transaction with the rest of the turn's. */
  tx<T>(fn: () => T): T {
    return fn();
  }

  /** Commits what is queued and closes; throws a StoreError, after closing, if some writes could not be committed. */
  close(): void {
    if (!this.db.open) return;
    this.flush();
    // A last try for writes that failed and saw no batch commit since.
    this.retryFailed();
    const lost = this.failed.size;
    this.failed.clear();
    this.db.close();
    if (lost) throw new StoreError(`store: ${lost} write(s) could not be committed before close`);
  }
}

function codeOf(e: unknown): string {
  const c = (e as { code?: unknown } | undefined)?.code;
  return typeof c === 'string' ? c : '';
}
