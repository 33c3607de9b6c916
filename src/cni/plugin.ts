// CNI's commands on the controller. One sandbox per CNI_CONTAINERID (its
// container ID is `cni:<id>`), adopting the namespace the runtime made; one
// endpoint per (container, CNI_IFNAME), named `cni:<id>/<ifname>`. Work on
// one container is serialised, as the runtime may run several networks'
// plugins for it at once.
import type { Controller, Endpoint, EndpointInfo, NetworkInfo, Sandbox } from '../controller/controller.js';
import type { EndpointCreateOptions } from '../controller/options.js';
import { holdsDefaultRoute } from '../driver-api/records.js';
import type { PortBinding } from '../firewall/ports.js';
import { formatPrefix, parseIP, parsePrefix } from '../ip/addr.js';
import { addrList, isKernelError, linkGet, netnsOpen, netnsOpenOp, netnsRelease, routeAdd, routeList, run } from '../netlink/index.js';
import { CniCode, CniError, errorBody, httpStatusOf } from './errors.js';
import { InvalidInputError } from '../errors.js';
import { parseRequest, versionOf, type CniRequest, type NetConf } from './config.js';
import { ensureNetwork } from './network.js';
import { buildResult, type Attachment, type CniRoute } from './result.js';

export const SANDBOX_PREFIX = 'cni:';
export const sandboxIdFor = (containerId: string): string => `${SANDBOX_PREFIX}${containerId}`;
const endpointName = (containerId: string, ifname: string): string => `${SANDBOX_PREFIX}${containerId}/${ifname}`;

export interface CniAnswer { status: number; body?: unknown }

export class CniPlugin {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly c: Controller) {}

  /** One forwarded call: the result (or nothing) with 200, or the spec's error object. */
  async exec(body: unknown): Promise<CniAnswer> {
    try {
      const req = parseRequest(body);
      const out = await this.dispatch(req);
      return out === undefined ? { status: 200 } : { status: 200, body: out };
    } catch (e) {
      const err = errorBody(e, versionOf(body));
      return { status: httpStatusOf(err.code), body: err };
    }
  }

  private dispatch(req: CniRequest): Promise<unknown> {
    switch (req.command) {
      case 'ADD': return this.locked(req.containerId, () => this.add(req));
      case 'DEL': return this.locked(req.containerId, () => this.del(req));
      case 'CHECK': return this.locked(req.containerId, () => this.check(req));
      case 'GC': return this.gc(req.conf);
      case 'STATUS': return Promise.resolve(undefined);
      case 'VERSION': return Promise.resolve({ cniVersion: req.conf.cniVersion, supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
    }
  }

  private locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.locks.set(key, tail);
    void tail.then(() => { if (this.locks.get(key) === tail) this.locks.delete(key); });
    return next;
  }

  private endpointOf(sb: Sandbox, ifname: string): Endpoint | undefined {
    return sb.endpoints().find((e) => e.info().ifname === ifname);
  }

  // ---- ADD

  private async add(req: CniRequest): Promise<unknown> {
    const { conf } = req;
    const opts = endpointOptions(req);
    let sb = this.c.sandboxByContainer(sandboxIdFor(req.containerId));
    if (sb) {
      if (this.endpointOf(sb, req.ifname))
        throw new CniError(CniCode.Conflict, `container ${req.containerId} already has interface ${req.ifname} (DEL it first)`);
      await sameNamespace(sb, req.netns);
    }
    // That CNI_NETNS is a network namespace, asked of the addon (nsfs and
    // NS_GET_NSTYPE): a file, a directory or another kind of namespace is an
    // environment error, before anything is made.
    if (!sb) {
      await run(netnsOpenOp(req.netns)).catch((e: unknown) => {
        if (isKernelError(e) && (e.code === 'ENOENT' || e.code === 'EINVAL' || e.code === 'ENOTDIR' || e.code === 'EACCES'))
          throw new CniError(CniCode.InvalidEnvironment, `CNI_NETNS ${req.netns} is not a network namespace (${e.code}${e.extack ? `: ${e.extack}` : ''})`);
        throw e;
      });
    }
    const { net, created: newNet } = await ensureNetwork(this.c, conf);
    // A failed first ADD leaves no network behind either.
    const dropNet = async () => { if (newNet && !net.endpoints().length) await net.delete().catch(() => undefined); };
    const created = !sb;
    sb ??= await this.c.newSandbox(sandboxIdFor(req.containerId), { netnsPath: req.netns, runtimeManaged: true }).catch(async (e: unknown) => {
      await dropNet();
      if (isKernelError(e) && (e.code === 'ENOENT' || e.code === 'EINVAL' || e.code === 'ENOTDIR'))
        throw new CniError(CniCode.InvalidEnvironment, `CNI_NETNS ${req.netns} is not a network namespace (${e.code})`);
      // The daemon's own (the host's) namespace is no container's.
      if (e instanceof InvalidInputError) throw new CniError(CniCode.InvalidEnvironment, `CNI_NETNS: ${e.message}`);
      throw e;
    });
    let ep: Endpoint | undefined;
    try {
      ep = net.createEndpoint(endpointName(req.containerId, req.ifname), opts);
      await ep.join(sb);
      // Each info() is a copy of the record: taken once.
      const e = ep.info();
      const n = net.info();
      const routes = await this.addRoutes(n, e, sb, conf);
      return buildResult(conf.cniVersion, await this.attachment(n, e, req.netns, routes, conf), conf.prevResult);
    } catch (e) {
      if (ep) await ep.delete(true).catch(() => undefined);
      if (created || !sb.endpoints().length) await sb.destroy().catch(() => undefined);
      await dropNet();
      throw e;
    }
  }

  /** The configuration's routes other than the default one (which the join made). */
  private async addRoutes(n: NetworkInfo, e: EndpointInfo, sb: Sandbox, conf: NetConf): Promise<CniRoute[]> {
    const gw4 = n.pools4[0]?.gateway;
    const gw6 = n.pools6[0]?.gateway;
    const out: CniRoute[] = [];
    if (holdsDefaultRoute(e, 4) && gw4 && e.ipv4) out.push({ dst: '0.0.0.0/0', gw: gw4 });
    if (holdsDefaultRoute(e, 6) && gw6 && e.ipv6) out.push({ dst: '::/0', gw: gw6 });
    for (const r of conf.routes) {
      const v6 = r.dst.includes(':');
      // The default route is the join's, reported above when this interface holds it.
      if (r.dst === '0.0.0.0/0' || r.dst === '::/0') continue;
      const gw = r.gw ?? (v6 ? gw6 : gw4);
      await routeAdd(sb.netns, { dst: r.dst, ...(gw ? { gateway: gw } : {}), dev: e.peerIndex! }).catch((err: unknown) => {
        if (!(isKernelError(err) && err.code === 'EEXIST')) throw err;
      });
      out.push({ dst: r.dst, ...(gw ? { gw } : {}) });
    }
    return out;
  }

  private async attachment(n: NetworkInfo, e: EndpointInfo, netns: string, routes: CniRoute[], conf: NetConf): Promise<Attachment> {
    // The bridge driver chooses the host end's MAC; only an older record lacks it.
    const hostMac = e.hostMac ?? (await linkGet(undefined, e.hostIfname!)).mac;
    const ips = [
      ...(e.ipv4 ? [{ address: e.ipv4, ...(n.pools4[0]?.gateway ? { gateway: n.pools4[0].gateway } : {}), interface: 1 }] : []),
      ...(e.ipv6 ? [{ address: e.ipv6, ...(n.pools6[0]?.gateway ? { gateway: n.pools6[0].gateway } : {}), interface: 1 }] : []),
    ];
    return {
      interfaces: [
        { name: e.hostIfname!, ...(hostMac ? { mac: hostMac } : {}) },
        { name: e.ifname!, ...(e.mac ? { mac: e.mac } : {}), sandbox: netns },
      ],
      ips,
      routes,
      ...(conf.dns ? { dns: conf.dns } : {}),
    };
  }

  // ---- DEL: best effort, idempotent

  private async del(req: CniRequest): Promise<undefined> {
    const sb = this.c.sandboxByContainer(sandboxIdFor(req.containerId));
    if (sb) {
      // An attachment is (network, container, ifname): the DEL a runtime sends
      // after an ADD refused because another network holds the ifname must
      // leave that network's interface alone.
      const found = this.endpointOf(sb, req.ifname);
      const ep = found && this.networkNameOf(found) === req.conf.name ? found : undefined;
      const others = sb.endpoints().filter((e) => e.id !== ep?.id);
      // The last interface takes the sandbox with it (and releases the namespace).
      if (!others.length) await sb.destroy();
      else if (ep) await ep.delete(true);
    }
    // An endpoint left behind by an interrupted ADD.
    const net = this.c.networkByName(req.conf.name);
    const stray = net?.endpoints().find((e) => e.name === endpointName(req.containerId, req.ifname));
    if (stray) await stray.delete(true);
    return undefined;
  }

  private networkNameOf(ep: Endpoint): string {
    return this.c.network(ep.info().networkId).name;
  }

  // ---- CHECK: the attachment against the kernel and the runtime's prevResult

  private async check(req: CniRequest): Promise<undefined> {
    // SPEC.md CHECK: the runtime passes the result it holds, and the plugin
    // checks against it, allowing for what later plugins in the chain changed.
    const prev = req.conf.prevResult;
    if (!prev) throw new CniError(CniCode.InvalidConfig, 'CHECK needs prevResult (the result the runtime holds for this attachment)');
    const sb = this.c.sandboxByContainer(sandboxIdFor(req.containerId));
    if (!sb) throw new CniError(CniCode.UnknownContainer, `container ${req.containerId} has no nsnet attachment`);
    const ep = this.endpointOf(sb, req.ifname);
    if (!ep) throw new CniError(CniCode.UnknownContainer, `container ${req.containerId} has no interface ${req.ifname} on nsnet`);
    const e = ep.info();
    const on = this.networkNameOf(ep);
    if (on !== req.conf.name)
      throw new CniError(CniCode.CheckFailed, `interface ${req.ifname} of container ${req.containerId} is on network ${on}, not ${req.conf.name}`);
    await sameNamespace(sb, req.netns);
    const failed = (what: string) => new CniError(CniCode.CheckFailed, `CHECK ${req.containerId}/${req.ifname}: ${what}`);
    const link = await linkGet(sb.netns, req.ifname).catch((err: unknown) => {
      if (isKernelError(err) && err.code === 'ENODEV') throw failed(`no interface ${req.ifname} in ${req.netns}`);
      throw err;
    });
    if (!link.up) throw failed(`interface ${req.ifname} is down`);
    // The MAC the result holds: a later plugin (tuning) may have set another than ours.
    const listed = listOf(prev['interfaces']).find((i) => i['name'] === req.ifname && typeof i['sandbox'] === 'string');
    const mac = typeof listed?.['mac'] === 'string' ? listed['mac'].toLowerCase() : undefined;
    if (mac && link.mac !== mac) throw failed(`interface ${req.ifname} has MAC ${link.mac}, prevResult lists ${mac}`);
    const addrs = (await addrList(sb.netns)).filter((a) => a.index === link.index).map((a) => a.cidr);
    for (const want of [e.ipv4, e.ipv6]) if (want && !addrs.includes(want)) throw failed(`interface ${req.ifname} lacks address ${want}`);
    await linkGet(undefined, e.hostIfname!).catch(() => { throw failed(`host interface ${e.hostIfname} is gone`); });
    // What the runtime recorded must be what is there.
    const prevIps = listOf(prev['ips']);
    for (const want of [e.ipv4, e.ipv6]) {
      if (want && !prevIps.some((p) => p['address'] === want)) throw failed(`prevResult does not list ${want}`);
    }
    await checkRoutes(sb, listOf(prev['routes']), failed);
    return undefined;
  }

  // ---- GC: attachments of this network the runtime no longer lists

  private async gc(conf: NetConf): Promise<undefined> {
    const net = this.c.networkByName(conf.name);
    if (!net) return undefined;
    const valid = new Set((conf.validAttachments ?? []).map((a) => `${a.containerID}/${a.ifname}`));
    const gone: { containerId: string; ifname: string }[] = [];
    for (const ep of net.endpoints()) {
      if (!ep.name.startsWith(SANDBOX_PREFIX)) continue; // not made through CNI
      const key = ep.name.slice(SANDBOX_PREFIX.length);
      if (valid.has(key)) continue;
      const slash = key.lastIndexOf('/');
      gone.push({ containerId: key.slice(0, slash), ifname: key.slice(slash + 1) });
    }
    for (const g of gone) {
      await this.locked(g.containerId, () =>
        this.del({ command: 'DEL', containerId: g.containerId, netns: '', ifname: g.ifname, args: {}, conf }));
    }
    return undefined;
  }
}

type Obj = Record<string, unknown>;
const listOf = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter((x): x is Obj => typeof x === 'object' && x !== null) : []);

/** Each route prevResult lists is in the namespace's main table (by destination: the default route may be another interface's after an election). */
async function checkRoutes(sb: Sandbox, routes: Obj[], failed: (what: string) => Error): Promise<void> {
  const wanted = routes.map((r) => r['dst']).filter((d): d is string => typeof d === 'string');
  if (!wanted.length) return;
  const have = new Set<string>();
  for (const family of [4, 6] as const) {
    for (const r of await routeList(sb.netns, family)) have.add(r.dst === 'default' ? (family === 4 ? '0.0.0.0/0' : '::/0') : r.dst);
  }
  for (const dst of wanted) {
    let canonical: string;
    try {
      canonical = formatPrefix(parsePrefix(dst, true));
    } catch {
      throw failed(`prevResult lists a route to "${dst}", not a prefix`);
    }
    if (!have.has(canonical)) throw failed(`no route to ${canonical} in the namespace`);
  }
}

/** The runtime's namespace for a container must stay the one its sandbox adopted. */
async function sameNamespace(sb: Sandbox, netns: string): Promise<void> {
  if (sb.key === netns) return;
  const ns = await netnsOpen(netns).catch(() => undefined);
  if (ns) await netnsRelease(ns).catch(() => undefined);
  if (!ns || ns.ino !== sb.info().ino)
    throw new CniError(CniCode.Conflict, `container ${sb.containerId.slice(SANDBOX_PREFIX.length)} is attached in namespace ${sb.key}, not ${netns}`);
}

/** Capabilities (runtimeConfig) and CNI_ARGS as endpoint options. */
function endpointOptions(req: CniRequest): EndpointCreateOptions {
  const rt = req.conf.runtime;
  const o: EndpointCreateOptions = { ifname: req.ifname };
  const fromArgs = req.args['IP'] ? req.args['IP'].split(',').map((ip) => ip.split('/')[0]!) : [];
  for (const ip of fromArgs) {
    try {
      parseIP(ip);
    } catch {
      throw new CniError(CniCode.InvalidEnvironment, `CNI_ARGS: IP=${req.args['IP']}: "${ip}" is not an IP address`);
    }
  }
  const ips = [...rt.ips.map((ip) => ip.split('/')[0]!), ...fromArgs];
  const v4 = ips.filter((ip) => !ip.includes(':'));
  const v6 = ips.filter((ip) => ip.includes(':'));
  if (v4.length > 1 || v6.length > 1) throw new CniError(CniCode.UnsupportedField, `ips: nsnet gives an interface one address per family, got ${ips.join(', ')}`);
  if (v4[0]) o.ipv4Address = v4[0];
  if (v6[0]) o.ipv6Address = v6[0];
  const mac = rt.mac ?? req.args['MAC'];
  if (mac) o.macAddress = mac.toLowerCase();
  if (rt.aliases.length) o.aliases = rt.aliases;
  if (rt.portMappings.length) {
    o.ports = rt.portMappings.map((p): PortBinding => ({
      proto: p.protocol === 'udp' ? 'udp' : 'tcp', containerPort: p.containerPort, hostPort: p.hostPort, hostIp: p.hostIP ?? '',
    }));
  }
  return o;
}
