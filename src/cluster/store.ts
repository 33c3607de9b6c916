// The etcd client nsnet uses: the `etcd3` package (etcd's v3 gRPC API) with
// short deadlines and no retries of its own, so a global operation fails
// fast with ClusterError while etcd is away and works again as soon as it is
// back. Values are UTF-8 JSON; revisions stay decimal strings (int64).
import { ExponentialBackoff, noop, type IBackoff } from 'cockatiel';
import { Etcd3, type IKeyValue, type Lease, type Watcher } from 'etcd3';
import { InvalidInputError } from '../errors.js';
import { ClusterError } from './errors.js';

export interface Entry {
  key: string;
  value: string;
  modRevision: string;
}

/** One condition of a transaction (etcd's Compare, one key). */
export type Compare =
  | { key: string; absent: true }
  | { key: string; present: true }
  | { key: string; modRevision: string }
  | { key: string; value: string };

/** One operation of a transaction. */
export type Op = { put: string; value: string; lease?: string } | { delete: string } | { deletePrefix: string };

export interface StoreOptions {
  /** Deadline of one request (ms). */
  timeoutMs?: number;
}

/** `etcd://HOST:PORT` (also http://) → the client's URL; anything else is refused. */
export function parseStoreUrl(url: string): string {
  const m = /^(?:etcd|http):\/\/([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})\/?$/.exec(url);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535)
    throw new InvalidInputError(`invalid cluster store ${JSON.stringify(url)}: expected etcd://HOST:PORT`);
  return `http://${m[1]}:${m[2]}`;
}

const entry = (kv: IKeyValue): Entry => ({ key: kv.key.toString(), value: kv.value.toString(), modRevision: kv.mod_revision });

export class EtcdStore {
  readonly client: Etcd3;
  readonly url: string;
  readonly timeoutMs: number;

  constructor(url: string, o: StoreOptions = {}) {
    this.url = url;
    this.timeoutMs = o.timeoutMs ?? 2000;
    const deadline = () => ({ deadline: Date.now() + this.timeoutMs });
    this.client = new Etcd3({
      hosts: parseStoreUrl(url),
      dialTimeout: this.timeoutMs,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : deadline()),
      // The library's defaults retry three times behind a circuit breaker
      // that stays open 5 s: a request would neither fail fast nor work at
      // once when etcd is back. nsnet retries at its own level instead.
      // The watch manager calls next() on it first (a backoff factory; the library's type says a backoff).
      faultHandling: { host: () => noop, global: noop, watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1000 }) as unknown as IBackoff<unknown> },
    });
  }

  /** Runs a request under the deadline; any failure to get an answer is a ClusterError. */
  async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ClusterError(`cluster store ${this.url} is unavailable: ${what}: no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      return await Promise.race([fn(), late]);
    } catch (e) {
      if (e instanceof ClusterError) throw e;
      throw new ClusterError(`cluster store ${this.url} is unavailable: ${what}: ${(e as Error).message}`, e);
    } finally {
      clearTimeout(timer);
    }
  }

  async get(key: string): Promise<Entry | undefined> {
    const res = await this.call(`get ${key}`, () => this.client.get(key).exec());
    const kv = res.kvs[0];
    return kv ? entry(kv) : undefined;
  }

  async put(key: string, value: string, lease?: string): Promise<void> {
    await this.call(`put ${key}`, () => { const p = this.client.put(key).value(value); return (lease ? p.lease(lease) : p).exec(); });
  }

  /** Every key under the prefix, and the revision they were read at (a watch starts after it). */
  async list(prefix: string): Promise<{ entries: Entry[]; revision: string }> {
    const res = await this.call(`list ${prefix}`, () => this.client.getAll().prefix(prefix).exec());
    return { entries: res.kvs.map(entry), revision: res.header.revision };
  }

  /** An etcd transaction: `ops` run if every comparison holds (at least one); returns whether they did. */
  async txn(compares: readonly [Compare, ...Compare[]], ops: readonly Op[]): Promise<boolean> {
    const c = this.client;
    const cond = (k: Compare): ['Version' | 'Mod' | 'Value', '==' | '>', number | string] =>
      ('absent' in k ? ['Version', '==', 0] : 'present' in k ? ['Version', '>', 0] : 'modRevision' in k ? ['Mod', '==', k.modRevision] : ['Value', '==', k.value]);
    const res = await this.call('transaction', () => {
      const [first, ...rest] = compares;
      const [col, cmp, v] = cond(first);
      let b = c.if(first.key, col, cmp, v);
      for (const k of rest) {
        const [col2, cmp2, v2] = cond(k);
        b = b.and(k.key, col2, cmp2, v2);
      }
      return b.then(...ops.map((o) => {
        if ('put' in o) {
          const p = c.put(o.put).value(o.value);
          return o.lease ? p.lease(o.lease) : p;
        }
        return 'delete' in o ? c.delete().key(o.delete) : c.delete().prefix(o.deletePrefix);
      })).commit();
    });
    return res.succeeded;
  }

  /** A lease kept alive by the library every TTL/3; 'lost' when etcd says it expired, or after 2 TTLs without an answer. */
  lease(ttlSeconds: number): Lease {
    return this.client.lease(ttlSeconds, { autoKeepAlive: true });
  }

  async grant(lease: Lease): Promise<string> {
    return this.call('lease grant', () => lease.grant());
  }

  async revoke(lease: Lease): Promise<void> {
    await this.call('lease revoke', () => lease.revoke()).catch(() => undefined);
  }

  /** A watch of the prefix from `fromRevision` on, with `handlers` attached; it reconnects by itself and resumes where it was. */
  async watch(prefix: string, fromRevision: string, handlers: (w: Watcher) => void): Promise<Watcher> {
    // Made here rather than by create(): `handlers` are on before the first
    // event can arrive, and one that does not connect in time is cancelled,
    // else the library would keep reconnecting it for nobody.
    const w = this.client.watch().prefix(prefix).startRevision(fromRevision).watcher();
    handlers(w);
    try {
      return await this.call(`watch ${prefix}`, () => new Promise<Watcher>((resolve, reject) => {
        w.once('connected', () => resolve(w));
        w.once('error', reject);
      }));
    } catch (e) {
      void w.cancel().catch(() => undefined);
      throw e;
    }
  }

  close(): void {
    this.client.close();
  }
}

export { entry as toEntry };
