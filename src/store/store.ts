// The embedded store: one SQLite file (WAL) holding every object as JSON by
// kind and ID. Writes are synchronous and transactional; the model keeps the
// live state in memory and writes through.
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
    this.putStmt.run(kind, id, JSON.stringify(value));
  }

  delete(kind: Kind, id: string): void {
    this.delStmt.run(kind, id);
  }

  get<T>(kind: Kind, id: string): T | undefined {
    const row = this.getStmt.get(kind, id) as { json: string } | undefined;
    return row ? (JSON.parse(row.json) as T) : undefined;
  }

  all<T>(kind: Kind): T[] {
    return (this.allStmt.all(kind) as { json: string }[]).map((r) => JSON.parse(r.json) as T);
  }

  count(kind: Kind): number {
    return (this.db.prepare('SELECT count(*) AS n FROM objects WHERE kind = ?').get(kind) as { n: number }).n;
  }

  /** Runs `fn` in one transaction: all of its writes land, or none. */
  tx<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
