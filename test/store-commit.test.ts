// When the store commits: writes a request waits for (durably(), durable())
// at the end of the turn; writes nobody waits for (library calls) gathered
// over the commit window, a key written many times in it committed once
// with its last value. Read back through a second connection, as a
// restarted controller would.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { COMMIT_WINDOW_MS, Store } from '../src/store/store.js';
import { tempDir } from './helpers.js';

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

describe('store commit timing', () => {
  const open: { store: Store; remove: () => void }[] = [];
  afterEach(() => {
    for (const o of open.splice(0)) { o.store.close(); o.remove(); }
  });

  function fresh(): { store: Store; seen: (id: string) => unknown } {
    const { path: dir, remove } = tempDir('scommit');
    const store = new Store(dir);
    open.push({ store, remove });
    const seen = (id: string): unknown => {
      const db = new Database(join(dir, 'nsnet.db'), { readonly: true });
      try {
        const row = db.prepare('SELECT json FROM objects WHERE kind = ? AND id = ?').get('endpoint', id) as { json: string } | undefined;
        return row ? JSON.parse(row.json) : undefined;
      } finally {
        db.close();
      }
    };
    return { store, seen };
  }

  it('gathers writes nobody waits for over the window, and commits a key written many times once, with its last value', async () => {
    const { store, seen } = fresh();
    store.put('endpoint', 'a', { n: 1 });
    await nextTurn();
    store.put('endpoint', 'a', { n: 2 });
    store.put('endpoint', 'b', { n: 1 });
    store.delete('endpoint', 'b');
    await nextTurn();
    expect(seen('a')).toBeUndefined();
    await sleep(COMMIT_WINDOW_MS * 3);
    expect(seen('a')).toEqual({ n: 2 });
    expect(seen('b')).toBeUndefined();
  });

  it('commits a request\'s writes before durably() settles, with whatever else was queued', async () => {
    const { store, seen } = fresh();
    store.put('endpoint', 'lib', { n: 1 });
    await store.durably(async () => { store.put('endpoint', 'req', { n: 1 }); });
    expect(seen('req')).toEqual({ n: 1 });
    expect(seen('lib')).toEqual({ n: 1 });
  });

  it('durable() commits what is queued without waiting out the window', async () => {
    const { store, seen } = fresh();
    store.put('endpoint', 'x', { n: 1 });
    const done = store.durable();
    await nextTurn();
    expect(seen('x')).toEqual({ n: 1 });
    await done;
  });

  it('a read commits first', () => {
    const { store, seen } = fresh();
    store.put('endpoint', 'y', { n: 3 });
    expect(store.get('endpoint', 'y')).toEqual({ n: 3 });
    expect(seen('y')).toEqual({ n: 3 });
  });
});
