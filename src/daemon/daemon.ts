// The daemon layer: the seed's container network lifecycle on top of the
// controller. The caller runs the processes; nsnet gives each container its
// sandbox, endpoints and records, persisted across restarts.
import { Controller, type Network } from '../controller/controller.js';
import { internals } from '../controller/internals.js';
import { dnsNames, findUnique, newId } from '../controller/ids.js';
import { holdsDefaultRoute, type SandboxOptions, type SandboxRecord } from '../driver-api/records.js';
import { validateSandboxOptions } from '../driver-api/validate.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors.js';
import { cidrContains, parseIP } from '../ip/addr.js';
import type { DaemonConfig } from './config.js';
import { checkContainerMode, checkHostGatewayIps, extraHosts, publishedPorts } from './container-settings.js';
import {
  errAlreadyConnected, errAlreadyPaused, errInvalid, errNotPaused, errNameInUse, errNoSuchContainer, errNotConnected, errNotRunning, errRunningRemove, errSharedNetwork,
  errConflictNoNetwork,
} from './errors.js';
import { initNetworkController } from './init.js';
import { fromDockerPortBindings, type PortBinding } from '../firewall/ports.js';
import type { PortMapping } from '../firewall/ruleset.js';
import { emptyEndpointSettings, type ContainerRecord, type EndpointSettings } from './types.js';
import { ForbiddenError } from '../errors.js';
import { EmbeddedDns, type DnsEndpoint, type DnsNetwork, type DnsSnapshot } from '../dns/index.js';
import { updateResolvConf } from '../controller/sandbox-files.js';
import { ExecManager } from './exec.js';
import { Cluster, checkClusterOptions, type ClusterOptions } from '../cluster/cluster.js';
import { isGlobal } from '../cluster/agent.js';
import { errNoClusterStore } from '../cluster/errors.js';
import { EventLog } from './events.js';
import { createNetwork, pruneNetworks, removeNetwork, type NetworkCreateRequest } from './networks.js';
import { pruneLabelsMatch, type Filters } from './filters.js';
import { parseUntil } from './until.js';
import { parseSignal, terminates } from './signals.js';
import { ENDPOINT_SYSCTLS, parseEndpointSysctls } from '../driver-api/endpoint-sysctls.js';
import { checkInterfaceName } from '../driver-api/validate.js';
import { BridgeOption, parseBool } from '../driver-api/options.js';

/** Docker 28's driver option naming the container's interface. */
const ENDPOINT_IFNAME = 'com.docker.network.endpoint.ifname';

export interface ContainerCreateRequest {
  Hostname?: string;
  Domainname?: string;
  Image?: string;
  Cmd?: string[] | string | null;
  Labels?: Record<string, string> | null;
  ExposedPorts?: Record<string, object> | null;
  HostConfig?: Partial<ContainerRecord['HostConfig']> | null;
  NetworkingConfig?: { EndpointsConfig?: Record<string, Partial<EndpointSettings> | null> | null } | null;
  [k: string]: unknown;
}

const NAME_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const SIGTERM = 15;
const SIGKILL = 9;

/** dockerd's container wait conditions. */
export const WAIT_CONDITIONS = ['not-running', 'next-exit', 'removed'] as const;
export type WaitCondition = (typeof WAIT_CONDITIONS)[number];
const now = () => new Date().toISOString();
let lastCreated = { ms: '', seq: 0 };
/**
 * A container's Created: RFC 3339 with nine fraction digits, as dockerd's,
 * and strictly increasing, so containers made in the same millisecond keep
 * their order (docker ps before/since) when listed from the store again.
 */
function createdNow(): string {
  const ms = new Date().toISOString().slice(0, 23);
  lastCreated = ms > lastCreated.ms ? { ms, seq: 0 } : { ms: lastCreated.ms, seq: lastCreated.seq + 1 };
  return `${lastCreated.ms}${String(lastCreated.seq).padStart(6, '0')}Z`;
}

/** A Created of either form (three or nine fraction digits) as nine, so strings compare in time order. */
const createdKey = (c: string): string => (/\.\d{3}Z$/.test(c) ? `${c.slice(0, -1)}000000Z` : c);

/** Two containers in creation order (Array.prototype.sort's comparator). */
export function compareCreated(a: { Created: string }, b: { Created: string }): number {
  const [x, y] = [createdKey(a.Created), createdKey(b.Created)];
  return x < y ? -1 : x > y ? 1 : 0;
}

/** After a restart: new containers come after the newest kept one, even if the clock stepped back. */
function seedCreated(newest: string): void {
  const k = createdKey(newest);
  const ms = k.slice(0, 23);
  const seq = Number(k.slice(23, 29)) || 0;
  if (ms > lastCreated.ms || (ms === lastCreated.ms && seq > lastCreated.seq)) lastCreated = { ms, seq };
}
const ZERO_TIME = '0001-01-01T00:00:00Z';

export class Daemon {
  readonly containers = new Map<string, ContainerRecord>();
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Embedded DNS of the user-defined networks (src/dns). */
  readonly dns: EmbeddedDns;
  /** The cluster this host is a member of (--cluster-store), for global networks. */
  cluster: Cluster | undefined;
  /** Docker's event stream (GET /events), also what `wait` waits on. */
  readonly events = new EventLog();
  /** `docker exec` instances (networking-only: see exec.ts). */
  readonly execs = new ExecManager((term) => {
    const r = this.container(term);
    const sb = r.NetworkSettings.SandboxID ? this.controller.sandbox(r.NetworkSettings.SandboxID)?.info() : undefined;
    return {
      id: r.Id, running: r.State.Running && !!r.NetworkSettings.SandboxKey, paused: r.State.Paused, sandboxKey: r.NetworkSettings.SandboxKey,
      filesDir: sb && !sb.host ? sb.dir : '', hostname: r.Config.Hostname,
    };
  }, (id, action, attrs) => {
    const r = this.containers.get(id);
    if (r) this.containerEvent(r, action, attrs);
  });

  private constructor(readonly config: DaemonConfig, readonly controller: Controller) {
    this.dns = new EmbeddedDns(() => this.dnsSnapshot(), {
      ...(config.dns?.length ? { upstreams: config.dns } : {}),
      ...(config.dnsPort ? { port: config.dnsPort } : {}),
    });
  }

  /** Restores containers, keeps running ones' sandboxes (live restore), starts the controller. */
  static async start(config: DaemonConfig): Promise<Daemon> {
    checkHostGatewayIps(config.hostGatewayIps ?? []);
    const cluster = clusterOptions(config);
    if (cluster) checkClusterOptions(cluster); // a bad flag fails before anything is touched
    let saved: ContainerRecord[] = [];
    const controller = await initNetworkController(config, (store) => {
      saved = store.all<ContainerRecord>('container');
      const active = saved.filter((r) => r.State.Running && !r.HostConfig.NetworkMode.startsWith('container:')).map((r) => r.Id);
      // CNI attachments (container IDs `cni:…`) live as long as the runtime's namespace; restore checks its inode.
      active.push(...store.all<SandboxRecord>('sandbox').filter((s) => s.containerId.startsWith('cni:')).map((s) => s.id));
      return active;
    });
    const d = new Daemon(config, controller);
    // In creation order, as they were made (the store returns them by ID): docker ps's before/since go by it.
    saved.sort(compareCreated);
    for (const r of saved) {
      d.containers.set(r.Id, r);
      // A never-started container of an older record: the MAC it has is the one asked for.
      if (r.State.Status === 'created') for (const s of Object.values(r.NetworkSettings.Networks)) s.DesiredMacAddress ??= s.MacAddress;
    }
    if (saved.length) seedCreated(saved.at(-1)!.Created);
    // Containers whose sandbox did not survive are no longer running.
    for (const r of saved) {
      if (!r.State.Running) continue;
      const mode = r.HostConfig.NetworkMode;
      const alive = mode.startsWith('container:')
        ? d.containers.get(r.NetworkSettings.SandboxID ? d.ownerOfSandbox(r.NetworkSettings.SandboxID) ?? '' : '')?.State.Running
        : !!controller.sandboxByContainer(r.Id);
      if (!alive) d.markStopped(r);
    }
    // A host-mode sandbox's key may have named the previous daemon process: each
    // running container (its own sandbox, or a container:X one's) takes the key as it is now.
    for (const r of saved) {
      if (!r.State.Running || !r.NetworkSettings.SandboxID) continue;
      const key = controller.sandbox(r.NetworkSettings.SandboxID)?.key;
      if (key && key !== r.NetworkSettings.SandboxKey) {
        r.NetworkSettings.SandboxKey = key;
        d.save(r);
      }
    }
    // A crash while ports moved to a new gateway (two commits) can leave
    // them on neither endpoint: published again where they belong, and the
    // records say what the endpoints publish.
    for (const r of saved) {
      if (!r.State.Running || r.HostConfig.NetworkMode.startsWith('container:')) continue;
      const before = JSON.stringify(r.NetworkSettings.Ports);
      await d.placePorts(r);
      d.readPorts(r);
      if (JSON.stringify(r.NetworkSettings.Ports) !== before) d.save(r);
    }
    await d.dns.sync();
    // Not waited for: etcd being away must not keep the host's local networks from starting.
    if (cluster) {
      d.cluster = Cluster.start(controller, cluster);
      d.cluster.onEndpointsChanged(() => d.dns.invalidate());
    }
    return d;
  }

  async stop(): Promise<void> {
    this.execs.stopAll();
    await Promise.allSettled([...this.locks.values()]);
    await this.cluster?.stop();
    await this.dns.close();
    await this.controller.stop();
  }

  private ownerOfSandbox(sandboxId: string): string | undefined {
    return this.controller.sandbox(sandboxId)?.containerId;
  }

  /**
   * Runs one API request; it settles once the store writes it made are
   * committed, or fails with StoreError (ESTORE) if one of them could not be:
   * an answer never reports what a crash could take back.
   */
  durably<T>(fn: () => Promise<T>): Promise<T> {
    return internals(this.controller).store.durably(fn);
  }

  private save(r: ContainerRecord): void {
    internals(this.controller).store.put('container', r.Id, r);
  }

  private locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.then(() => undefined, () => undefined);
    this.locks.set(id, tail);
    // The last operation of a burst takes its entry with it: a daemon that
    // has seen a million containers keeps no lock for any of them.
    void tail.then(() => { if (this.locks.get(id) === tail) this.locks.delete(id); });
    return next;
  }

  /**
   * A container's operations, one at a time. The record was looked up before
   * the wait: one removed meanwhile is gone for this operation too (else a
   * start queued behind a remove would network, and store, a deleted container).
   */
  private withContainer<T>(rec: ContainerRecord, term: string, fn: () => Promise<T>): Promise<T> {
    return this.locked(rec.Id, async () => {
      if (this.containers.get(rec.Id) !== rec) throw errNoSuchContainer(term);
      return fn();
    });
  }

  // ---- lookup -----------------------------------------------------------------

  container(term: string): ContainerRecord {
    const t = term.startsWith('/') ? term.slice(1) : term;
    try {
      const hit = findUnique([...this.containers.values()].map((r) => ({ id: r.Id, name: r.Name.slice(1) })), t, 'container');
      return this.containers.get(hit.id)!;
    } catch (e) {
      if (e instanceof NotFoundError) throw errNoSuchContainer(term);
      throw e;
    }
  }

  network(term: string): Network {
    return this.controller.network(term === 'default' ? this.config.defaultNetwork : term);
  }

  /** `default` (and `bridge`) mean the daemon's default network; other modes name a network. */
  private modeNetwork(mode: string): string {
    if (!mode || mode === 'default') return this.config.defaultNetwork;
    return mode;
  }

  // ---- create / remove --------------------------------------------------------

  createContainer(name: string | undefined, req: ContainerCreateRequest, api: { version?: string; warnings?: string[] } = {}): ContainerRecord {
    if (name && !NAME_RE.test(name)) throw errInvalid(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    const warning = this.macAddressBC(req, api.version ?? '1.50');
    if (warning) api.warnings?.push(warning);
    const id = newId();
    const cname = name ? name.replace(/^\//, '') : `nsnet_${id.slice(0, 8)}`;
    const clash = [...this.containers.values()].find((r) => r.Name === `/${cname}`);
    if (clash) throw errNameInUse(cname, clash.Id);
    const hc = req.HostConfig ?? {};
    const mode = hc.NetworkMode || 'default';
    const networks: Record<string, EndpointSettings> = {};
    // A network or container named here need not exist yet: dockerd looks
    // them up at start (a 404 from create reads to the docker CLI as a
    // missing image, which it then tries to pull).
    if (mode.startsWith('container:')) {
      checkContainerMode(mode, req);
      if (req.NetworkingConfig?.EndpointsConfig && Object.keys(req.NetworkingConfig.EndpointsConfig).length)
        throw errSharedNetwork();
    } else {
      const requested = Object.entries(req.NetworkingConfig?.EndpointsConfig ?? {});
      if (!requested.length) requested.push([this.modeNetwork(mode), {}]);
      for (const [term, cfg] of requested) {
        if (cfg === null) throw errInvalid(`invalid config for network ${term}: EndpointsConfig is nil`);
        const wanted = term === 'default' ? this.modeNetwork(mode) : term;
        const net = this.findNetwork(wanted);
        if (mode === 'host' && net && net.type !== 'host') throw errSharedNetwork();
        networks[net?.name ?? wanted] = this.endpointConfig(net, cfg ?? {});
      }
      const modeTerm = this.modeNetwork(mode);
      const modeNet = this.findNetwork(modeTerm);
      const modeName = modeNet?.name ?? modeTerm;
      if (!networks[modeName] && mode !== 'default') networks[modeName] = this.endpointConfig(modeNet, {});
      // On a user-defined network `--link` is a name the resolver gives only this container (daemon: Links copied to the endpoint).
      const main = networks[modeName];
      if (hc.Links?.length && main && !main.Links?.length && isUserDefined(modeName, this.config.defaultNetwork)) main.Links = [...hc.Links];
    }
    // dockerd's registerLinks (after the settings' validation): on the default
    // bridge every --link target exists at create; on a user network a link
    // is only a name for the resolver, and its target may come later.
    if (hc.Links?.length && !mode.startsWith('container:') && !isUserDefined(this.modeNetwork(mode), this.config.defaultNetwork)) {
      if (mode === 'host') throw errInvalid('conflicting options: host type networking can\'t be used with links. This would result in undefined behavior');
      for (const l of parseLinks(hc.Links)) {
        if (!this.findContainer(l.target))
          throw errInvalid(`could not get container for ${l.target}: No such container: ${l.target}`);
      }
    }
    // Malformed bindings are refused at create, as Docker does (-P's exposed ports included).
    fromDockerPortBindings(publishedPorts(hc.PortBindings ?? {}, !!hc.PublishAllPorts, req.ExposedPorts));
    for (const h of hc.ExtraHosts ?? []) if (!h.includes(':')) throw errInvalid(`invalid extra host: ${h}`);
    const cmd = req.Cmd == null ? null : Array.isArray(req.Cmd) ? req.Cmd : [req.Cmd];
    const rec: ContainerRecord = {
      Id: id,
      Name: `/${cname}`,
      Created: createdNow(),
      Image: req.Image ?? '',
      Path: cmd?.[0] ?? '',
      Args: cmd?.slice(1) ?? [],
      State: { Status: 'created', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 0, ExitCode: 0, Error: '', StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME },
      Config: {
        ...req,
        Hostname: req.Hostname || id.slice(0, 12),
        Domainname: req.Domainname ?? '',
        Image: req.Image ?? '',
        Cmd: cmd,
        Labels: req.Labels ?? {},
        ...(req.ExposedPorts ? { ExposedPorts: req.ExposedPorts } : {}),
      },
      HostConfig: {
        ...hc,
        NetworkMode: mode,
        PortBindings: hc.PortBindings ?? {},
        Dns: hc.Dns ?? [],
        DnsSearch: hc.DnsSearch ?? [],
        DnsOptions: hc.DnsOptions ?? [],
        ExtraHosts: hc.ExtraHosts ?? null,
      },
      NetworkSettings: { SandboxID: '', SandboxKey: '', Ports: {}, Networks: networks },
    };
    delete (rec.Config as Record<string, unknown>)['HostConfig'];
    delete (rec.Config as Record<string, unknown>)['NetworkingConfig'];
    // Refused at create, as Docker does; the controller checks again at start.
    validateSandboxOptions(this.sandboxOptions(rec));
    this.containers.set(id, rec);
    this.save(rec);
    this.containerEvent(rec, 'create');
    return rec;
  }

  /**
   * moby's handleMACAddressBC: the container-wide MacAddress (Config, as
   * `docker run --mac-address` and SDKs below API 1.44 send it) goes to the
   * endpoint of the container's network; from 1.44 on it must agree with
   * that endpoint's, and the answer carries dockerd's deprecation warning.
   */
  private macAddressBC(req: ContainerCreateRequest, version: string): string | undefined {
    const mac = typeof req['MacAddress'] === 'string' ? req['MacAddress'] : '';
    const mode = req.HostConfig?.NetworkMode || 'default';
    const bridge = mode === 'default' || mode === 'bridge';
    const userDefined = !bridge && !['host', 'none'].includes(mode) && !mode.startsWith('container:');
    const main = mode === 'default' ? this.config.defaultNetwork : mode;
    const nc = (req.NetworkingConfig ??= {});
    const eps = (nc.EndpointsConfig ??= {});
    if (compareApiVersions(version, '1.44') < 0) {
      if (!mac) {
        // The old API had no endpoint MAC: one given is ignored, as dockerd ignores it.
        for (const ep of Object.values(eps)) if (ep) delete ep.MacAddress;
        return undefined;
      }
      if (!bridge && !userDefined) throw errInvalid('conflicting options: mac-address and the network mode');
      if (!Object.keys(eps).length) eps[main] = {};
      for (const ep of Object.values(eps)) if (ep) ep.MacAddress = mac;
      return undefined;
    }
    if (!mac) return undefined;
    if (bridge || userDefined) {
      if (!Object.keys(eps).length) eps[main] = { MacAddress: mac };
      else {
        const ep = eps[main] ?? (bridge ? eps['default'] : undefined);
        if (!ep) throw errInvalid('if a container-wide MAC address is supplied, HostConfig.NetworkMode must match the identity of a network in NetworkSettings.Networks');
        if (!ep.MacAddress) ep.MacAddress = mac;
        else if (ep.MacAddress !== mac) throw errInvalid('the container-wide MAC address must match the endpoint-specific MAC address for the main network, or be left empty');
      }
    }
    delete req['MacAddress'];
    return 'The container-wide MacAddress field is now deprecated. It should be specified in EndpointsConfig instead.';
  }

  /** A container by name or ID (prefix), or undefined. */
  private findContainer(term: string): ContainerRecord | undefined {
    try {
      return this.container(term);
    } catch {
      return undefined;
    }
  }

  /** The network a term names, or undefined when there is none (yet). */
  private findNetwork(term: string): Network | undefined {
    try {
      return this.network(term);
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  }

  /**
   * Validates a requested endpoint configuration against its network (the
   * seed's stopped-container connect); without the network (not created
   * yet), only what can be checked alone, as dockerd's validateEndpointSettings.
   */
  private endpointConfig(net: Network | undefined, cfg: Partial<EndpointSettings>): EndpointSettings {
    const info = net?.info();
    const want4 = cfg.IPAMConfig?.IPv4Address;
    const want6 = cfg.IPAMConfig?.IPv6Address;
    if (info && !isUserDefined(info.name, this.config.defaultNetwork)) {
      if (want4 || want6) throw errInvalid('user specified IP address is supported on user defined networks only');
      if (cfg.Aliases?.length) throw errInvalid('network-scoped alias is supported only for containers in user defined networks');
    }
    for (const [addr, pools, v6] of [[want4, info?.pools4, false], [want6, info?.pools6, true]] as const) {
      if (!addr) continue;
      let ip;
      try { ip = parseIP(addr); } catch { throw errInvalid(`invalid IPv${v6 ? 6 : 4} address: ${addr}`); }
      if ((ip.family === 6) !== v6) throw errInvalid(`invalid IPv${v6 ? 6 : 4} address: ${addr}`);
      if (!info || !pools) continue;
      if (!info.ipam.config.some((c) => c.Subnet))
        throw errInvalid('user specified IP address is supported only when connecting to networks with user configured subnets');
      if (!pools.some((p) => cidrContains(p.subnet, addr))) throw errInvalid(`no configured subnet or ip-range contain the IP address ${addr}`);
    }
    // dockerd's validateEndpointSettings: link-local IPs and a MAC must parse before they are stored for a later start.
    for (const a of cfg.IPAMConfig?.LinkLocalIPs ?? []) {
      try { parseIP(a); } catch { throw errInvalid(`invalid link-local IP address: ${a}`); }
    }
    if (cfg.MacAddress && !/^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i.test(cfg.MacAddress)) throw errInvalid(`invalid MAC address ${cfg.MacAddress}`);
    endpointDriverOpts(cfg.DriverOpts ?? {});
    return {
      ...emptyEndpointSettings(),
      IPAMConfig: cfg.IPAMConfig ? { ...cfg.IPAMConfig } : null,
      Links: cfg.Links ?? null,
      Aliases: cfg.Aliases ?? null,
      MacAddress: cfg.MacAddress ?? '',
      DesiredMacAddress: cfg.MacAddress ?? '',
      DriverOpts: cfg.DriverOpts ?? null,
      GwPriority: cfg.GwPriority ?? 0,
      NetworkID: info?.id ?? '',
    };
  }

  /**
   * `docker rm --link /parent/alias` (dockerd's rmLink): the parent's link
   * of that alias goes, both containers stay. A plain container name is no
   * link name, and is refused without removing anything.
   */
  removeLink(name: string): Promise<void> {
    const full = name.startsWith('/') ? name : `/${name}`;
    const cut = full.lastIndexOf('/');
    if (cut === 0) {
      this.container(full.slice(1)); // an unknown name is still a 404
      throw new ConflictError('Conflict, cannot remove the default link name of the container');
    }
    const parentName = full.slice(1, cut);
    const alias = full.slice(cut + 1);
    let parent: ContainerRecord;
    try {
      parent = this.container(parentName);
    } catch {
      throw new InvalidInputError(`Cannot get parent /${parentName} for link name ${full}`);
    }
    return this.withContainer(parent, parentName, async () => {
      let removed = false;
      const keep = (links: string[]) => {
        const kept = links.filter((l) => parseLinks([l])[0]?.alias !== alias);
        removed ||= kept.length < links.length;
        return kept;
      };
      if (parent.HostConfig.Links) parent.HostConfig.Links = keep(parent.HostConfig.Links);
      for (const s of Object.values(parent.NetworkSettings.Networks)) {
        if (!s.Links) continue;
        const kept = keep(s.Links);
        s.Links = kept.length ? kept : null;
      }
      if (!removed) throw new NotFoundError(`No such container: ${full}`);
      this.save(parent);
      this.dns.invalidate();
    });
  }

  removeContainer(term: string, force = false): Promise<void> {
    const rec = this.container(term);
    return this.withContainer(rec, term, async () => {
      if (rec.State.Running) {
        if (!force) throw errRunningRemove(rec.Id);
        await this.halt(rec, SIGKILL);
      }
      this.forget(rec);
    });
  }

  /** The record goes: from memory, the store and the resolver. */
  private forget(rec: ContainerRecord): void {
    this.containers.delete(rec.Id);
    internals(this.controller).store.delete('container', rec.Id);
    this.dns.invalidate();
    this.containerEvent(rec, 'destroy');
  }

  /**
   * docker container prune: stopped containers whose labels and creation
   * time pass the filters (label, label!, until) go; returns their IDs.
   */
  async pruneContainers(f: Filters): Promise<string[]> {
    const untils = f.get('until') ?? [];
    if (untils.length > 1) throw errInvalid('more than one until filter specified');
    const until = untils[0] !== undefined ? parseUntil(untils[0]) : undefined;
    const deleted: string[] = [];
    for (const rec of [...this.containers.values()]) {
      if (rec.State.Running || !pruneLabelsMatch(f, rec.Config.Labels ?? {})) continue;
      if (until !== undefined && Date.parse(rec.Created) > until) continue;
      // Started meanwhile, or removed by another request: not this prune's.
      const gone = await this.withContainer(rec, rec.Id, async () => {
        if (rec.State.Running) return false;
        this.forget(rec);
        return true;
      }).catch(() => false);
      if (gone) deleted.push(rec.Id);
    }
    this.events.log('container', 'prune', '', { reclaimed: '0' });
    return deleted;
  }

  /**
   * docker rename: the record's name, the container's endpoints (running:
   * their names in the controller, which are the container's) and its DNS
   * names on every network, at once; other hosts learn the new names on
   * global networks. Hostname and hosts file stay, as dockerd leaves them.
   */
  renameContainer(term: string, newName: string): Promise<void> {
    if (!term || !newName) throw errInvalid('Neither old nor new names may be empty');
    const name = newName.replace(/^\//, '');
    if (!NAME_RE.test(name)) throw errInvalid(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    const rec = this.container(term);
    return this.withContainer(rec, term, async () => {
      if (rec.Name === `/${name}`) throw errInvalid('Renaming a container with the same name as its current name');
      const clash = [...this.containers.values()].find((r) => r.Name === `/${name}`);
      if (clash) throw errNameInUse(name, clash.Id);
      const old = rec.Name.slice(1);
      const sb = rec.State.Running ? this.controller.sandboxByContainer(rec.Id) : undefined;
      const eps = sb?.endpoints().filter((e) => e.name === old) ?? [];
      const done: typeof eps = [];
      try {
        for (const e of eps) { e.rename(name); done.push(e); }
      } catch (e) {
        for (const ep of done) ep.rename(old);
        throw e;
      }
      rec.Name = `/${name}`;
      for (const s of Object.values(rec.NetworkSettings.Networks)) if (s.DNSNames) s.DNSNames = dnsNames(name, s.Aliases ?? [], rec.Id, rec.Config.Hostname);
      this.save(rec);
      this.dns.invalidate();
      this.containerEvent(rec, 'rename', { oldName: `/${old}` });
      for (const e of eps) {
        const net = this.controller.networks().find((n) => n.id === e.networkId);
        // Best effort: etcd away keeps the old name on the other hosts until this host registers its endpoints again.
        if (net && isGlobal(net)) await this.cluster?.publish(net.id, e).catch(() => undefined);
      }
    });
  }

  // ---- start / stop -----------------------------------------------------------

  startContainer(term: string): Promise<ContainerRecord> {
    const rec = this.container(term);
    return this.withContainer(rec, term, async () => {
      if (rec.State.Running) return rec;
      await this.initializeNetworking(rec);
      rec.State = { ...rec.State, Status: 'running', Running: true, StartedAt: now(), FinishedAt: ZERO_TIME, ExitCode: 0 };
      this.save(rec);
      this.dns.invalidate();
      for (const n of this.joinedNetworks(rec)) this.networkEvent(n, 'connect', { container: rec.Id });
      this.containerEvent(rec, 'start');
      return rec;
    });
  }

  /** docker stop: as a process that exits on SIGTERM with status 0. A container made with --rm is removed after. */
  stopContainer(term: string, autoRemove = true): Promise<boolean> {
    const rec = this.container(term);
    return this.withContainer(rec, term, async () => {
      if (!rec.State.Running) return false;
      await this.halt(rec, SIGTERM, 0);
      this.containerEvent(rec, 'stop');
      if (autoRemove && rec.HostConfig.AutoRemove) this.forget(rec);
      return true;
    });
  }

  async restartContainer(term: string): Promise<void> {
    // Refuse before stopping what could not start again, so a refused
    // restart changes nothing (found by test/api-fuzz).
    this.checkStartable(this.container(term));
    // A restart keeps a --rm container, as dockerd does.
    await this.stopContainer(term, false);
    const rec = await this.startContainer(term);
    this.containerEvent(rec, 'restart');
  }

  /**
   * Resolves with the exit code once the container meets the condition
   * (dockerd's WaitCondition): not-running (at once if it is not running),
   * next-exit, or removed. `cancel` drops the wait (the client went away).
   */
  waitContainer(term: string, condition: WaitCondition): { done: Promise<number>; cancel(): void } {
    const rec = this.container(term);
    if (condition === 'not-running' && !rec.State.Running) return { done: Promise.resolve(rec.State.ExitCode), cancel: () => {} };
    let sub: { unsubscribe(): void } | undefined;
    const done = new Promise<number>((resolve) => {
      const action = condition === 'removed' ? 'destroy' : 'die';
      sub = this.events.subscribe(new Map([['container', [rec.Id]], ['event', [action]], ['type', ['container']]]), undefined, undefined, () => {
        sub!.unsubscribe();
        resolve(rec.State.ExitCode);
      });
    });
    return { done, cancel: () => sub?.unsubscribe() };
  }

  /**
   * What stopping the container's process does to its networking, with
   * dockerd's events (kill, die, then each network's disconnect); the
   * exit code is 128 + the signal unless given.
   */
  private async halt(rec: ContainerRecord, signal: number, exitCode = 128 + signal): Promise<void> {
    const nets = this.joinedNetworks(rec);
    this.containerEvent(rec, 'kill', { signal: String(signal) });
    await this.releaseNetwork(rec);
    const ran = Math.max(0, Math.floor((Date.now() - Date.parse(rec.State.StartedAt)) / 1000));
    rec.State.ExitCode = exitCode;
    this.markStopped(rec);
    this.dns.invalidate();
    this.containerEvent(rec, 'die', { exitCode: String(exitCode), execDuration: String(ran) });
    for (const n of nets) this.networkEvent(n, 'disconnect', { container: rec.Id });
  }

  /** The lookups start would make, without changing anything: its networks exist, a shared namespace's owner runs. */
  private checkStartable(rec: ContainerRecord): void {
    const mode = rec.HostConfig.NetworkMode;
    if (mode.startsWith('container:')) {
      const other = this.container(mode.slice('container:'.length));
      if (!other.State.Running) throw new ForbiddenError(`cannot join network of a non running container: ${other.Id}`, 'ENOTRUNNING');
      return;
    }
    this.network(this.modeNetwork(mode));
    for (const name of Object.keys(rec.NetworkSettings.Networks)) this.network(name);
  }

  /**
   * docker pause / unpause: recorded, with their events. There is no
   * process to freeze; exec is refused while paused, as dockerd refuses it.
   */
  pauseContainer(term: string, pause: boolean): Promise<void> {
    const rec = this.container(term);
    return this.withContainer(rec, term, async () => {
      if (!rec.State.Running) throw errNotRunning(rec.Id);
      if (rec.State.Paused === pause) throw pause ? errAlreadyPaused(rec.Id) : errNotPaused(rec.Id);
      rec.State = { ...rec.State, Paused: pause, Status: pause ? 'paused' : 'running' };
      this.save(rec);
      this.containerEvent(rec, pause ? 'pause' : 'unpause');
    });
  }

  /** docker kill: the container stops on a signal whose default action ends a process (see signals.ts). */
  killContainer(term: string, signal = ''): Promise<void> {
    const sig = parseSignal(signal);
    const rec = this.container(term);
    return this.withContainer(rec, term, async () => {
      if (!rec.State.Running) throw errNotRunning(rec.Id);
      if (!terminates(sig)) return void this.containerEvent(rec, 'kill', { signal: String(sig) });
      await this.halt(rec, sig);
      if (rec.HostConfig.AutoRemove) this.forget(rec);
    });
  }

  private markStopped(rec: ContainerRecord): void {
    rec.State = { ...rec.State, Status: 'exited', Running: false, Paused: false, Pid: 0, FinishedAt: now() };
    rec.NetworkSettings.Ports = {};
    rec.NetworkSettings.SandboxID = '';
    rec.NetworkSettings.SandboxKey = '';
    for (const s of Object.values(rec.NetworkSettings.Networks)) clearOperational(s);
    this.save(rec);
  }

  /** The seed's initializeNetworking. */
  private async initializeNetworking(rec: ContainerRecord): Promise<void> {
    const mode = rec.HostConfig.NetworkMode;
    if (mode.startsWith('container:')) {
      const other = this.container(mode.slice('container:'.length));
      if (!other.State.Running) throw new ForbiddenError(`cannot join network of a non running container: ${other.Id}`, 'ENOTRUNNING');
      const sb = this.controller.sandboxByContainer(other.Id);
      if (!sb) throw new NotFoundError(`container ${other.Id} has no network sandbox`);
      rec.NetworkSettings.SandboxID = sb.id;
      rec.NetworkSettings.SandboxKey = sb.key;
      return;
    }
    await this.allocateNetwork(rec);
  }

  /** The seed's allocateNetwork. */
  private async allocateNetwork(rec: ContainerRecord): Promise<void> {
    await this.destroySandbox(rec.Id);
    const mode = rec.HostConfig.NetworkMode;
    const nets = rec.NetworkSettings.Networks;
    if (!Object.keys(nets).length) {
      // updateContainerNetworkSettings: "default" is stored under the default network's real name.
      const n = this.network(this.modeNetwork(mode));
      nets[n.name] = { ...emptyEndpointSettings(), NetworkID: n.id };
    }
    const defaultName = this.network(this.modeNetwork(mode)).name;
    const order = [...(nets[defaultName] ? [defaultName] : []), ...Object.keys(nets).filter((k) => k !== defaultName)];
    // dockerd's updateNetworkSettings at start: `none` shares a container with no other network.
    if (order.length > 1 && order.includes('none')) throw errConflictNoNetwork();
    // Settings stored for a network that did not exist at create are checked now, against it.
    for (const name of order) if (!nets[name]!.NetworkID) this.endpointConfig(this.network(name), nets[name]!);
    try {
      for (const name of order) {
        const s = nets[name]!;
        clearOperational(s);
        // Published ports go with the endpoint on the container's main network.
        await this.connectToNetwork(rec, name, s, name === order[0]);
      }
      if (!this.controller.sandboxByContainer(rec.Id)) await this.controller.newSandbox(rec.Id, this.sandboxOptions(rec));
      await this.placePorts(rec);
      this.readPorts(rec);
    } catch (e) {
      await this.destroySandbox(rec.Id).catch(() => undefined);
      for (const s of Object.values(nets)) clearOperational(s);
      throw e;
    }
    const sb = this.controller.sandboxByContainer(rec.Id)!;
    rec.NetworkSettings.SandboxID = sb.id;
    rec.NetworkSettings.SandboxKey = sb.key;
    this.writeResolvConf(rec);
  }

  // ---- embedded DNS -------------------------------------------------------------

  /**
   * Networks with embedded DNS: user-defined bridge networks and overlay
   * networks with an IPv4 gateway (not the default bridge, as Docker). An
   * overlay's gateway is on each host's own bridge, so every host answers
   * its own containers.
   */
  private dnsNetworks(): DnsNetwork[] {
    const out: DnsNetwork[] = [];
    for (const n of this.controller.networks()) {
      if (!hasEmbeddedDns(n, this.config.defaultNetwork)) continue;
      const info = n.info();
      const gateway = dnsGateway(info);
      if (gateway) out.push({ id: n.id, name: n.name, internal: info.internal, gateway });
    }
    return out;
  }

  /** What the resolver answers from: running containers' endpoints on those networks. */
  private dnsSnapshot(): DnsSnapshot {
    const networks = this.dnsNetworks();
    const served = new Set(networks.map((n) => n.id));
    const endpoints: DnsEndpoint[] = [];
    for (const r of this.containers.values()) {
      if (!r.State.Running) continue;
      for (const s of Object.values(r.NetworkSettings.Networks)) {
        if (!s.EndpointID || !served.has(s.NetworkID)) continue;
        endpoints.push({
          containerId: r.Id,
          containerName: r.Name.slice(1),
          networkId: s.NetworkID,
          names: s.DNSNames ?? [r.Name.slice(1)],
          links: parseLinks(s.Links ?? []),
          ...(s.IPAddress ? { ipv4: s.IPAddress } : {}),
          ...(s.GlobalIPv6Address ? { ipv6: s.GlobalIPv6Address } : {}),
          upstreams: r.HostConfig.Dns,
          ndotsSet: r.HostConfig.DnsOptions.some((o) => /^ndots:\d+$/.test(o)),
          ...(s.GwPriority ? { gwPriority: s.GwPriority } : {}),
        });
      }
    }
    // The other hosts' containers on overlay networks, as they published them in the cluster store.
    for (const n of networks) {
      for (const e of this.cluster?.remoteNamed(n.id) ?? []) {
        endpoints.push({
          containerId: `remote:${e.endpointId}`, containerName: e.containerName ?? e.names![0]!, networkId: n.id,
          names: e.names!, links: [], ipv4: e.ip, upstreams: [],
        });
      }
    }
    return { networks, endpoints };
  }

  /**
   * Containers on a user-defined network ask the resolver on its gateway
   * (up to three of their networks' gateways, as glibc reads three); the
   * others keep the host's resolvers, as Docker's default bridge does.
   */
  private writeResolvConf(rec: ContainerRecord): void {
    const sb = rec.NetworkSettings.SandboxID ? this.controller.sandbox(rec.NetworkSettings.SandboxID) : undefined;
    if (!sb || rec.HostConfig.NetworkMode === 'host') return;
    const byId = new Map(this.dnsNetworks().map((n) => [n.id, n]));
    const resolvers = Object.values(rec.NetworkSettings.Networks)
      .map((s) => (s.EndpointID ? byId.get(s.NetworkID)?.gateway : undefined))
      .filter((g): g is string => !!g).slice(0, 3);
    try { updateResolvConf(sb.info().dir, this.sandboxOptions(rec), resolvers); } catch { /* sandbox removed meanwhile */ }
  }

  /** A network was created or removed: listeners follow. */
  networksChanged(): Promise<void> { return this.dns.sync(); }

  private sandboxOptions(rec: ContainerRecord): SandboxOptions {
    const o: SandboxOptions = { hostname: rec.Config.Hostname, domainname: rec.Config.Domainname };
    if (rec.HostConfig.Dns.length) o.dns = rec.HostConfig.Dns;
    if (rec.HostConfig.DnsSearch.length) o.dnsSearch = rec.HostConfig.DnsSearch;
    if (rec.HostConfig.DnsOptions.length) o.dnsOptions = rec.HostConfig.DnsOptions;
    if (rec.HostConfig.ExtraHosts?.length) o.extraHosts = extraHosts(rec.HostConfig.ExtraHosts, () => this.hostGatewayIps());
    if (rec.HostConfig.NetworkMode === 'host') o.useHostNamespace = true;
    return o;
  }

  /** What `host-gateway` stands for in --add-host: --host-gateway-ip, else the default bridge's gateways (as dockerd's). */
  private hostGatewayIps(): string[] {
    if (this.config.hostGatewayIps?.length) return this.config.hostGatewayIps;
    const bridge = this.controller.networkByName('bridge')?.info();
    return [bridge?.pools4[0]?.gateway, bridge?.pools6[0]?.gateway].filter((g): g is string => !!g);
  }

  /** The seed's connectToNetwork: find the network, get or make the sandbox, create and join the endpoint. */
  private async connectToNetwork(rec: ContainerRecord, term: string, s: EndpointSettings, withPorts = false): Promise<void> {
    const net = this.network(term);
    // An internal network publishes nothing (no way out, so no way in), as Docker's.
    const ports = withPorts && net.type === 'bridge' && !net.info().internal ? wantedPorts(rec) : [];
    const sb = this.controller.sandboxByContainer(rec.Id) ?? (await this.controller.newSandbox(rec.Id, this.sandboxOptions(rec)));
    const name = rec.Name.slice(1);
    // The resolver listens before the first container on a network can ask it.
    if (hasEmbeddedDns(net, this.config.defaultNetwork) && !this.dns.listening().includes(net.id)) await this.dns.sync();
    // A global network's address comes from the cluster (etcd); the local IPAM only mirrors it.
    const global = isGlobal(net);
    if (global && !this.cluster) throw errNoClusterStore();
    const clusterIp = global ? await this.cluster!.allocate(net.id, s.IPAMConfig?.IPv4Address) : undefined;
    const wantIp = clusterIp ?? s.IPAMConfig?.IPv4Address;
    let ep;
    try {
      ep = net.createEndpoint(name, {
        ...(wantIp ? { ipv4Address: wantIp } : {}),
        ...(s.IPAMConfig?.IPv6Address ? { ipv6Address: s.IPAMConfig.IPv6Address } : {}),
        ...(s.IPAMConfig?.LinkLocalIPs?.length ? { linkLocalIps: s.IPAMConfig.LinkLocalIPs } : {}),
        ...(s.MacAddress ? { macAddress: s.MacAddress } : {}),
        ...(s.GwPriority ? { gwPriority: s.GwPriority } : {}),
        ...endpointDriverOpts(s.DriverOpts ?? {}),
        aliases: s.Aliases ?? [],
        ...(ports.length ? { ports } : {}),
      });
    } catch (e) {
      if (clusterIp) await this.cluster!.release(net.id, clusterIp);
      throw e;
    }
    try {
      await ep.join(sb);
      if (global) await this.cluster!.publish(net.id, ep);
    } catch (e) {
      await ep.delete(true).catch(() => undefined);
      if (clusterIp) await this.cluster!.release(net.id, clusterIp, ep.id);
      throw e;
    }
    const info = net.info();
    const e = ep.info();
    s.NetworkID = info.id;
    s.EndpointID = e.id;
    s.MacAddress = e.mac ?? '';
    if (e.ipv4) {
      s.IPAddress = e.ipv4.split('/')[0]!;
      s.IPPrefixLen = Number(e.ipv4.split('/')[1]);
      s.Gateway = info.internal ? '' : info.pools4[0]?.gateway ?? '';
    }
    if (e.ipv6) {
      s.GlobalIPv6Address = e.ipv6.split('/')[0]!;
      s.GlobalIPv6PrefixLen = Number(e.ipv6.split('/')[1]);
      s.IPv6Gateway = info.internal ? '' : info.pools6[0]?.gateway ?? '';
    }
    s.DNSNames = isUserDefined(info.name, this.config.defaultNetwork) ? dnsNames(name, s.Aliases ?? [], rec.Id, rec.Config.Hostname) : null;
  }

  /**
   * Docker publishes a container's ports on its gateway endpoint and moves
   * them with it (libnetwork's Revoke/ProgramExternalConnectivity when a
   * connect or disconnect changes the gateway); a gateway on a network that
   * publishes nothing (macvlan) leaves them unpublished, as Docker's does.
   * If the move fails the ports stay where they were; the connect or
   * disconnect that caused it stands.
   */
  private async placePorts(rec: ContainerRecord): Promise<void> {
    const sb = this.controller.sandboxByContainer(rec.Id);
    const want = wantedPorts(rec);
    if (!sb || !want.length) return;
    const eps = sb.endpoints();
    // With a gateway per family, the ports go with IPv4's (else IPv6's).
    const gw = eps.find((e) => holdsDefaultRoute(e.info(), 4)) ?? eps.find((e) => holdsDefaultRoute(e.info(), 6));
    const holder = eps.find((e) => e.info().ports?.length);
    if (!gw) return;
    const type = this.controller.networks().find((n) => n.id === gw.networkId)?.type;
    const publishes = type === 'bridge' || type === 'overlay';
    if (holder?.id === gw.id) {
      // A crash after the gateway's record took the ports and before they
      // were published leaves them recorded and published nowhere.
      if (publishes && !gw.info().published?.length) await gw.setPorts(want).catch(() => undefined);
      return;
    }
    try {
      await holder?.setPorts([]);
      if (publishes) await gw.setPorts(want);
    } catch {
      await gw.setPorts([]).catch(() => undefined);
      await holder?.setPorts(want).catch(() => undefined);
    }
  }

  /** placePorts for a running container, its record saved with what its endpoints publish. */
  private async movePorts(rec: ContainerRecord): Promise<void> {
    await this.placePorts(rec);
    this.readPorts(rec);
    this.save(rec);
  }

  /**
   * NetworkSettings.Ports as the container's endpoints publish them now;
   * an exposed or bound port that none publishes is listed as null, as
   * dockerd shows it.
   */
  private readPorts(rec: ContainerRecord): void {
    const eps = this.controller.sandboxByContainer(rec.Id)?.endpoints() ?? [];
    const bound = wantedPorts(rec).flatMap((b) =>
      Array.from({ length: (b.containerPortEnd ?? b.containerPort) - b.containerPort + 1 }, (_, i) => `${b.containerPort + i}/${b.proto}`));
    rec.NetworkSettings.Ports = Object.fromEntries([...Object.keys(rec.Config.ExposedPorts ?? {}), ...bound].map((k) => [k, null]));
    for (const e of eps) for (const m of e.info().published ?? []) (rec.NetworkSettings.Ports[portKey(m)] ??= []).push(portBinding(m));
  }

  /** Stop: the sandbox goes with every endpoint; the requested configuration stays for the next start. */
  private async releaseNetwork(rec: ContainerRecord): Promise<void> {
    if (!rec.HostConfig.NetworkMode.startsWith('container:')) await this.destroySandbox(rec.Id);
  }

  /** Destroys a container's sandbox; what its endpoints held in the cluster is given back. */
  private async destroySandbox(containerId: string): Promise<void> {
    const sb = this.controller.sandboxByContainer(containerId);
    const held = sb ? sb.endpoints().map((e) => this.globalHold(e.id)).filter((h): h is NonNullable<typeof h> => !!h) : [];
    await this.controller.sandboxDestroy(containerId);
    for (const h of held) await this.cluster?.release(h.netId, h.ip, h.epId);
  }

  /** What an endpoint of a global network holds in the cluster (its address), or undefined. */
  private globalHold(epId: string): { netId: string; ip: string | undefined; epId: string } | undefined {
    const ep = this.controller.endpoint(epId);
    if (!ep) return undefined;
    const net = this.controller.networks().find((n) => n.id === ep.networkId);
    return net && isGlobal(net) ? { netId: net.id, ip: ep.info().ipv4?.split('/')[0], epId } : undefined;
  }

  /** Deletes an endpoint (leaving first); a global network's address goes back to the cluster. */
  private async deleteEndpoint(ep: { id: string; delete(force?: boolean): Promise<void> }): Promise<void> {
    const held = this.globalHold(ep.id);
    await ep.delete(true);
    if (held) await this.cluster?.release(held.netId, held.ip, held.epId);
  }

  // ---- network connect / disconnect --------------------------------------------

  connect(networkTerm: string, containerTerm: string, cfg: Partial<EndpointSettings> = {}): Promise<void> {
    const rec = this.container(containerTerm);
    const net = this.network(networkTerm);
    return this.withContainer(rec, containerTerm, async () => {
      const mode = rec.HostConfig.NetworkMode;
      if (mode.startsWith('container:') || (mode === 'host') !== (net.type === 'host')) {
        if (net.type === 'host' || mode === 'host')
          throw new ForbiddenError('container cannot be disconnected from host network or connected to host network', 'EHOSTMODE');
        throw errSharedNetwork();
      }
      if (rec.NetworkSettings.Networks[net.name]) throw errAlreadyConnected(rec.Name.slice(1), net.name);
      const settings = this.endpointConfig(net, cfg);
      // dockerd's updateNetworkSettings (after the settings' validation): `none` shares a container with no other network.
      const joined = Object.keys(rec.NetworkSettings.Networks);
      if (joined.length && (net.name === 'none' || joined.includes('none'))) throw errConflictNoNetwork();
      if (rec.State.Running) await this.connectToNetwork(rec, net.id, settings);
      rec.NetworkSettings.Networks[net.name] = settings;
      // Saved in the same turn as the join's records, so one commit holds both (a crash never separates them).
      this.save(rec);
      if (rec.State.Running) await this.movePorts(rec);
      this.dns.invalidate();
      this.writeResolvConf(rec);
      // dockerd logs a connect only for a running container; a stopped one connects at its start.
      if (rec.State.Running) this.networkEvent(net, 'connect', { container: rec.Id });
    });
  }

  async disconnect(networkTerm: string, containerTerm: string, force = false): Promise<void> {
    const found = this.findNetwork(networkTerm);
    if (!found) {
      // A stopped container's entry for a network that does not exist (never made, or removed since)
      // goes by its name, as dockerd lets it.
      const rec = this.findContainer(containerTerm);
      if (rec?.NetworkSettings.Networks[networkTerm]) {
        return this.withContainer(rec, containerTerm, async () => {
          if (rec.State.Running) throw new NotFoundError(`network ${networkTerm} not found`);
          delete rec.NetworkSettings.Networks[networkTerm];
          this.save(rec);
        });
      }
    }
    const net = found ?? this.network(networkTerm);
    let rec: ContainerRecord;
    try {
      rec = this.container(containerTerm);
    } catch (e) {
      // Forced: remove an endpoint whose container is already gone.
      const stray = force ? net.endpoints().find((x) => x.name === containerTerm) : undefined;
      if (!stray) throw e;
      await this.deleteEndpoint(stray);
      return;
    }
    return this.withContainer(rec, containerTerm, async () => {
      const s = rec.NetworkSettings.Networks[net.name];
      if (!s) throw errNotConnected(rec.Name.slice(1), net.name);
      if (rec.HostConfig.NetworkMode === 'host' && net.type === 'host' && !force)
        throw new ForbiddenError('container cannot be disconnected from host network or connected to host network', 'EHOSTMODE');
      let left = false;
      let held: ReturnType<Daemon['globalHold']>;
      if (rec.State.Running && s.EndpointID) {
        const ep = net.endpoints().find((x) => x.id === s.EndpointID);
        held = ep ? this.globalHold(ep.id) : undefined;
        // Its published ports go with it; readPorts lists the port as null then, as dockerd shows it.
        if (ep) await ep.delete(true);
        left = !!ep;
        this.readPorts(rec);
      }
      delete rec.NetworkSettings.Networks[net.name];
      // In the same turn as the endpoint's removal, so one commit holds both (a crash never separates them);
      // the cluster's hold (etcd, on a global network) is given back after.
      this.save(rec);
      if (rec.State.Running) await this.movePorts(rec);
      this.dns.invalidate();
      this.writeResolvConf(rec);
      this.networkEvent(net, 'disconnect', { container: rec.Id });
      if (held) await this.cluster?.release(held.netId, held.ip, held.epId);
      // The library defers the link's destruction (the kernel's RCU wait); the interface stays in
      // the container, renamed and down, until then. `docker network disconnect` returns with it
      // gone, as dockerd's does; waited for last, after the records.
      if (left) await this.controller.flush().catch(() => undefined);
    });
  }

  // ---- networks ------------------------------------------------------------------

  async createNetwork(req: NetworkCreateRequest): Promise<Network> {
    const n = await createNetwork(this.controller, req, this.cluster);
    await this.networksChanged();
    this.networkEvent(n, 'create');
    return n;
  }

  async removeNetwork(term: string): Promise<void> {
    const n = netRef(this.controller.network(term));
    await removeNetwork(this.controller, term, this.cluster);
    await this.networksChanged();
    this.networkEvent(n, 'destroy');
  }

  /** docker network prune; returns the removed networks' names. */
  async pruneNetworks(f: Filters): Promise<string[]> {
    const before = new Map(this.controller.networks().map((n) => [n.name, netRef(n)]));
    const deleted = await pruneNetworks(this.controller, f, this.cluster);
    await this.networksChanged();
    for (const name of deleted) this.networkEvent(before.get(name)!, 'destroy');
    this.events.log('network', 'prune', '', { reclaimed: '0' });
    return deleted;
  }

  // ---- events --------------------------------------------------------------------

  /** dockerd's LogContainerEventWithAttributes: the container's labels, its image and name, and the action's own. */
  private containerEvent(rec: ContainerRecord, action: string, attrs: Record<string, string> = {}): void {
    this.events.log('container', action, rec.Id, {
      ...(rec.Config.Labels ?? {}), ...attrs, ...(rec.Config.Image ? { image: rec.Config.Image } : {}), name: rec.Name.slice(1),
    });
  }

  /** dockerd's LogNetworkEventWithAttributes: the action's attributes, the network's name and type. */
  private networkEvent(n: NetRef, action: string, attrs: Record<string, string> = {}): void {
    this.events.log('network', action, n.id, { ...attrs, name: n.name, type: n.type });
  }

  /** The networks a running container has an endpoint on, in its settings' order. */
  private joinedNetworks(rec: ContainerRecord): NetRef[] {
    return Object.values(rec.NetworkSettings.Networks).filter((s) => s.EndpointID)
      .map((s) => this.controller.networks().find((n) => n.id === s.NetworkID)).filter((n): n is Network => !!n).map(netRef);
  }

  /** The namespace path a command must enter to run "inside" the container. */
  execTarget(term: string): string {
    const rec = this.container(term);
    if (!rec.State.Running) throw errNotRunning(rec.Id);
    if (!rec.NetworkSettings.SandboxKey) throw new InvalidInputError(`container ${rec.Name.slice(1)} has no network namespace`);
    return rec.NetworkSettings.SandboxKey;
  }
}

/**
 * The endpoint driver options nsnet acts on, as Docker's: the interface's
 * name in the container and its sysctls (driver-api/endpoint-sysctls.ts).
 * Others are kept in the settings and, as by Docker's drivers that do not
 * know them, ignored.
 */
function endpointDriverOpts(opts: Record<string, string>): { ifname?: string; sysctls?: Record<string, string> } {
  const ifname = opts[ENDPOINT_IFNAME];
  const sysctls = opts[ENDPOINT_SYSCTLS];
  return {
    ...(ifname ? { ifname: checkInterfaceName(ENDPOINT_IFNAME, ifname) } : {}),
    ...(sysctls ? { sysctls: parseEndpointSysctls(sysctls) } : {}),
  };
}

/** The ports the container asks to publish (-p, and -P's exposed ones), as the controller takes them. */
/** Docker API versions ("1.44") in order. */
function compareApiVersions(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am - bm || an - bn;
}

const wantedPorts = (rec: ContainerRecord): PortBinding[] =>
  fromDockerPortBindings(publishedPorts(rec.HostConfig.PortBindings, !!rec.HostConfig.PublishAllPorts, rec.Config.ExposedPorts));

/** What an event names of a network, taken while it exists (a handle reads its record live). */
type NetRef = { id: string; name: string; type: string };
const netRef = (n: Network): NetRef => ({ id: n.id, name: n.name, type: n.type });

/**
 * Whether the daemon's resolver serves a network: user-defined bridge
 * networks and overlay networks, as Docker's, except a bridge without an
 * IPv4 address of nsnet's (inhibit_ipv4), where it would listen.
 */
function hasEmbeddedDns(n: Network, defaultNetwork: string): boolean {
  if (n.type === 'overlay') return true;
  return n.type === 'bridge' && isUserDefined(n.name, defaultNetwork) && dnsGateway(n.info()) !== undefined;
}

/**
 * The address a network's resolver listens on: its IPv4 gateway, else (an
 * IPv6-only network, or inhibit_ipv4, whose bridge has no IPv4 address) its
 * IPv6 one.
 */
function dnsGateway(info: ReturnType<Network['info']>): string | undefined {
  const v4 = parseBool(info.options[BridgeOption.InhibitIPv4], false) ? undefined : info.pools4[0]?.gateway;
  return v4 ?? info.pools6[0]?.gateway;
}

/** The cluster membership the configuration asks for, if any. */
function clusterOptions(config: DaemonConfig): ClusterOptions | undefined {
  if (!config.clusterStore) return undefined;
  if (!config.advertiseAddress) throw new InvalidInputError('--cluster-store needs --advertise-addr: the IPv4 address other hosts reach this one at');
  return {
    store: config.clusterStore,
    advertiseAddress: config.advertiseAddress,
    ...(config.clusterLeaseTtl ? { leaseTtl: config.clusterLeaseTtl } : {}),
  };
}

/** Docker's IsUserDefined: not one of the predefined networks (nor the daemon's default). */
function isUserDefined(name: string, defaultNetwork: string): boolean {
  return !['bridge', 'host', 'none', defaultNetwork].includes(name);
}

/** `--link target[:alias]` entries (the target may carry Docker's leading slash, the alias a `/from/` path). */
export function parseLinks(links: string[]): { alias: string; target: string }[] {
  return links.map((l) => {
    const [t = '', a] = l.split(':');
    const target = t.replace(/^\//, '');
    return { target, alias: a ? a.split('/').at(-1)! : target };
  }).filter((l) => l.target && l.alias);
}

type HostBinding = { HostIp: string; HostPort: string };
const portKey = (m: PortMapping): string => `${m.containerPort}/${m.proto}`;
const portBinding = (m: PortMapping): HostBinding => ({ HostIp: m.hostIp || (m.containerIp.includes(':') ? '::' : '0.0.0.0'), HostPort: String(m.hostPort) });

function clearOperational(s: EndpointSettings): void {
  s.EndpointID = '';
  s.Gateway = '';
  s.IPAddress = '';
  s.IPPrefixLen = 0;
  s.IPv6Gateway = '';
  s.GlobalIPv6Address = '';
  s.GlobalIPv6PrefixLen = 0;
  // Back to what was asked for (records from before DesiredMacAddress kept it only with a static IP).
  s.MacAddress = s.DesiredMacAddress ?? (s.IPAMConfig ? s.MacAddress : '');
  s.DNSNames = null;
}

