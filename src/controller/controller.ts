// The public controller: what a runtime embeds. It wraps the core (records,
// IPAM, store, drivers, firewall, reaper) and hands out handles; none of the
// core's parts is reachable through its type.
import type { OverlayPeer, SandboxOptions } from '../driver-api/records.js';
import type { Store } from '../store/store.js';
import { Core, type JoinItem } from './core.js';
import { EndpointHandle, NetworkHandle, SandboxHandle } from './handle-impl.js';
import type { Endpoint, Network, Sandbox } from './handles.js';
import { cores } from './internals.js';
import type { ControllerOptions, EndpointCreateOptions, NetworkCreateOptions } from './options.js';

/** How this controller marks the kernel objects it makes (several controllers may share a host). */
export interface OwnershipMarks {
  /** Six hex digits derived from the data directory. */
  tag: string;
  /** Interface group of the host ends of joined endpoints. */
  liveGroup: number;
  /** Interface group of left host ends awaiting deletion. */
  deadGroup: number;
  /** Interface group its bridges and VXLAN devices are created in. */
  madeGroup: number;
  /** Prefix of the namespaces it creates in the run directory. */
  netnsPrefix: string;
}

export interface ControllerStats {
  networks: number;
  endpoints: number;
  sandboxes: number;
  /** Left links whose deletion is still pending. */
  deferredDeletes: number;
  /** Namespaces made ahead and waiting in the pool (ControllerOptions.netnsPool). */
  pooledNamespaces: number;
}

/** One endpoint to create and join, for joinMany. */
export interface JoinRequest {
  /** A handle, or an ID, name or unique ID prefix. */
  network: Network | string;
  sandbox: Sandbox;
  /** The endpoint's name. */
  name: string;
  options?: EndpointCreateOptions;
}

/** How one request of joinMany ended: joined, or nothing left behind and why. */
export type JoinResult = { ok: true; endpoint: Endpoint } | { ok: false; error: Error };

export type { Endpoint, EndpointInfo, Network, NetworkInfo, Sandbox, SandboxInfo } from './handles.js';
export type { ControllerOptions, EndpointCreateOptions, NetworkCreateOptions } from './options.js';
export type { OverlayPeer } from '../driver-api/records.js';

let construct: (core: Core) => Controller;

export class Controller {
  readonly #core: Core;

  static {
    construct = (core) => new Controller(core);
  }

  private constructor(core: Core) {
    this.#core = core;
    cores.set(this, core);
  }

  /**
   * libnetwork.New: claims the data directory (one controller at a time:
   * ConflictError EDATADIRLOCKED otherwise, until the holder stops or dies),
   * opens the store, restores what it holds, keeps the active sandboxes,
   * removes the rest.
   */
  static async start(options: ControllerOptions = {}): Promise<Controller> {
    return new Controller(await Core.start(options));
  }

  /** Completes deferred deletions and closes the store; kernel state and records stay for the next start. */
  stop(): Promise<void> { return this.#core.stop(); }

  /** Deletes left links now instead of within the reap delay. */
  flush(): Promise<void> { return this.#core.reaper.flush(); }

  get dataDir(): string { return this.#core.dataDir; }
  get runDir(): string { return this.#core.runDir; }
  /** The driver of networks created without one. */
  get defaultDriver(): string { return this.#core.defaultDriver; }
  /** This host's underlay address, the local VTEP of overlay networks (ControllerOptions.advertiseAddress). */
  get advertiseAddress(): string | undefined { return this.#core.advertiseAddress; }

  marks(): OwnershipMarks {
    const o = this.#core.ownership;
    return { tag: o.tag, liveGroup: o.live, deadGroup: o.dead, madeGroup: o.made, netnsPrefix: o.netnsPrefix };
  }

  /** Network driver types this controller serves. */
  driverTypes(): string[] { return [...this.#core.drivers.keys()]; }

  stats(): ControllerStats { return this.#core.stats(); }

  // ---- networks

  networks(): Network[] {
    return [...this.#core.nets.keys()].map((id) => new NetworkHandle(this.#core, id));
  }

  /** By full ID, exact name, or unique ID prefix (NotFoundError, AmbiguousError). */
  network(term: string): Network {
    return new NetworkHandle(this.#core, this.#core.findNetwork(term).id);
  }

  networkByName(name: string): Network | undefined {
    const n = [...this.#core.nets.values()].find((x) => x.name === name);
    return n ? new NetworkHandle(this.#core, n.id) : undefined;
  }

  async newNetwork(options: NetworkCreateOptions): Promise<Network> {
    return new NetworkHandle(this.#core, await this.#core.newNetwork(options));
  }

  // ---- overlay peers: remote endpoints of a network spanning hosts, fed by whoever knows the cluster

  /**
   * Programs a remote endpoint on an overlay network (by ID, name or unique
   * prefix), replacing what was programmed for the same endpointId and for
   * any other peer on its IP or MAC. NotFoundError for an unknown network,
   * InvalidInputError for a network whose driver takes no peers or for bad
   * fields (an IPv6 address, one outside the network's subnets, this host's
   * own VTEP), ConflictError for the address of a local endpoint.
   */
  addPeer(networkId: string, peer: OverlayPeer): Promise<void> { return this.#core.addPeer(networkId, peer); }

  /** Unprograms a remote endpoint; nothing to do if it is not programmed. */
  removePeer(networkId: string, endpointId: string): Promise<void> { return this.#core.removePeer(networkId, endpointId); }

  /** The peers programmed now: kept in memory, not persisted (a restarted controller is fed them again). */
  peers(networkId: string): OverlayPeer[] { return this.#core.peers(networkId); }

  // ---- sandboxes

  sandboxes(): Sandbox[] {
    return [...this.#core.sbs.keys()].map((id) => new SandboxHandle(this.#core, id));
  }

  sandbox(id: string): Sandbox | undefined {
    return this.#core.sbs.has(id) ? new SandboxHandle(this.#core, id) : undefined;
  }

  sandboxByContainer(containerId: string): Sandbox | undefined {
    const s = this.#core.sandboxByContainer(containerId);
    return s ? new SandboxHandle(this.#core, s.rec.id) : undefined;
  }

  /** A new namespace, or `netnsPath` adopted, or the host's with `useHostNamespace`. */
  async newSandbox(containerId: string, options: SandboxOptions = {}): Promise<Sandbox> {
    return new SandboxHandle(this.#core, await this.#core.newSandbox(containerId, options));
  }

  /** By sandbox ID or container ID; not an error if absent. */
  sandboxDestroy(idOrContainer: string): Promise<void> { return this.#core.sandboxDestroy(idOrContainer); }

  /**
   * Creates and joins many endpoints, across many sandboxes, with the kernel
   * work of all of them in one crossing (for runtimes starting a pod's
   * containers at once). Each request settles on its own, in order: a
   * refused or failed one leaves no endpoint behind and does not affect the
   * others.
   */
  async joinMany(requests: readonly JoinRequest[]): Promise<JoinResult[]> {
    const core = this.#core;
    const out = new Array<JoinResult>(requests.length);
    const items: JoinItem[] = [];
    const at: number[] = [];
    requests.forEach((r, i) => {
      try {
        const networkId = typeof r.network === 'string' ? core.findNetwork(r.network).id : r.network.id;
        items.push({ sbId: r.sandbox.id, create: { networkId, name: r.name, ...(r.options ? { options: r.options } : {}) } });
        at.push(i);
      } catch (error) {
        out[i] = { ok: false, error: error as Error };
      }
    });
    const joined = await core.joinMany(items);
    joined.forEach((r, k) => {
      out[at[k]!] = r.ok ? { ok: true, endpoint: new EndpointHandle(core, r.value) } : { ok: false, error: r.error };
    });
    return out;
  }

  /** An endpoint handle by ID (e.g. one listed in a sandbox's info). */
  endpoint(id: string): Endpoint | undefined {
    return this.#core.eps.has(id) ? new EndpointHandle(this.#core, id) : undefined;
  }
}

/**
 * For the daemon (the package does not export it): Controller.start, with
 * more active sandboxes chosen from the store's records once the data
 * directory is claimed, so nothing reads the store before the lock is held.
 */
export async function startController(options: ControllerOptions, activeFrom: (store: Store) => Iterable<string>): Promise<Controller> {
  return construct(await Core.start(options, activeFrom));
}
