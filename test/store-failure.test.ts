// Store failures are real ones: the store lives on a small tmpfs this test
// mounts and fills, or another connection holds the database's write lock. A write that cannot be committed fails the request that
// made it (ESTORE, 500 over the API); writes of the same batch that fit are
// committed; the daemon keeps answering; the failed write is retried once
// the store takes writes again.
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { serve, type ApiServer } from '../src/api/server.js';
import { socketClient } from '../src/cli/client.js';
import { daemonConfig } from '../src/daemon/config.js';
import { Daemon } from '../src/daemon/daemon.js';
import { StoreError } from '../src/errors.js';
import { Store } from '../src/store/store.js';
import { gate, tempDir, uniq } from './helpers.js';

/** A tmpfs of `size` on a fresh directory; `fill` leaves `free` bytes, `unfill` undoes it. */
function smallDisk(dir: string, size: string) {
  mkdirSync(dir);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount: ${r.stderr}`);
  const filler = join(dir, 'filler');
  const reserve = join(dir, 'reserve');
  return {
    fill(free: number): void {
      writeAll(reserve, free, free);
      writeAll(filler, Infinity, 64 * 1024);
      writeAll(filler, Infinity, 4096, 'a');
      rmSync(reserve);
    },
    unfill: () => rmSync(filler, { force: true }),
    unmount: () => { spawnSync('umount', [dir]); rmSync(dir, { recursive: true, force: true }); },
  };
}

/** Appends `chunk`-byte blocks to `file` until `total` bytes or the disk is full. */
function writeAll(file: string, total: number, chunk: number, flags = 'w'): void {
  const fd = openSync(file, flags);
  const buf = Buffer.alloc(chunk, 1);
  try {
    for (let n = 0; n < total; n += chunk) writeSync(fd, buf);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
}

const big = () => 'x'.repeat(400_000);

describe.skipIf(!gate.ok)(`store failures on a full disk ${gate.why}`, () => {
  const dir = tempDir('sfail');
  const disks: ReturnType<typeof smallDisk>[] = [];
  let d: Daemon | undefined;
  let api: ApiServer | undefined;

  afterAll(async () => {
    for (const x of disks) x.unfill();
    await api?.close();
    if (d) {
      for (const n of d.controller.networks()) if (n.type === 'bridge') await n.delete();
      await d.stop();
    }
    for (const x of disks) x.unmount();
    dir.remove();
  });

  it('a failed batch is retried write by write: only the write that does not fit fails its request; it is committed once space is back', async () => {
    const disk = smallDisk(join(dir.path, 'm1'), '1m');
    disks.push(disk);
    const store = new Store(join(dir.path, 'm1', 'data'));
    try {
      store.put('container', 'before', { n: 0 });
      await store.durable();
      disk.fill(32 * 1024);
      // Same turn, so one batch: one transaction, which fails for the big write.
      const small = store.durably(async () => { store.put('container', 'small', { n: 1 }); return 'ok'; });
      const large = store.durably(async () => { store.put('container', 'large', { s: big() }); return 'ok'; });
      await expect(small).resolves.toBe('ok');
      const err = await large.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect(err).toMatchObject({ code: 'ESTORE', sqliteCode: 'SQLITE_FULL' });
      expect((err as Error).message).toMatch(/^store: cannot commit container large \(SQLITE_FULL: /);
      expect(store.get('container', 'small')).toEqual({ n: 1 });
      expect(store.get('container', 'large')).toBeUndefined();
      // Outside a request: the write's failure is the batch's, reported by durable(), never thrown from the group commit.
      store.put('container', 'untracked', { s: big() });
      await expect(store.durable()).rejects.toMatchObject({ code: 'ESTORE' });

      disk.unfill();
      store.put('container', 'after', { n: 2 });
      await store.durable();
      expect(store.get('container', 'large')).toEqual({ s: big() });
      expect(store.get('container', 'untracked')).toEqual({ s: big() });
    } finally {
      store.close();
    }
    const reopened = new Store(join(dir.path, 'm1', 'data'));
    expect(reopened.all<{ n?: number }>('container').length).toBe(5);
    reopened.close();
  });

  it('SQLITE_BUSY (another connection holds the write lock): the batch fails at once for every write, without a busy wait per write; all are kept for later', async () => {
    const path = join(dir.path, 'busy');
    const store = new Store(path, { busyTimeoutMs: 200 });
    const other = new Database(join(path, 'nsnet.db'));
    try {
      other.exec('BEGIN IMMEDIATE');
      const t = performance.now();
      const a = store.durably(async () => { store.put('container', 'a', { n: 1 }); });
      const b = store.durably(async () => { store.put('container', 'b', { n: 2 }); });
      const [ra, rb] = await Promise.allSettled([a, b]);
      const waited = performance.now() - t;
      expect(ra).toMatchObject({ status: 'rejected', reason: { code: 'ESTORE', sqliteCode: 'SQLITE_BUSY' } });
      expect(rb).toMatchObject({ status: 'rejected', reason: { code: 'ESTORE', sqliteCode: 'SQLITE_BUSY' } });
      expect(waited).toBeLessThan(400); // one busy timeout for the batch, not one per write
      other.exec('ROLLBACK');
      store.put('container', 'c', { n: 3 });
      await store.durable();
      expect(store.all('container')).toHaveLength(3);
    } finally {
      other.close();
      store.close();
    }
  });

  it('a write after close (work that outlived a stop) fails its request instead of vanishing', async () => {
    const store = new Store(join(dir.path, 'closed'));
    store.close();
    await expect(store.durably(async () => { store.put('container', 'late', {}); })).rejects.toMatchObject({ code: 'ESTORE', message: 'store: closed (the controller was stopped)' });
  });

  it('over the API: the request whose write fails gets a 500 with the store’s error; the daemon keeps answering and keeps the others’ writes', async () => {
    const disk = smallDisk(join(dir.path, 'm2'), '4m');
    disks.push(disk);
    const config = daemonConfig({ dataDir: join(dir.path, 'm2', 'data'), socket: join(dir.path, 'api.sock'), bridge: { name: uniq('sf'), subnet: '10.38.0.0/24' } });
    d = await Daemon.start(config);
    api = await serve(d, config.socket);
    const client = socketClient(config.socket);
    const create = (name: string, extra: object = {}) => client.call('POST', `/containers/create?name=${name}`, { Image: 'x', ...extra });

    expect((await create('keep1')).status).toBe(201);
    disk.fill(32 * 1024);
    const [large, small, ping] = await Promise.all([create('large', { Env: [`BIG=${big()}`] }), create('small'), client.call('GET', '/_ping')]);
    expect(large.status).toBe(500);
    expect((large.body as { message: string }).message).toMatch(/^store: cannot commit container [0-9a-f]{12} \(SQLITE_FULL: /);
    expect(small.status).toBe(201);
    expect(ping.status).toBe(200);
    const list = await client.call('GET', '/containers/json?all=1');
    expect(list.status).toBe(200);

    disk.unfill();
    expect((await create('after')).status).toBe(201);
    await api.close();
    api = undefined;
    await d.stop();
    d = await Daemon.start(config);
    // Kept across the restart: what was answered 201, and the failed write, retried once space was back.
    expect([...d.containers.values()].map((c) => c.Name).sort()).toEqual(['/after', '/keep1', '/large', '/small']);
  });
});
