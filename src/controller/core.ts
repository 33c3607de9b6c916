// The controller's core: libnetwork's model on the native layer and IPAM. It
// owns the drivers, IPAM, the store and the locking, and works on records;
// the public Controller (controller.ts) wraps it and hands out handles.
//
// Concurrency: JS runs one task at a time, so every check-and-reserve
// (names, addresses, interface names, the gateway role) happens synchronously
// before the first await. Joins and leaves of one sandbox are serialised by
// the sandbox's lock, so routes and interface numbering stay consistent.
import { join } from 'node:path';
import { hostNamespacePath, isOwnNamespace } from './host-namespace.js';
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError } from '../errors.js';
import { HEX_BYTE, randomHex, randomLocalMac } from '../random.js';
import { Ipam } from '../ipam/index.js';
import {
  addrList, linkSetOp, batchAll, sysctlGetOp, sysctlSetOp, netnsAddOp, netnsDelete, netnsOpen, netnsRelease, routeList, DEFAULT_RUN_DIR,
  batch, isKernelError, Lane, Netns, run, type LaneId, type Settled,
} from '../netlink/index.js';
import { BridgeDriver } from '../drivers/bridge.js';
import type { Driver, JoinTarget, RouteChange, RouteFamilies } from '../driver-api/driver.js';
import { holdsDefaultRoute } from '../driver-api/records.js';
import { NO_ROUTES } from '../driver-api/default-route.js';
import { gatewayOrder, type GatewayRank } from '../driver-api/gateway-order.js';
import { HostDriver } from '../drivers/host.js';
import { MacvlanDriver } from '../drivers/macvlan.js';
import { NullDriver } from '../drivers/null.js';
import { OverlayDriver } from '../drivers/overlay.js';
import { Store } from '../store/store.js';
import { claimDataDir, type DataDirClaim } from '../store/data-dir.js';
import { Firewall } from '../firewall/firewall.js';
import type { PortBinding } from '../firewall/ports.js';
import { fault } from '../driver-api/faults.js';
import { checkEndpointSysctls } from '../driver-api/endpoint-sysctls.js';
import { findUnique, newId } from './ids.js';
import { allocatePools, validateIpamConfig } from './ipam-config.js';
import { BridgeOption } from '../driver-api/options.js';
import { type Ownership } from '../driver-api/ownership.js';
import { loadOwnership } from './marks.js';
import { LinkReaper } from './reaper.js';
import { removeSandboxFiles, updateHosts, writeSandboxFiles } from './sandbox-files.js';
import { restoreController, type RestoreHost } from './restore.js';
import { applyConfigFrom, checkConfigOnly, checkConfigUnused } from './config-network.js';
import type { LiveSandbox } from './state.js';
import { JoinBatch } from './join-batch.js';
import { batchNumbered, continueBelow, nextNsid, refused } from './netns-ids.js';
import { NetnsPool } from './netns-pool.js';
import type { ControllerOptions, EndpointCreateOptions, NetworkCreateOptions } from './options.js';
import { EndpointTable } from './endpoint-table.js';
import type { EndpointRecord, NetworkRecord, OverlayPeer, SandboxOptions, SandboxRecord } from '../driver-api/records.js';
import { collect, withUndo, type Undo } from '../driver-api/undo.js';
import {
  checkInterfaceName, checkMac, checkNotReservedIfname, checkMtuOption, checkPortBindings, checkStringMap, checkText, IFACE_SUFFIX_ROOM, validateSandboxOptions,
} from '../driver-api/validate.js';
import { checkIfName, checkMtu } from '../netlink/validate.js';
import { NetworkGates } from './gates.js';
import { cidrContains, formatIP, parseIP, type IP } from '../ip/addr.js';

// Docker's rule is only "not blank"; nsnet also refuses control characters
// (a name is shown in tables, logs and, with embedded DNS, answers) and bounds
// the length. Names never reach a kernel name or a path.
const NAME_RE = /^(?=.*\S)[^\0-\x1f\x7f]{1,1024}$/su;

/** One join of a joinMany: the endpoint to create just before it, and the sandbox. */
export interface JoinItem {
  sbId: string;
  create: { networkId: string; name: string; options?: EndpointCreateOptions };
}

export class Core implements RestoreHost {
  readonly dataDir: string;
  readonly runDir: string;
  readonly defaultDriver: string;
  readonly mtu: number;
  /** This host's underlay address, the local VTEP of overlay networks. */
  readonly advertiseAddress: string | undefined;
  readonly store: Store;
  readonly ipam: Ipam;
  readonly ownership: Ownership;
  readonly reaper: LinkReaper;
  readonly drivers = new Map<string, Driver>();
  readonly firewall: Firewall;
  readonly nets = new Map<string, NetworkRecord>();
  readonly eps = new EndpointTable();
  readonly sbs = new Map<string, LiveSandbox>();
  private readonly reservedNames = new Set<string>();
  /** Per network: joins in flight and a delete in progress, so the two never interleave. */
  private readonly gates = new NetworkGates();
  private readonly claim: DataDirClaim;
  private stopped = false;
  /** Namespaces made ahead (ControllerOptions.netnsPool); undefined when not asked for. */
  readonly pool: NetnsPool | undefined;

  private constructor(opts: ControllerOptions, claim: DataDirClaim, store: Store, ownership: Ownership) {
    this.claim = claim;
    this.dataDir = claim.path;
    this.runDir = opts.runDir ?? DEFAULT_RUN_DIR;
    this.defaultDriver = opts.defaultDriver ?? 'bridge';
    this.mtu = checkMtu(opts.mtu ?? 1500);
    this.advertiseAddress = opts.advertiseAddress === undefined ? undefined : checkAdvertiseAddress(opts.advertiseAddress);
    this.ownership = ownership;
    this.reaper = new LinkReaper(this.ownership.dead, opts.reapDelayMs ?? 50);
    this.ipam = new Ipam(opts.defaultPools ? { localPools: opts.defaultPools } : {});
    // nftables unless `none` is chosen explicitly: a host without nft then
    // fails where a rule is needed, instead of quietly running without rules.
    // A bad mode throws here; start() then closes the store and releases the directory.
    this.firewall = new Firewall(this.ownership.tag, opts.firewall ?? 'nftables');
    this.store = store;
    const ctx = { ownership: this.ownership, graveyard: this.reaper, defaultMtu: this.mtu, firewall: this.firewall, advertiseAddress: this.advertiseAddress };
    // Overlay networks are bridges of the bridge driver with a VXLAN port.
    const bridge = new BridgeDriver(ctx, ['overlay']);
    for (const d of [new NullDriver(), new HostDriver(), bridge, new MacvlanDriver(), new OverlayDriver(ctx, bridge)]) this.drivers.set(d.type, d);
    const poolSize = opts.netnsPool ?? 0;
    if (!Number.isInteger(poolSize) || poolSize < 0 || poolSize > 4096)
      throw new InvalidInputError(`netnsPool must be an integer from 0 to 4096, not ${String(opts.netnsPool)}`);
    this.pool = poolSize ? new NetnsPool(poolSize, () => this.makeNetns(`p${randomHex(6)}`, Lane.Slow), (ns) => netnsDelete(ns)) : undefined;
  }

  /**
   * A namespace of this controller, ready for endpoints: interfaces start
   * without IPv6 (as Docker does for non-IPv6 networks; IPv6 endpoints turn
   * it on for their interface; a thousand sandboxes running link-local DAD,
   * router solicitations and MLD timers made the kernel slow and spiky), and
   * loopback up. The last request goes on the fast lane, which opens its
   * socket in the namespace now rather than in the first join.
   */
  private async makeNetns(suffix: string, lane: LaneId = Lane.Fast): Promise<Netns> {
    const ns = await run(netnsAddOp(`${this.ownership.netnsPrefix}${suffix}`, this.runDir), lane);
    try {
      await batchNumbered(ns, [sysctlSetOp('net/ipv6/conf/default/disable_ipv6', '1', ns), linkSetOp(ns, 'lo', { up: true })]);
    } catch (e) {
      await netnsDelete(ns).catch(() => undefined);
      throw e;
    }
    return ns;
  }

  /**
   * libnetwork.New: claim the data directory (refused with EDATADIRLOCKED
   * while another controller holds it), open the store, restore what it
   * holds, keep the active sandboxes. `activeFrom` lets the daemon pick them
   * from its own records in the store, once the directory is claimed.
   */
  static async start(opts: ControllerOptions = {}, activeFrom?: (store: Store) => Iterable<string>): Promise<Core> {
    // Nothing in the directory is touched before the lock is held.
    const claim = claimDataDir(opts.dataDir ?? '/var/lib/nsnet');
    let store: Store | undefined;
    let c: Core | undefined;
    try {
      store = new Store(claim.path);
      c = new Core(opts, claim, store, await loadOwnership(store, claim.path));
      await restoreController(c, new Set([...(opts.activeSandboxes ?? []), ...(activeFrom?.(store) ?? [])]));
      await continueBelow([...c.sbs.values()].flatMap((s) => (s.ns ? [s.ns] : [])));
      c.pool?.refill();
    } catch (e) {
      try { store?.close(); } catch { /* the first error is the one to report */ }
      claim.release();
      throw e;
    }
    return c;
  }

  /** Stops: completes deferred deletions, closes the store, releases the data directory. Kernel state and records stay for the next start. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.allSettled([...this.sbs.values()].map((s) => s.lock));
    await this.pool?.stop();
    // Until nothing is left: a link buried while a round ran waits for the next.
    for (let i = 0; i < 5; i++) {
      await this.reaper.flush().catch(() => undefined);
      if (!this.reaper.backlog) break;
    }
    // What a refused round left goes on the next start (the dead group is swept then).
    this.reaper.dispose();
    try {
      this.store.close();
    } finally {
      this.claim.release();
    }
  }

  // ---- networks -------------------------------------------------------------

  /** By full ID, exact name, or unique ID prefix. */
  findNetwork(term: string): NetworkRecord {
    return findUnique(this.nets.values(), term, 'network');
  }

  /** A network's record, or NotFoundError. */
  net(id: string): NetworkRecord {
    const r = this.nets.get(id);
    if (!r) throw new NotFoundError(`network ${id} not found`);
    return r;
  }

  ep(id: string): EndpointRecord {
    const r = this.eps.get(id);
    if (!r) throw new NotFoundError(`endpoint ${id} not found`);
    return r;
  }

  driver(type: string): Driver {
    const d = this.drivers.get(type);
    if (!d) throw new NotFoundError(`plugin "${type}" not found`);
    return d;
  }

  async newNetwork(o: NetworkCreateOptions): Promise<string> {
    if (typeof o.name !== 'string' || !NAME_RE.test(o.name))
      throw new InvalidInputError(`invalid network name ${JSON.stringify(o.name)}: it must match ${NAME_RE.source}`);
    if (o.id !== undefined && !/^[0-9a-f]{64}$/.test(o.id)) throw new InvalidInputError(`invalid network ID ${JSON.stringify(o.id)}: 64 hex digits`);
    checkStringMap('label', o.labels);
    checkStringMap('option', o.options);
    checkStringMap('IPAM option', o.ipam?.options);
    const prefix = o.options?.[BridgeOption.ContainerIfacePrefix];
    if (prefix) checkInterfaceName(`option ${BridgeOption.ContainerIfacePrefix}`, prefix, IFACE_SUFFIX_ROOM);
    checkMtuOption(o.options?.[BridgeOption.Mtu]);
    checkConfigOnly(o);
    o = applyConfigFrom(o, this.nets.values());
    // A config-only network is Docker's: type null, local, nothing made (the null driver makes nothing).
    const driverType = o.configOnly ? 'null' : o.driver || this.defaultDriver;
    const driver = this.driver(driverType);
    if (o.ipam?.driver && o.ipam.driver !== 'default') throw new NotFoundError(`plugin "${o.ipam.driver}" not found`);
    const config = o.ipam?.config ?? [];
    validateIpamConfig(config);
    if (this.reservedNames.has(o.name) || [...this.nets.values()].some((n) => n.name === o.name))
      throw new ConflictError(`network with name ${o.name} already exists`, 'ENETWORKEXISTS');
    const id = o.id ?? newId();
    if (this.nets.has(id)) throw new ConflictError(`network with id ${id} already exists`, 'ENETWORKEXISTS');
    const rec: NetworkRecord = {
      id,
      name: o.name,
      driver: driverType,
      scope: driver.scope,
      created: new Date().toISOString(),
      enableIPv4: o.enableIPv4 ?? true,
      enableIPv6: o.enableIPv6 ?? false,
      internal: o.internal ?? false,
      attachable: o.attachable ?? false,
      ingress: o.ingress ?? false,
      configOnly: o.configOnly ?? false,
      ...(o.configFrom !== undefined ? { configFrom: o.configFrom } : {}),
      labels: { ...(o.labels ?? {}) },
      options: { ...(o.options ?? {}) },
      ipam: { driver: 'default', options: { ...(o.ipam?.options ?? {}) }, config: config.map((c) => ({ ...c })) },
      pools4: [],
      pools6: [],
      driverState: {},
      ...(o.builtin ? { builtin: true } : {}),
    };
    if (!rec.configOnly) driver.validate(rec, [...this.nets.values()]);
    // Reserved synchronously: a concurrent create of the same name loses here.
    this.reservedNames.add(o.name);
    try {
      await withUndo(async (u) => {
        if (driver.needsAddresses) {
          const exclude = config.some((c) => c.Subnet && !c.Subnet.includes(':')) && (!rec.enableIPv6 || config.some((c) => c.Subnet?.includes(':')))
            ? [] : await this.hostPrefixes();
          if (rec.enableIPv4) rec.pools4 = allocatePools(this.ipam, rec, false, exclude, u, true);
          if (rec.enableIPv6) rec.pools6 = allocatePools(this.ipam, rec, true, exclude, u, true);
        }
        fault('network.create.driver');
        await driver.createNetwork(rec, u);
        fault('network.create.store');
        this.store.put('network', rec.id, rec);
        this.nets.set(rec.id, rec);
      });
    } finally {
      this.reservedNames.delete(o.name);
    }
    return rec.id;
  }

  /** The host's addresses and routes, which automatic pools must avoid. */
  private async hostPrefixes(): Promise<string[]> {
    const [addrs, routes4, routes6] = await Promise.all([addrList(undefined), routeList(undefined, 4), routeList(undefined, 6)]);
    const own = new Set([...this.nets.values()].flatMap((n) => [...n.pools4, ...n.pools6].map((p) => p.subnet)));
    const out = [
      ...addrs.filter((a) => a.scope === 0).map((a) => a.cidr),
      ...[...routes4, ...routes6].filter((r) => r.dst !== 'default').map((r) => r.dst),
    ];
    return out.filter((p) => !own.has(p) && !p.startsWith('fe80:'));
  }

  /**
   * From the moment it is called, the network takes no new endpoint or join
   * (they fail with NotFoundError); joins already in flight finish first,
   * and then the delete goes ahead only if no endpoint is left.
   */
  async deleteNetwork(id: string): Promise<void> {
    const rec = this.nets.get(id);
    if (!rec) throw new NotFoundError(`network ${id} not found`);
    const pending = this.gates.deleting(id);
    if (pending) {
      // Another delete is running: its outcome decides (gone, or still there and retried).
      await pending.catch(() => undefined);
      return this.deleteNetwork(id);
    }
    checkConfigUnused(rec, this.nets.values());
    const refuseIfActive = (): void => {
      if (!this.eps.inNetwork(id).next().done)
        throw new ForbiddenError(`error while removing network: network ${rec.name} id ${rec.id} has active endpoints`, 'EACTIVEENDPOINTS');
    };
    // Refused at once when endpoints exist, so the network is not closed to
    // new endpoints for as long as a join takes only to be refused anyway.
    refuseIfActive();
    await this.gates.close(id, async () => {
      refuseIfActive();
      await this.deleteNetworkNow(rec);
    });
  }

  private async deleteNetworkNow(rec: NetworkRecord): Promise<void> {
    const id = rec.id;
    await this.driver(rec.driver).deleteNetwork(rec);
    for (const p of [...rec.pools4, ...rec.pools6]) this.ipam.releasePool(p.poolId);
    this.store.tx(() => {
      this.store.delete('network', id);
      for (const p of [...rec.pools4, ...rec.pools6]) this.store.delete('cursor', p.poolId);
    });
    this.nets.delete(id);
  }

  // ---- overlay peers ----------------------------------------------------------

  /** A network whose driver takes peers, open (not being deleted). */
  private peerNetwork(term: string): { net: NetworkRecord; driver: Driver } {
    const net = this.findNetwork(term);
    if (this.gates.deleting(net.id)) throw new NotFoundError(`network ${term} not found`);
    const driver = this.driver(net.driver);
    if (!driver.peerAdd || !driver.peerDelete) throw new InvalidInputError(`network ${net.name} (driver ${net.driver}) takes no peers: only overlay networks do`);
    return { net, driver };
  }

  async addPeer(networkId: string, peer: OverlayPeer): Promise<void> {
    const { net, driver } = this.peerNetwork(networkId);
    // A local endpoint's address is this host's to answer for: the ARP proxy must not claim it for another host.
    const ip = (peer as { ip?: unknown } | null)?.ip;
    const local = [...this.eps.inNetwork(net.id)].find((e) => e.ipv4 !== undefined && e.ipv4.split('/')[0] === ip);
    if (local) throw new ConflictError(`peer ${String(peer.endpointId)}: ${String(ip)} is the address of local endpoint ${local.name} on network ${net.name}`);
    // Held like a join: a delete of the network waits for it.
    const release = this.gates.enter(net.id);
    try {
      await driver.peerAdd!(net, peer);
    } finally {
      release();
    }
  }

  async removePeer(networkId: string, endpointId: string): Promise<void> {
    const { net, driver } = this.peerNetwork(networkId);
    const peer = driver.peers?.(net).find((p) => p.endpointId === endpointId);
    if (!peer) return;
    const release = this.gates.enter(net.id);
    try {
      await driver.peerDelete!(net, peer);
    } finally {
      release();
    }
  }

  peers(networkId: string): OverlayPeer[] {
    const net = this.findNetwork(networkId);
    return this.driver(net.driver).peers?.(net) ?? [];
  }

  // ---- endpoints ------------------------------------------------------------

  /**
   * `record` false: the caller writes the record itself (joinMany: with the
   * join; a failed join deletes the endpoint again, so no record is lost).
   */
  createEndpoint(networkId: string, name: string, o: EndpointCreateOptions = {}, record = true): string {
    const net = this.nets.get(networkId);
    if (!net || this.gates.deleting(networkId)) throw new NotFoundError(`network ${networkId} not found`);
    checkEndpointName(name);
    if (net.configOnly) throw new ForbiddenError('cannot create endpoint on configuration-only network', 'ECONFIGNETWORK');
    if (o.aliases !== undefined && !Array.isArray(o.aliases)) throw new InvalidInputError('aliases must be a list');
    for (const a of o.aliases ?? []) checkText('alias', a);
    if (o.macAddress !== undefined) checkMac(o.macAddress);
    // Go's int64, as dockerd takes it: beyond 2^53 a JSON number is no longer exact, but it still orders the same.
    if (o.gwPriority !== undefined && !(Number.isInteger(o.gwPriority) && Math.abs(o.gwPriority) <= 2 ** 63))
      throw new InvalidInputError(`invalid gateway priority ${JSON.stringify(o.gwPriority) ?? String(o.gwPriority)}: an integer`);
    checkPortBindings(o.ports);
    const linkLocal = linkLocalCidrs(o.linkLocalIps, net);
    this.checkNameFree(net, name);
    const driver = this.driver(net.driver);
    const rec: EndpointRecord = { id: newId(), name, networkId, created: new Date().toISOString(), aliases: [...(o.aliases ?? [])] };
    if (o.ports?.length) rec.ports = o.ports.map((p) => ({ ...p }));
    if (linkLocal.length) rec.linkLocal = linkLocal;
    if (o.gwPriority) rec.gwPriority = o.gwPriority;
    if (o.sysctls !== undefined) {
      const sysctls = checkEndpointSysctls(o.sysctls);
      if (Object.keys(sysctls).length) rec.sysctls = sysctls;
    }
    driver.validateEndpoint?.(net, rec);
    if (o.ifname !== undefined) {
      rec.requestedIfname = checkIfName(o.ifname);
      checkNotReservedIfname('endpoint interface name', rec.requestedIfname, true);
    }
    const taken: [string, string][] = [];
    try {
      if (driver.needsAddresses) {
        let ip4: IP | undefined;
        if (net.enableIPv4 && net.pools4.length) {
          const a = this.allocate(net.pools4, o.ipv4Address, 4);
          taken.push([a.poolId, a.address]);
          rec.ipv4 = a.cidr;
          rec.poolId4 = a.poolId;
          ip4 = a.ip;
        } else if (o.ipv4Address) throw new InvalidInputError(`network ${net.name} has no IPv4 pool for address ${o.ipv4Address}`);
        if (net.enableIPv6 && net.pools6.length) {
          const a = this.allocate(net.pools6, o.ipv6Address, 6);
          taken.push([a.poolId, a.address]);
          rec.ipv6 = a.cidr;
          rec.poolId6 = a.poolId;
        } else if (o.ipv6Address) throw new InvalidInputError(`network ${net.name} is not IPv6-enabled: cannot use address ${o.ipv6Address}`);
        // IPv6-only: a random one, as libnetwork's bridge gives it, so inspect shows the address the interface has.
        rec.mac = o.macAddress ?? (ip4 ? macFromIPv4(ip4) : randomLocalMac());
      }
      fault('endpoint.create.store');
      this.store.tx(() => {
        if (record) this.store.put('endpoint', rec.id, rec);
        for (const [poolId] of taken) this.store.put('cursor', poolId, { poolId, cursor: this.ipam.cursor(poolId) });
      });
    } catch (e) {
      for (const [poolId, address] of taken) this.ipam.releaseAddress(poolId, address);
      throw e;
    }
    this.eps.set(rec.id, rec);
    return rec.id;
  }

  private allocate(pools: NetworkRecord['pools4'], requested: string | undefined, family: 4 | 6) {
    let pool = pools[0]!;
    if (requested) {
      const ip = parseIP(requested);
      if (ip.family !== family) throw new InvalidInputError(`invalid IPv${family} address ${requested}`);
      const hit = pools.find((p) => cidrContains(p.subnet, requested));
      if (!hit) throw new InvalidInputError(`invalid address ${requested}: it does not belong to any of this network's subnets`);
      pool = hit;
    }
    const a = this.ipam.requestAddress(pool.poolId, requested ? { address: formatIP(parseIP(requested)) } : { serial: true });
    return { poolId: pool.poolId, address: a.address, cidr: a.cidr, ip: a.ip };
  }

  /** An endpoint name is unique in its network (EENDPOINTEXISTS, 403 as Docker's). */
  private checkNameFree(net: NetworkRecord, name: string): void {
    if (this.eps.named(net.id, name))
      throw new ForbiddenError(`endpoint with name ${name} already exists in network ${net.name}`, 'EENDPOINTEXISTS');
  }

  /** Renames an endpoint (a container renamed): unique in its network, as at creation. */
  renameEndpoint(id: string, name: string): void {
    const ep = this.ep(id);
    checkEndpointName(name);
    if (name === ep.name) return;
    this.checkNameFree(this.net(ep.networkId), name);
    // Re-set under the new name, so the per-network name index follows.
    this.eps.set(id, { ...ep, name });
    this.store.put('endpoint', id, this.eps.get(id));
  }

  deleteEndpoint(id: string, force = false): Promise<void> {
    const ep = this.eps.get(id);
    if (!ep) return Promise.reject(new NotFoundError(`endpoint ${id} not found`));
    if (ep.sandboxId) {
      if (!force) return Promise.reject(new ForbiddenError(`endpoint ${ep.name} is still joined to a sandbox`, 'EENDPOINTINUSE'));
      return this.leave(id, ep.sandboxId).then(() => this.deleteEndpoint(id));
    }
    this.releaseEndpoint(ep);
    return Promise.resolve();
  }

  private releaseEndpoint(ep: EndpointRecord): void {
    if (ep.poolId4 && ep.ipv4) this.ipam.releaseAddress(ep.poolId4, ep.ipv4.split('/')[0]!);
    if (ep.poolId6 && ep.ipv6) this.ipam.releaseAddress(ep.poolId6, ep.ipv6.split('/')[0]!);
    this.store.delete('endpoint', ep.id);
    this.eps.delete(ep.id);
  }

  // ---- sandboxes ------------------------------------------------------------

  sandboxByContainer(containerId: string): LiveSandbox | undefined {
    return [...this.sbs.values()].find((x) => x.rec.containerId === containerId);
  }

  async newSandbox(containerId: string, opts: SandboxOptions = {}): Promise<string> {
    if (!containerId) throw new InvalidInputError('a sandbox needs a container ID');
    checkText('container ID', containerId);
    validateSandboxOptions(opts);
    const existing = this.sandboxByContainer(containerId);
    if (existing) throw new ForbiddenError(`container ${containerId} is already present in sandbox ${existing.rec.id}`, 'ESANDBOXEXISTS');
    if (opts.netnsPath && opts.useHostNamespace) throw new InvalidInputError('a sandbox cannot both adopt a namespace and use the host’s');
    const id = newId();
    const dir = join(this.dataDir, 'sandboxes', id);
    const rec: SandboxRecord = {
      id, containerId, created: new Date().toISOString(), key: '', ino: 0, owned: false, host: !!opts.useHostNamespace,
      options: { ...opts }, endpoints: [], dir,
    };
    // Reserve the container ID before the first await.
    const live: LiveSandbox = { rec, ns: undefined, lock: Promise.resolve(), ...(opts.runtimeManaged ? { unnumbered: true } : {}) };
    this.sbs.set(id, live);
    try {
      await withUndo(async (u) => {
        u.push('forget sandbox', () => this.sbs.delete(id));
        if (opts.useHostNamespace) {
          const host = await netnsOpen(hostNamespacePath());
          rec.key = host.path;
          rec.ino = host.ino;
        } else {
          let ns: Netns;
          if (opts.netnsPath) {
            ns = await netnsOpen(opts.netnsPath);
            u.push('release namespace', () => netnsRelease(ns));
            // Adopted as a container's, the host's namespace would get a container end and lose its default route.
            if (isOwnNamespace(ns.ino))
              throw new InvalidInputError(`${opts.netnsPath} is the host's network namespace (nsnet's own): a sandbox there is useHostNamespace`);
          } else {
            ns = this.pool?.take() ?? (await this.makeNetns(id.slice(0, 12)));
            rec.owned = true;
            u.push('delete namespace', () => netnsDelete(ns));
          }
          rec.key = ns.path;
          rec.ino = ns.ino;
          live.ns = ns;
          fault('sandbox.create.loopback');
          // An adopted namespace gets loopback up, unless a CNI runtime's
          // loopback plugin does that (runtimeManaged). Reading an IPv6
          // setting of an interface there has the fast lane keep the
          // namespace's IPv6 sysctl directory open: its joins' disable_ipv6
          // (driver-api/interface-ipv6.ts) then needs no namespace switch.
          if (!rec.owned && !opts.runtimeManaged) await batchNumbered(ns, [linkSetOp(ns, 'lo', { up: true }), sysctlGetOp('net/ipv6/conf/lo/disable_ipv6', ns)]);
        }
        u.push('remove sandbox files', () => removeSandboxFiles(dir));
        if (!opts.runtimeManaged) writeSandboxFiles(dir, opts, []);
        fault('sandbox.create.store');
        this.store.put('sandbox', id, rec);
      });
    } catch (e) {
      this.sbs.delete(id);
      throw e;
    }
    return id;
  }

  live(id: string): LiveSandbox {
    const s = this.sbs.get(id);
    if (!s) throw new NotFoundError(`sandbox ${id} not found`);
    return s;
  }

  /** Serialises work on one sandbox. */
  private locked<T>(s: LiveSandbox, fn: () => Promise<T>): Promise<T> {
    const next = s.lock.then(fn, fn);
    s.lock = next.catch(() => undefined);
    return next;
  }

  /**
   * Removes a sandbox by sandbox ID or container ID: leaves and deletes its
   * endpoints and deletes the namespace it created. Not an error if absent.
   */
  async sandboxDestroy(idOrContainer: string): Promise<void> {
    const s = this.sbs.get(idOrContainer) ?? [...this.sbs.values()].find((x) => x.rec.containerId === idOrContainer);
    if (!s) return;
    await this.locked(s, () => this.destroyLocked(s));
  }

  /** Also used by restore for stale sandboxes whose namespace may be gone. */
  async destroyLocked(s: LiveSandbox): Promise<void> {
    const rec = s.rec;
    const eps = rec.endpoints.map((id) => this.eps.get(id)).filter((e): e is EndpointRecord => !!e);
    const steps: (() => Promise<unknown> | unknown)[] = [];
    // The drivers detach each endpoint; when the namespace is nsnet's and goes
    // with the sandbox, they only cut what its deletion will not.
    for (const ep of eps) {
      const net = this.nets.get(ep.networkId);
      if (net) steps.push(() => this.driver(net.driver).leave(net, ep, this.target(s, false), rec.owned));
    }
    if (rec.owned) {
      steps.push(() => netnsDelete(new Netns(rec.key, rec.ino)).catch((e: unknown) => {
        if (!(isKernelError(e) && (e.code === 'ENOENT' || e.code === 'EINVAL'))) throw e;
      }));
    } else if (s.ns) {
      steps.push(() => netnsRelease(s.ns!));
    }
    for (const ep of eps) {
      steps.push(() => {
        const freed = this.clearJoin(ep);
        this.releaseEndpoint(ep);
        if (freed) this.firewall.releasePorts(ep.id, freed);
      });
    }
    steps.push(() => removeSandboxFiles(rec.dir));
    steps.push(() => this.store.delete('sandbox', rec.id));
    steps.push(() => this.sbs.delete(rec.id));
    await collect(`destroy sandbox ${rec.id.slice(0, 12)}`, steps);
  }

  private target(s: LiveSandbox, gateway: RouteFamilies | false): JoinTarget {
    return { sandbox: s.rec, ns: s.ns, gateway };
  }

  private joinedCount(networkId: string): number {
    let n = 0;
    for (const e of this.eps.inNetwork(networkId)) if (e.sandboxId) n++;
    return n;
  }

  private ifnameFor(s: LiveSandbox, net: NetworkRecord): string {
    const prefix = net.options[BridgeOption.ContainerIfacePrefix] || 'eth';
    const used = new Set(s.rec.endpoints.map((id) => this.eps.get(id)?.ifname));
    for (let i = 0; ; i++) {
      const name = `${prefix}${i}`;
      if (!used.has(name)) return name;
    }
  }

  /** One join: joinMany's work without its batch (one crossing of its own). */
  join(epId: string, sbId: string): Promise<void> {
    const ep = this.eps.get(epId);
    if (!ep) return Promise.reject(new NotFoundError(`endpoint ${epId} not found`));
    const s = this.sbs.get(sbId);
    if (!s) return Promise.reject(new NotFoundError(`sandbox ${sbId} not found`));
    let release: () => void;
    try {
      // Held from the call on, as joinMany's.
      release = this.gates.enter(ep.networkId);
    } catch (e) {
      return Promise.reject(e);
    }
    const done = this.locked(s, () => this.joinLocked(ep, s, sbId));
    done.then(release, release);
    return done;
  }

  /**
   * Joins many endpoints, across many sandboxes, with their kernel work in
   * one crossing; each settles on its own (a failed one is undone alone)
   * with the endpoint's ID. Each endpoint is created just before its own
   * join (after the batch's sandboxes are locked), and deleted again if its
   * join fails.
   * Every sandbox involved is locked for the whole batch; the locks are
   * queued for all of them at once, synchronously, so two batches can never
   * wait on each other in a cycle.
   */
  async joinMany(items: readonly JoinItem[]): Promise<Settled<string>[]> {
    // Every slot is filled below (refused here, or settled by its join); an
    // Error made in advance would cost a stack capture per join.
    const out = new Array<Settled<string>>(items.length);
    const ready: { i: number; item: JoinItem; made?: string; s: LiveSandbox; release: () => void }[] = [];
    items.forEach((item, i) => {
      const s = this.sbs.get(item.sbId);
      try {
        if (!s) throw new NotFoundError(`sandbox ${item.sbId} not found`);
        // Held from the call on, not from when the sandbox's lock is taken:
        // a network delete that starts meanwhile waits for this join.
        ready.push({ i, item, s, release: this.gates.enter(item.create.networkId) });
      } catch (error) {
        out[i] = { ok: false, error: error as Error };
      }
    });
    if (!ready.length) return out;
    let unlock!: () => void;
    const held = new Promise<void>((r) => { unlock = r; });
    const before = [...new Set(ready.map((x) => x.s))].map((s) => {
      const prev = s.lock;
      s.lock = held;
      return prev;
    });
    try {
      await Promise.all(before);
      const kernel = new JoinBatch();
      const runs = ready.map((x): Promise<Settled<string>> => {
        const { networkId, name, options } = x.item.create;
        let id: string;
        try {
          id = x.made = this.createEndpoint(networkId, name, options, false);
        } catch (error) {
          return Promise.resolve({ ok: false, error: error as Error });
        }
        return this.joinLocked(this.eps.get(id)!, x.s, x.item.sbId, kernel).then(
          (): Settled<string> => ({ ok: true, value: id }),
          (error: unknown): Settled<string> => ({ ok: false, error: error as Error }),
        );
      });
      await kernel.send();
      const settled = await Promise.all(runs);
      ready.forEach((x, k) => { out[x.i] = settled[k]!; });
      // A later endpoint of the batch may outrank the one that took the default route.
      for (const s of new Set(ready.filter((x, k) => settled[k]!.ok).map((x) => x.s))) {
        const moved = await this.electGateway(s);
        if (moved.length) this.store.tx(() => { for (const m of moved) this.store.put('endpoint', m.id, m); });
      }
    } finally {
      unlock();
      for (const x of ready) x.release();
    }
    // Made here for a join that failed: nothing is left of it.
    await Promise.all(ready.filter((x) => x.made && !out[x.i]!.ok).map((x) => this.deleteEndpoint(x.made!).catch(() => undefined)));
    return out;
  }

  /**
   * Everything up to the driver's requests happens synchronously, so the
   * joins of one batch see each other's choices (interface names, the
   * gateway role, bridge ports) before any of them waits.
   */
  private async joinLocked(ep: EndpointRecord, s: LiveSandbox, sbId: string, kernel?: JoinBatch): Promise<void> {
    // The endpoint may have been deleted while this join waited for the sandbox.
    if (this.eps.get(ep.id) !== ep) throw new NotFoundError(`endpoint ${ep.id} not found`);
    const net = this.nets.get(ep.networkId);
    if (!net) throw new NotFoundError(`network ${ep.networkId} not found`);
    if (ep.sandboxId) throw new ForbiddenError(`endpoint ${ep.name} is already joined to a sandbox`, 'EENDPOINTINUSE');
    if (!this.sbs.has(sbId)) throw new NotFoundError(`sandbox ${sbId} not found`);
    if (s.rec.host !== (net.driver === 'host'))
      throw new ForbiddenError('container cannot be disconnected from host network or connected to host network', 'EHOSTMODE');
    const driver = this.driver(net.driver);
    const joined = this.joinedCount(net.id);
    driver.checkJoin(net, joined);
    // An endpoint takes each default route nobody holds yet in its own
    // crossing; one that outranks a holder takes that route over after.
    const held = this.heldBySandbox(s);
    const can = this.routeFamilies(ep, net);
    const take: RouteFamilies = { v4: can.v4 && !held.v4, v6: can.v6 && !held.v6 };
    const isGw = take.v4 || take.v6;
    const ifname = ep.requestedIfname ?? this.ifnameFor(s, net);
    if (s.rec.endpoints.some((id) => this.eps.get(id)?.ifname === ifname))
      throw new ConflictError(`interface ${ifname} already exists in sandbox ${s.rec.id.slice(0, 12)}`);
    await withUndo(async (u) => {
      ep.ifname = ifname;
      ep.sandboxId = s.rec.id;
      if (isGw) this.setHeld(ep, take);
      u.push('clear join state', () => this.clearJoin(ep));
      s.rec.endpoints.push(ep.id);
      u.push('unlist endpoint', () => { s.rec.endpoints = s.rec.endpoints.filter((x) => x !== ep.id); });
      const target = this.target(s, isGw ? take : false);
      const plan = driver.joinPlan?.(net, ep, target, u, joined);
      if (plan) {
        // Numbered before the veth, so the veth's notifications find the namespace at once (netns-ids.ts).
        const numbering = s.unnumbered && s.ns ? nextNsid(s.ns) : undefined;
        s.unnumbered = false;
        const ops = numbering ? [numbering.op, ...plan.ops] : plan.ops;
        const answers = await (kernel ? kernel.add(ops) : batch(ops));
        if (numbering) {
          const id = answers.shift();
          if (id && !id.ok) refused(numbering.nsid, id.error);
        }
        await plan.finish(answers);
      }
      else await driver.join(net, ep, target, u, joined);
      // Before the records are written, so the gateway's move is committed
      // with the join (joinMany elects once per sandbox, after its batch).
      // Also when nothing was held: an endpoint that could hold a route but
      // does not (its add was refused by a route of the container's own,
      // since removed) may outrank this one. A sandbox's only endpoint took
      // every route it can in its join: nothing to elect.
      const moved = (can.v4 || can.v6) && !kernel && s.rec.endpoints.length > 1 ? await this.electGateway(s, u) : [];
      fault('endpoint.join.store');
      this.store.tx(() => {
        this.store.put('endpoint', ep.id, ep);
        for (const m of moved) this.store.put('endpoint', m.id, m);
        // With the endpoint, always: a commit between the two (the store's
        // timer fires whenever the loop turns) would record a joined
        // endpoint its sandbox does not list.
        this.store.put('sandbox', s.rec.id, s.rec);
      });
    });
    this.refreshHosts(s);
  }

  /**
   * Replaces an endpoint's published ports. Joined: the old mappings go
   * first (the new set may reuse their host ports), then the new ones are
   * published; if that fails, the old ones are published again.
   */
  async setPorts(epId: string, ports: PortBinding[]): Promise<void> {
    const ep = this.ep(epId);
    checkPortBindings(ports);
    const net = this.net(ep.networkId);
    const driver = this.driver(net.driver);
    const want = ports.map((p) => ({ ...p }));
    if (want.length) driver.validateEndpoint?.(net, { ...ep, ports: want });
    const record = (list: PortBinding[] | undefined) => { if (list?.length) ep.ports = list; else delete ep.ports; };
    const s = ep.sandboxId ? this.sbs.get(ep.sandboxId) : undefined;
    if (!s) {
      record(want);
      this.store.put('endpoint', ep.id, ep);
      return;
    }
    return this.locked(s, async () => {
      if (this.eps.get(ep.id) !== ep || !ep.sandboxId) throw new NotFoundError(`endpoint ${epId} not found`);
      if (want.length && !driver.publishPorts)
        throw new InvalidInputError(`network ${net.name} (driver ${net.driver}) does not publish ports`);
      const before = ep.ports;
      const held = ep.published ?? [];
      // Rules off now; the host ports are freed once the record without them is queued, as a leave frees them.
      await this.firewall.unprogram(ep.id, held);
      delete ep.published;
      record(want);
      this.store.put('endpoint', ep.id, ep);
      this.firewall.releasePorts(ep.id, held);
      try {
        if (want.length) await withUndo((u) => driver.publishPorts!(net, ep, u));
      } catch (e) {
        record(before);
        if (before?.length) await withUndo((u) => driver.publishPorts!(net, ep, u)).catch(() => undefined);
        this.store.put('endpoint', ep.id, ep);
        throw e;
      }
      this.store.put('endpoint', ep.id, ep);
    });
  }

  /** Whether an endpoint on this network can hold the sandbox's default route. */
  private canBeGateway(net: NetworkRecord): boolean {
    return this.driver(net.driver).needsAddresses && !net.internal;
  }

  /**
   * The default routes an endpoint can hold: those its network has a
   * gateway for and it has an address of (libnetwork's
   * hasGatewayOrDefaultRoute); none on a network that cannot be a gateway.
   */
  private routeFamilies(ep: EndpointRecord, net: NetworkRecord | undefined): RouteFamilies {
    if (!net || !this.canBeGateway(net)) return NO_ROUTES;
    return { v4: !!(ep.ipv4 && net.pools4[0]?.gateway), v6: !!(ep.ipv6 && net.pools6[0]?.gateway) };
  }

  /** The default routes an endpoint holds now. */
  private heldRoutes(ep: EndpointRecord): RouteFamilies {
    const can = this.routeFamilies(ep, this.nets.get(ep.networkId));
    return { v4: can.v4 && holdsDefaultRoute(ep, 4), v6: can.v6 && holdsDefaultRoute(ep, 6) };
  }

  private heldBySandbox(s: LiveSandbox): RouteFamilies {
    const out = { v4: false, v6: false };
    for (const id of s.rec.endpoints) {
      const ep = this.eps.get(id);
      if (!ep?.gateway) continue;
      const h = this.heldRoutes(ep);
      out.v4 ||= h.v4;
      out.v6 ||= h.v6;
    }
    return out;
  }

  /** Records whether an endpoint holds one family's default route, its other family's as it was. */
  private markRoute(ep: EndpointRecord, key: keyof RouteFamilies, on: boolean): void {
    this.setHeld(ep, { ...this.heldRoutes(ep), [key]: on });
  }

  /** Moves one family's default route onto `ep` (a replace) and records that it holds it. */
  private async takeRoute(s: LiveSandbox, ep: EndpointRecord, key: keyof RouteFamilies, change: RouteChange = 'replace'): Promise<void> {
    const net = this.nets.get(ep.networkId)!;
    await this.driver(net.driver).setGateway(net, ep, this.target(s, { ...NO_ROUTES, [key]: true }), change);
    this.markRoute(ep, key, change !== 'remove');
  }

  /** Records which default routes an endpoint holds (of those it can). */
  private setHeld(ep: EndpointRecord, held: RouteFamilies): void {
    const can = this.routeFamilies(ep, this.nets.get(ep.networkId));
    const [v4, v6] = [held.v4 && can.v4, held.v6 && can.v6];
    if (!v4 && !v6) {
      delete ep.gateway;
      delete ep.gatewayFamilies;
      return;
    }
    ep.gateway = true;
    if (v4 === can.v4 && v6 === can.v6) delete ep.gatewayFamilies;
    else ep.gatewayFamilies = v4 ? [4] : [6];
  }

  /**
   * libnetwork's gateway election, one endpoint per address family: in the
   * order of Endpoint.Less (driver-api/gateway-order.ts: the highest
   * gwPriority, then gateways of both families before one, then the
   * network name), each family goes to the first endpoint that can hold it,
   * and the first dual-stack endpoint takes whatever is still unassigned and
   * ends the search. Docker runs it after every connect and disconnect.
   */
  private electedRoutes(s: LiveSandbox): { ep4?: EndpointRecord; ep6?: EndpointRecord } {
    const cands: { ep: EndpointRecord; can: RouteFamilies; rank: GatewayRank }[] = [];
    for (const id of s.rec.endpoints) {
      const ep = this.eps.get(id);
      const net = ep && this.nets.get(ep.networkId);
      if (!ep || !net) continue;
      const can = this.routeFamilies(ep, net);
      // Endpoints without a route of their own (internal networks among them) never hold one.
      if (can.v4 || can.v6) cands.push({ ep, can, rank: { priority: ep.gwPriority ?? 0, internal: false, families: Number(can.v4) + Number(can.v6), name: net.name } });
    }
    cands.sort((a, b) => gatewayOrder(a.rank, b.rank));
    let ep4: EndpointRecord | undefined;
    let ep6: EndpointRecord | undefined;
    for (const c of cands) {
      if (c.can.v4 && c.can.v6) {
        ep4 ??= c.ep;
        ep6 ??= c.ep;
        break;
      }
      if (c.can.v4) ep4 ??= c.ep;
      if (c.can.v6) ep6 ??= c.ep;
    }
    return { ep4, ep6 };
  }

  /**
   * Moves each family's default route to its elected endpoint if another
   * holds it; returns the records it changed, for the caller to store. The
   * new route replaces the old one in one request, so a failure leaves that
   * route, and its role, where they were; the join it follows stands.
   * `undo` (a join's) gives the routes back if that join is undone.
   */
  private async electGateway(s: LiveSandbox, undo?: Undo): Promise<EndpointRecord[]> {
    const won = this.electedRoutes(s);
    const changed = new Set<EndpointRecord>();
    for (const [key, best] of [['v4', won.ep4], ['v6', won.ep6]] as const) {
      const cur = s.rec.endpoints.map((id) => this.eps.get(id)).find((e) => e?.gateway && this.heldRoutes(e)[key]);
      if (!best || best === cur) continue;
      try {
        // Held by none of the sandbox's endpoints (the one that was to take
        // it failed to join): added, not replaced. A default route of the
        // same metric already there is then one nsnet did not set (the
        // container's own): a join fails rather than replace it, and so
        // does this.
        await this.takeRoute(s, best, key, cur ? 'replace' : 'add');
      } catch {
        continue;
      }
      // The replace took the route off the old holder, which keeps any other family's.
      if (cur) this.markRoute(cur, key, false);
      for (const e of [best, cur]) if (e) changed.add(e);
      undo?.push(`give the IPv${key === 'v4' ? 4 : 6} default route back`, () =>
        cur ? this.takeRoute(s, cur, key).then(() => this.markRoute(best, key, false)) : this.takeRoute(s, best, key, 'remove'));
    }
    return [...changed];
  }

  /** Forgets the endpoint's join; returns the ports it published, which the caller frees once the change is recorded. */
  private clearJoin(ep: EndpointRecord): EndpointRecord['published'] {
    const published = ep.published;
    delete ep.published;
    delete ep.sandboxId;
    delete ep.ifname;
    delete ep.peerIndex;
    delete ep.hostIfname;
    delete ep.hostMac;
    delete ep.gateway;
    delete ep.gatewayFamilies;
    return published;
  }

  private refreshHosts(s: LiveSandbox): void {
    // Only the hostname lines depend on the addresses.
    if (s.rec.host || !s.rec.options.hostname) return;
    const addrs = s.rec.endpoints.map((id) => this.eps.get(id)?.ipv4?.split('/')[0]).filter((a): a is string => !!a);
    try { updateHosts(s.rec.dir, s.rec.options, addrs); } catch { /* the directory was removed under us: not fatal */ }
  }

  leave(epId: string, sbId: string): Promise<void> {
    const ep = this.eps.get(epId);
    if (!ep) return Promise.reject(new NotFoundError(`endpoint ${epId} not found`));
    const s = this.sbs.get(sbId);
    if (!s) return Promise.reject(new NotFoundError(`sandbox ${sbId} not found`));
    return this.locked(s, async () => {
      if (ep.sandboxId !== sbId) throw new ForbiddenError(`endpoint ${ep.name} is not joined to sandbox ${sbId.slice(0, 12)}`, 'ENOTJOINED');
      const net = this.nets.get(ep.networkId)!;
      const driver = this.driver(net.driver);
      await driver.leave(net, ep, this.target(s, false), false);
      const was = this.heldRoutes(ep);
      const freed = this.clearJoin(ep);
      try {
        s.rec.endpoints = s.rec.endpoints.filter((x) => x !== ep.id);
        // Each route it held goes to that family's next elected endpoint.
        const next = new Set<EndpointRecord>();
        const won = this.electedRoutes(s);
        for (const [key, to] of [['v4', won.ep4], ['v6', won.ep6]] as const) {
          if (!was[key] || !to || this.heldRoutes(to)[key]) continue;
          // The leaver's route went with its link: an add, which a default
          // route the container set meanwhile refuses, and keeps. The leave
          // stands either way; the next join elects again.
          try {
            await this.takeRoute(s, to, key, 'add');
          } catch {
            continue;
          }
          next.add(to);
        }
        this.store.tx(() => {
          this.store.put('endpoint', ep.id, ep);
          for (const n of next) this.store.put('endpoint', n.id, n);
          this.store.put('sandbox', s.rec.id, s.rec);
        });
      } finally {
        // Only now, with the record that gives them up queued ahead of any
        // that takes them (or, if the leave failed after the endpoint let go
        // of them, at once: a port nobody lists must not stay held).
        if (freed) this.firewall.releasePorts(ep.id, freed);
      }
      this.refreshHosts(s);
    });
  }

  /** Counts for diagnostics and leak checks. */
  stats(): { networks: number; endpoints: number; sandboxes: number; deferredDeletes: number; pooledNamespaces: number } {
    return {
      networks: this.nets.size, endpoints: this.eps.size, sandboxes: this.sbs.size, deferredDeletes: this.reaper.backlog,
      pooledNamespaces: this.pool?.available ?? 0,
    };
  }
}


/** An advertise address: an IPv4 address (VXLAN's local VTEP here is IPv4). */
function checkAdvertiseAddress(a: unknown): string {
  if (typeof a !== 'string') throw new InvalidInputError(`invalid advertiseAddress ${JSON.stringify(a) ?? String(a)}: an IPv4 address`);
  let ip;
  try {
    ip = parseIP(a);
  } catch {
    throw new InvalidInputError(`invalid advertiseAddress ${JSON.stringify(a)}: an IPv4 address`);
  }
  if (ip.family !== 4) throw new InvalidInputError(`invalid advertiseAddress ${a}: an IPv4 address (overlay VTEPs are IPv4)`);
  return formatIP(ip);
}

/** Endpoint names: not empty, printable (as at creation and rename). */
function checkEndpointName(name: string): void {
  if (!name) throw new InvalidInputError('endpoint name must not be empty');
  checkText('endpoint name', name);
}

/** --link-local-ip addresses as the interface takes them (libnetwork's /16 and /64); each checked, IPv6 ones only where the endpoint has IPv6. */
function linkLocalCidrs(ips: unknown, net: NetworkRecord): string[] {
  if (ips === undefined) return [];
  if (!Array.isArray(ips)) throw new InvalidInputError('link-local IPs must be a list');
  const cidrs = ips.map((a: unknown) => {
    let ip;
    try { ip = parseIP(a as string); } catch { throw new InvalidInputError(`invalid link-local IP address: ${String(a)}`); }
    if (ip.family === 6 && !(net.enableIPv6 && net.pools6.length))
      throw new InvalidInputError(`link-local IPv6 address ${String(a)} needs an IPv6-enabled network: ${net.name} is not`);
    return `${formatIP(ip)}/${ip.family === 4 ? 16 : 64}`;
  });
  const twice = cidrs.find((x, i) => cidrs.indexOf(x) !== i);
  if (twice) throw new InvalidInputError(`link-local IP address ${twice.split('/')[0]!} given twice`);
  return cidrs;
}

/** Docker's MAC: 02:42 followed by the IPv4 address. */
export function macFromIPv4(ip: IP): string {
  const v = Number(ip.value);
  return `02:42:${HEX_BYTE[v >>> 24]}:${HEX_BYTE[(v >>> 16) & 255]}:${HEX_BYTE[(v >>> 8) & 255]}:${HEX_BYTE[v & 255]}`;
}

