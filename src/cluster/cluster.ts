// A host's membership of an nsnet cluster: its session (lease), the global
// address space (registry) and the agent feeding the local controller. What
// the daemon calls for global networks and their endpoints.
import { hostname } from 'node:os';
import type { Controller, Endpoint, EndpointInfo, Network } from '../controller/controller.js';
import { dnsNames } from '../controller/ids.js';
import { DOCKER_GLOBAL_POOLS, type PoolSpec } from '../ipam/index.js';
import { isIPv4 } from 'node:net';
import { InvalidInputError } from '../errors.js';
import { ClusterAgent, isGlobal } from './agent.js';
import type { EndpointEntry } from './keys.js';
import { keys } from './keys.js';
import { Registry, type GlobalNetworkRequest } from './registry.js';
import { HostSession } from './session.js';
import { EtcdStore, parseStoreUrl } from './store.js';

export interface ClusterOptions {
  /** etcd://HOST:PORT */
  store: string;
  /** This host's underlay address: its VTEP, and its key in the cluster. */
  advertiseAddress: string;
  /** Lease TTL in seconds (default 15): how long a dead host's endpoints outlive it. */
  leaseTtl?: number;
  /** Shown in inspect's Peers (default: the host name). */
  hostName?: string;
  /** Deadline of one etcd request in ms (default 2000). */
  timeoutMs?: number;
  /** Pools of subnets for global networks created without one (default Docker's global pool, 10.0.0.0/8 in /24s). */
  pools?: readonly PoolSpec[];
  log?: (message: string) => void;
}

export const DEFAULT_LEASE_TTL = 15;

/** Checks the options before anything starts (a bad flag is the operator's error, not an outage). */
export function checkClusterOptions(o: ClusterOptions): void {
  parseStoreUrl(o.store);
  if (!isIPv4(o.advertiseAddress)) throw new InvalidInputError(`invalid advertise address ${JSON.stringify(o.advertiseAddress)}: an IPv4 address of this host`);
  const ttl = o.leaseTtl ?? DEFAULT_LEASE_TTL;
  if (!Number.isInteger(ttl) || ttl < 2 || ttl > 3600) throw new InvalidInputError(`invalid cluster lease TTL ${ttl}: whole seconds from 2 to 3600`);
}

export class Cluster {
  readonly store: EtcdStore;
  readonly registry: Registry;
  readonly session: HostSession;
  readonly agent: ClusterAgent;
  readonly host: string;
  readonly hostName: string;
  /** Addresses allocated and not yet published by an endpoint: a reconcile must not take them back. */
  private readonly pending = new Set<string>();
  private reconcileTimer: NodeJS.Timeout | undefined;
  private readonly log: (m: string) => void;
  /** Re-registrations refused because another host holds the address now (reported, never overwritten). */
  readonly conflicts: string[] = [];

  private constructor(private readonly controller: Controller, readonly options: ClusterOptions) {
    checkClusterOptions(options);
    this.log = options.log ?? ((m) => console.error(m));
    this.host = options.advertiseAddress;
    this.hostName = options.hostName ?? hostname();
    this.store = new EtcdStore(options.store, options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {});
    this.registry = new Registry(this.store, this.host, options.pools ?? DOCKER_GLOBAL_POOLS);
    this.session = new HostSession(this.store, { address: this.host, name: this.hostName, since: new Date().toISOString() }, options.leaseTtl ?? DEFAULT_LEASE_TTL, {
      renewed: (id) => this.reconcile(id),
      log: this.log,
    });
    this.agent = new ClusterAgent(this.store, this.registry, controller, this.host, this.log);
  }

  /** Joins the cluster. Never waits for etcd: when it is away, the session and the agent keep trying in the background. */
  static start(controller: Controller, options: ClusterOptions): Cluster {
    const c = new Cluster(controller, options);
    c.session.start();
    c.agent.start();
    return c;
  }

  // ---- networks

  /** Creates a global network in etcd, then here; a local failure takes the etcd record back. */
  async createNetwork(req: GlobalNetworkRequest, avoid: readonly string[] = []): Promise<Network> {
    const n = await this.registry.createNetwork(req, avoid);
    try {
      return await this.agent.ensureLocal(n);
    } catch (e) {
      await this.registry.deleteNetwork(n.id).catch(() => undefined);
      throw e;
    }
  }

  /** Removes a global network cluster-wide (refused while any host has endpoints on it), then here. */
  async deleteNetwork(id: string): Promise<void> {
    await this.registry.deleteNetwork(id);
    await this.agent.removeLocal(id);
  }

  // ---- endpoints

  /** An address for a new endpoint of this host on a global network, allocated in etcd. */
  async allocate(netId: string, requested?: string): Promise<string> {
    const lease = await this.session.leaseId();
    const ip = await this.registry.allocateAddress(netId, lease, requested);
    this.pending.add(`${netId}/${ip}`);
    return ip;
  }

  /** The endpoint exists here with its address: publish it so the other hosts program it (and resolve its names). */
  async publish(netId: string, ep: Endpoint): Promise<void> {
    const info = ep.info();
    const ip = info.ipv4?.split('/')[0];
    if (!ip || !info.mac) throw new InvalidInputError(`endpoint ${ep.id} has no IPv4 address or MAC to publish`);
    try {
      await this.registry.registerEndpoint(netId, this.entry(info, ip, info.mac), await this.session.leaseId());
    } finally {
      this.pending.delete(`${netId}/${ip}`);
    }
  }

  /**
   * Gives back what an endpoint held in etcd (after it was removed here).
   * Never fails: while etcd is away the leftovers are reconciled later (and
   * they are under this host's lease in any case).
   */
  async release(netId: string, ip: string | undefined, epId?: string): Promise<void> {
    if (ip) this.pending.delete(`${netId}/${ip}`);
    try {
      if (epId) await this.registry.releaseEndpoint(netId, epId, ip);
      else if (ip) await this.registry.releaseAddress(netId, ip);
    } catch {
      this.reconcileSoon();
    }
  }

  /**
   * What the other hosts learn of a local endpoint. Its names are Docker's
   * DNSNames, as the daemon gives them to a container on a user-defined
   * network: the endpoint's name (the container's), its aliases, and the
   * joined sandbox's container ID cut to 12.
   */
  private entry(ep: EndpointInfo, ip: string, mac: string): EndpointEntry {
    const containerId = ep.sandboxId ? this.controller.sandbox(ep.sandboxId)?.info().containerId : undefined;
    const names = containerId ? { names: dnsNames(ep.name, ep.aliases, containerId), containerName: ep.name } : {};
    return { endpointId: ep.id, ip, mac, vtep: this.host, host: this.host, hostName: this.hostName, ...names };
  }

  /** This host's endpoints on global networks, as the controller has them. */
  private localEndpoints(): { netId: string; entry: EndpointEntry }[] {
    const out: { netId: string; entry: EndpointEntry }[] = [];
    for (const n of this.controller.networks()) {
      if (!isGlobal(n)) continue;
      for (const e of n.endpoints()) {
        const i = e.info();
        const ip = i.ipv4?.split('/')[0];
        if (ip && i.mac) out.push({ netId: n.id, entry: this.entry(i, ip, i.mac) });
      }
    }
    return out;
  }

  /**
   * Makes etcd hold exactly this host's live endpoints: registers (again,
   * under the current lease) those it has, drops its leftovers. An address
   * another host took meanwhile is reported and left to it.
   */
  async reconcile(leaseId?: string): Promise<void> {
    const lease = leaseId ?? await this.session.leaseId();
    const live = this.localEndpoints();
    for (const { netId, entry } of live) {
      try {
        await this.registry.registerEndpoint(netId, entry, lease);
      } catch (e) {
        if ((e as { code?: string }).code !== 'IP_ALREADY_ALLOCATED') throw e;
        const msg = `cluster: conflict: ${(e as Error).message}; this host's endpoint keeps it locally but is not published`;
        this.conflicts.push(msg);
        this.log(msg);
      }
    }
    const ips = new Set(live.map((l) => `${l.netId}/${l.entry.ip}`));
    const eps = new Set(live.map((l) => `${l.netId}/${l.entry.endpointId}`));
    const held = await this.registry.held();
    for (const a of held.addresses)
      if (!ips.has(`${a.netId}/${a.ip}`) && !this.pending.has(`${a.netId}/${a.ip}`)) await this.registry.dropStale(keys.address(a.netId, a.ip), a.modRevision);
    for (const e of held.endpoints)
      if (!eps.has(`${e.netId}/${e.epId}`)) await this.registry.dropStale(keys.endpoint(e.netId, e.epId), e.modRevision);
  }

  private reconcileSoon(): void {
    if (this.reconcileTimer) return;
    this.reconcileTimer = setTimeout(() => {
      this.reconcileTimer = undefined;
      this.reconcile().catch(() => this.reconcileSoon());
    }, 1000);
    this.reconcileTimer.unref();
  }

  // ---- views

  peersOf(netId: string): { Name: string; IP: string }[] {
    return this.agent.peersOf(netId);
  }

  /** The other hosts' endpoints on a global network that publish names (for the embedded DNS). */
  remoteNamed(netId: string): EndpointEntry[] {
    return this.agent.remoteNamed(netId);
  }

  /** `fn` runs whenever the endpoints known from etcd change (the embedded DNS rebuilds its index). */
  onEndpointsChanged(fn: () => void): void {
    this.agent.changed = fn;
  }

  /** Stops following etcd. This host's keys stay until its lease expires, so a restart within the TTL disturbs no other host. */
  async stop(): Promise<void> {
    clearTimeout(this.reconcileTimer);
    await this.agent.stop();
    await this.session.close(false);
    this.store.close();
  }
}
