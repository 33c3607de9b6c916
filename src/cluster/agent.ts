// Keeps the local controller in line with etcd: every global network exists
// here with the same ID, and every remote endpoint of those networks is a
// peer (neighbour + forwarding entry) of the local overlay. It lists the
// state, then watches from the list's revision; after a lost watch it lists
// again, so whatever happened meanwhile is applied. Applying is idempotent,
// and one thing is applied at a time.
import type { Controller, Network } from '../controller/controller.js';
import type { OverlayPeer } from '../driver-api/records.js';
import { OverlayOption } from '../drivers/overlay.js';
import { ConflictError } from '../errors.js';
import { keys, parseEndpointKey, parseJson, parseNetworkKey, type EndpointEntry, type GlobalNetwork } from './keys.js';
import type { Registry } from './registry.js';
import type { EtcdStore } from './store.js';
import type { Watcher } from 'etcd3';
import { isIPv4 } from 'node:net';

/** How often the agent lists everything again while its watches run. */
const RESYNC_MS = 60_000;

export const isGlobal = (n: Network): boolean => n.info().scope === 'global';

export class ClusterAgent {
  /** Every endpoint of every global network, this host's included (inspect shows them as peers). */
  private readonly entries = new Map<string, Map<string, EndpointEntry>>();
  private chain: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private cancel: (() => Promise<void>) | undefined;
  private wake: (() => void) | undefined;
  /** Called after the known endpoints changed (the daemon's embedded DNS answers from them). */
  changed: (() => void) | undefined;

  constructor(
    private readonly store: EtcdStore,
    private readonly registry: Registry,
    private readonly controller: Controller,
    private readonly host: string,
    private readonly log: (m: string) => void,
  ) {}

  /** Runs `fn` after everything queued before it. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Starts the list-and-watch loop in the background. */
  start(): void {
    void this.loop();
  }

  private async loop(): Promise<void> {
    let failing = false;
    while (!this.stopped) {
      try {
        const [nets, eps] = await this.serial(() => this.resync());
        await this.watchUntilBroken(nets, eps);
        failing = false;
      } catch (e) {
        // Said once per outage, not at every retry.
        if (!this.stopped && !failing) this.log(`cluster: sync with the store failed (${(e as Error).message}); retrying until it answers`);
        failing = true;
      }
      if (!this.stopped) await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** Lists networks and endpoints and applies them; returns the revisions the watches start after. */
  private async resync(): Promise<[string, string]> {
    const { networks, revision: netRev } = await this.registry.networks();
    const eps = await this.store.list(keys.allEndpoints);
    const wanted = new Map(networks.map((n) => [n.id, n]));
    for (const n of networks) await this.ensureLocalNow(n).catch((e: unknown) => this.log(`cluster: network ${n.name}: ${(e as Error).message}`));
    for (const n of this.controller.networks()) if (isGlobal(n) && !wanted.has(n.id)) await this.removeLocalNow(n.id);
    this.entries.clear();
    for (const e of eps.entries) {
      const k = parseEndpointKey(e.key);
      const v = parseJson<EndpointEntry>(e.value);
      if (k && v) this.entryMap(k.netId).set(k.epId, v);
    }
    for (const n of this.controller.networks()) if (isGlobal(n)) await this.programAll(n.id);
    this.changed?.();
    return [netRev, eps.revision];
  }

  private entryMap(netId: string): Map<string, EndpointEntry> {
    let m = this.entries.get(netId);
    if (!m) this.entries.set(netId, (m = new Map()));
    return m;
  }

  /** Watches both prefixes until a watch fails for good (the loop then lists again), or the agent stops. */
  private async watchUntilBroken(netRev: string, epRev: string): Promise<void> {
    const next = (r: string) => (BigInt(r) + 1n).toString();
    let broken: () => void = () => {};
    const ended = new Promise<void>((resolve) => { broken = resolve; });
    this.wake = broken;
    let away = false;
    // Handlers go on before a watch connects: etcd sends the events since
    // the list's revision right after the watch is created.
    const common = (w: Watcher) => {
      w.on('error', (e) => { this.log(`cluster: watch failed: ${e.message}`); broken(); });
      w.on('disconnected', () => { away = true; });
      // The watch resumes by itself; a fresh list also covers what the resume may not (a compaction).
      w.on('connected', () => { if (away) { away = false; void this.serial(() => this.resync()).catch(() => undefined); } });
    };
    const nets = await this.store.watch(keys.networks, next(netRev), (w) => {
      common(w);
      w.on('put', (kv) => {
        const n = parseJson<GlobalNetwork & { deleting?: boolean }>(kv.value.toString());
        if (n && !n.deleting) void this.serial(() => this.ensureLocalNow(n)).catch((e: unknown) => this.log(`cluster: network ${n.name}: ${(e as Error).message}`));
      });
      w.on('delete', (kv) => {
        const id = parseNetworkKey(kv.key.toString());
        if (id) void this.serial(() => this.removeLocalNow(id));
      });
    });
    const eps = await this.store.watch(keys.allEndpoints, next(epRev), (w) => {
      common(w);
      w.on('put', (kv) => {
        const k = parseEndpointKey(kv.key.toString());
        const v = parseJson<EndpointEntry>(kv.value.toString());
        if (!k || !v) return;
        void this.serial(async () => {
          this.entryMap(k.netId).set(k.epId, v);
          this.changed?.();
          await this.program(k.netId, v);
        });
      });
      w.on('delete', (kv) => {
        const k = parseEndpointKey(kv.key.toString());
        if (!k) return;
        void this.serial(async () => {
          this.entries.get(k.netId)?.delete(k.epId);
          this.changed?.();
          await this.unprogram(k.netId, k.epId);
        });
      });
    }).catch(async (e: unknown) => { await nets.cancel(); throw e; });
    // A cancel waits for etcd's answer: bounded, as etcd may be the thing that is away.
    this.cancel = async () => {
      await Promise.race([Promise.allSettled([nets.cancel(), eps.cancel()]), new Promise((r) => setTimeout(r, 1000).unref())]);
    };
    if (this.stopped) broken(); // stopped while the watches were being made
    // A full list now and then also retries what failed to apply (a network this host could not instantiate).
    const periodic = setInterval(() => void this.serial(() => this.resync()).catch(() => undefined), RESYNC_MS);
    periodic.unref();
    await ended;
    clearInterval(periodic);
    const cancel = this.cancel;
    this.cancel = undefined;
    await cancel?.();
  }

  // ---- local networks

  /** The network here, created from its cluster record if missing (same ID, the cluster's VNI, subnet and gateway). */
  ensureLocal(n: GlobalNetwork): Promise<Network> {
    return this.serial(() => this.ensureLocalNow(n));
  }

  private async ensureLocalNow(n: GlobalNetwork): Promise<Network> {
    const have = this.controller.networks().find((x) => x.id === n.id);
    if (have) return have;
    const clash = this.controller.networkByName(n.name);
    if (clash) throw new ConflictError(`global network ${n.name} cannot be instantiated here: local network ${clash.id} has its name`, 'ENETWORKEXISTS');
    const net = await this.controller.newNetwork({
      id: n.id, name: n.name, driver: n.driver, internal: n.internal, attachable: n.attachable, labels: n.labels,
      options: { ...n.options, [OverlayOption.Vni]: String(n.vni) },
      ipam: { driver: 'default', config: [{ Subnet: n.subnet, Gateway: n.gateway, ...(n.ipRange ? { IPRange: n.ipRange } : {}) }] },
    });
    await this.programAll(n.id);
    return net;
  }

  /** Removes the local instance of a network deleted cluster-wide (kept, and said, while local endpoints use it). */
  removeLocal(id: string): Promise<void> {
    return this.serial(() => this.removeLocalNow(id));
  }

  private async removeLocalNow(id: string): Promise<void> {
    if (this.entries.delete(id)) this.changed?.();
    const n = this.controller.networks().find((x) => x.id === id);
    if (!n) return;
    if (n.endpoints().length) {
      this.log(`cluster: network ${n.name} was removed from the cluster but still has endpoints here; kept`);
      return;
    }
    await n.delete().catch((e: unknown) => this.log(`cluster: removing network ${n.name}: ${(e as Error).message}`));
  }

  // ---- peers

  private peerOf(e: EndpointEntry): OverlayPeer {
    return { endpointId: e.endpointId, ip: e.ip, mac: e.mac, vtep: e.vtep, name: e.hostName };
  }

  private async program(netId: string, e: EndpointEntry): Promise<void> {
    if (e.host === this.host || !this.controller.networks().some((n) => n.id === netId)) return;
    await this.controller.addPeer(netId, this.peerOf(e)).catch((err: unknown) => this.log(`cluster: peer ${e.ip} on ${netId}: ${(err as Error).message}`));
  }

  private async unprogram(netId: string, epId: string): Promise<void> {
    if (!this.controller.networks().some((n) => n.id === netId)) return;
    await this.controller.removePeer(netId, epId).catch((err: unknown) => this.log(`cluster: peer ${epId} on ${netId}: ${(err as Error).message}`));
  }

  /** Makes the network's programmed peers exactly the remote endpoints etcd lists. */
  private async programAll(netId: string): Promise<void> {
    const want = [...(this.entries.get(netId)?.values() ?? [])].filter((e) => e.host !== this.host);
    const ids = new Set(want.map((e) => e.endpointId));
    const have = new Map(this.controller.peers(netId).map((p) => [p.endpointId, p]));
    for (const p of have.values()) if (!ids.has(p.endpointId)) await this.unprogram(netId, p.endpointId);
    for (const e of want) {
      const p = have.get(e.endpointId);
      if (!p || p.ip !== e.ip || p.mac !== e.mac || p.vtep !== e.vtep) await this.program(netId, e);
    }
  }

  /** The other hosts' endpoints on a network that publish DNS names. */
  remoteNamed(netId: string): EndpointEntry[] {
    // Another writer's entry is not trusted: names and address are checked before a resolver answers with them.
    const ok = (e: EndpointEntry) => e.host !== this.host && isIPv4(e.ip) && Array.isArray(e.names) && e.names.length > 0
      && e.names.every((n) => typeof n === 'string' && n.length > 0 && n.length <= 255)
      && (e.containerName === undefined || typeof e.containerName === 'string');
    return [...(this.entries.get(netId)?.values() ?? [])].filter(ok);
  }

  /** Docker's Peers of an overlay network: the hosts with endpoints on it. */
  peersOf(netId: string): { Name: string; IP: string }[] {
    const hosts = new Map<string, string>();
    for (const e of this.entries.get(netId)?.values() ?? []) hosts.set(e.vtep, e.hostName);
    return [...hosts].sort(([a], [b]) => a.localeCompare(b)).map(([ip, name]) => ({ Name: name, IP: ip }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const cancel = this.cancel;
    this.cancel = undefined;
    this.wake?.();
    await cancel?.();
    await this.chain;
  }
}
