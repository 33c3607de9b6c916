// The embedded store: one SQLite file (WAL) holding every object as JSON by
// kind and ID. The model keeps the live state in memory; writes are queued
// and committed together in one transaction at the end of the event-loop
// turn (group commit), so the endpoint path pays for SQLite while the
// kernel is busy with its netlink requests, and a create+join+leave of one
// endpoint within a turn costs one row write. Reads flush first. A crash can
// lose the last turn's writes, never corrupt: start-up reconciles the
// kernel against what the store holds.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type Kind = 'network' | 'endpoint' | 'sandbox' | 'cursor' | 'container' | 'meta';

export class Store {
  private readonly db: Database.Database;
  private readonly putStmt: Database.Statement;
  private readonly delStmt: Database.Statement;
  private readonly allStmt: Database.Statement;
  private readonly getStmt: Database.Statement;
  readonly path: string;
  private readonly pending = new Map<string, { kind: Kind; id: string; json: string | undefined }>();
  private scheduled: NodeJS.Immediate | undefined;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.path = join(dir, 'nsnet.db');
    this.db = new Database(this.path);
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
    this.pending.set(`${kind}\0${id}`, { kind, id, json });
    this.scheduled ??= setImmediate(() => this.flush());
  }

  /** Commits every queued write in one transaction. */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    if (!this.pending.size || !this.db.open) return;
    const batch = [...this.pending.values()];
    this.pending.clear();
    this.db.transaction(() => {
      for (const w of batch) {
        if (w.json === undefined) this.delStmt.run(w.kind, w.id);
        else this.putStmt.run(w.kind, w.id, w.json);
      }
    })();
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

  close(): void {
    if (!this.db.open) return;
    this.flush();
    this.db.close();
  }
}
