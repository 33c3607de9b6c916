// bridge: a Linux bridge per network, a veth pair per endpoint. The
// container end is born inside the sandbox under its final name (moving it
// would cost ~18 ms), a join is one crossing in any namespace (see
// joinPlan), and leave never waits for the kernel's link destruction (the
// controller's graveyard deletes left links later, in one request).
import { existsSync } from 'node:fs';
import { ConflictError, ForbiddenError, InvalidInputError, NsnetError } from '../errors.js';
import { randomHex, randomLocalMac } from '../random.js';
import {
  addrAdd, addrAddOp, addrDel, addrDelOp, addrList, batch, isKernelError, linkAddBridge, linkDel,
  linkGet, linkSet, linkSetOp, onEchoedLink, sysctlGet, sysctlSet, vethJoinMadeVeth, vethJoinOp, type KernelError,
  type BridgeAttrs, type Op,
} from '../netlink/index.js';
import {
  BridgeOption, collect, fault, isNsnetBridgeAlias, parseBool, type Driver, type JoinPlan, type DriverContext, type EndpointRecord, type JoinTarget, type NetworkRecord, type RouteChange, type Undo,
} from '../driver-api/index.js';
import { checkBoolOption, checkInterfaceName, checkIP } from '../driver-api/validate.js';
import { defaultGateways, defaultRouteOps, moveDefaultRoute, NO_ROUTES } from '../driver-api/default-route.js';
import { bornDown, bornWithoutIpv6, interfaceIpv6Op } from '../driver-api/interface-ipv6.js';
import { endpointSysctlOps } from '../driver-api/endpoint-sysctls.js';
import { linkLocalOps } from '../driver-api/link-local.js';
import { formatIP, normCidr, parseIP } from '../ip/addr.js';
import type { FwNetwork, GatewayMode } from '../firewall/firewall.js';

/**
 * A Linux bridge numbers its ports in 10 bits and never uses port 0
 * (BR_MAX_PORTS = 1 << 10), so 1023 interfaces fit; the next gets EXFULL.
 */
export const BRIDGE_MAX_PORTS = 1023;

export class BridgeFullError extends NsnetError {
  constructor(bridge: string) {
    super('EBRIDGEFULL', `bridge ${bridge} has ${BRIDGE_MAX_PORTS} ports, the most a Linux bridge can hold: connect the container to another network`);
  }
}

interface BridgeState {
  bridge: string;
  created: boolean;
  /**
   * A bridge nsnet did not make, as it was found: put back exactly so on
   * delete (its own addresses stay, it goes down again if nsnet brought it
   * up, its MTU and route_localnet return). Absent in records from before
   * this was kept.
   */
  found?: { addresses: string[]; up: boolean; mtu: number; routeLocalnet?: string };
}

/** What the firewall needs to know of a bridge network. */
function firewallView(net: NetworkRecord): FwNetwork {
  const [snat4, snat6] = [net.options[BridgeOption.HostIPv4], net.options[BridgeOption.HostIPv6]];
  const [gwm4, gwm6, trusted] = [gatewayMode(net, 4), gatewayMode(net, 6), trustedInterfaces(net)];
  return {
    id: net.id,
    bridge: BridgeDriver.bridgeName(net),
    subnets4: net.pools4.map((p) => p.subnet),
    subnets6: net.pools6.map((p) => p.subnet),
    icc: parseBool(net.options[BridgeOption.EnableICC], true),
    masquerade: parseBool(net.options[BridgeOption.EnableIPMasquerade], true),
    internal: net.internal,
    // Canonical text, as the rules are: validate() took only one address of each family.
    ...(snat4 ? { snat4: formatIP(parseIP(snat4)) } : {}),
    ...(snat6 ? { snat6: formatIP(parseIP(snat6)) } : {}),
    // Checked by validate(); what a record from before that holds otherwise counts as the default (or is left out).
    ...(gwm4 !== 'nat' ? { gatewayMode4: gwm4 } : {}),
    ...(gwm6 !== 'nat' ? { gatewayMode6: gwm6 } : {}),
    ...(trusted.length ? { trusted } : {}),
  };
}

const GATEWAY_MODES: readonly string[] = ['nat', 'nat-unprotected', 'routed'] satisfies GatewayMode[];

/** A network's gateway mode for one family; anything unchecked counts as the default. */
const gatewayMode = (net: NetworkRecord, family: 4 | 6): GatewayMode => {
  const v = net.options[family === 4 ? BridgeOption.GatewayModeIPv4 : BridgeOption.GatewayModeIPv6];
  return v && GATEWAY_MODES.includes(v) ? (v as GatewayMode) : 'nat';
};

/** trusted_host_interfaces as given: colon-separated names. */
const trustedNames = (net: NetworkRecord): string[] =>
  (net.options[BridgeOption.TrustedHostInterfaces] ?? '').split(':').filter((x) => x !== '');

/** Only valid names (validate() refuses others; older records may hold them): they are written into the rules as text. */
const trustedInterfaces = (net: NetworkRecord): string[] =>
  trustedNames(net).filter((x) => {
    try {
      return !!checkInterfaceName(BridgeOption.TrustedHostInterfaces, x);
    } catch {
      return false;
    }
  });

/** Stands for the container end's index until the addon fills in the echoed one. */
const PLACEHOLDER = 1;

/** Whether the host namespace has IPv6 at all (a kernel booted with ipv6.disable=1 has no such directory). */
const HOST_IPV6 = existsSync('/proc/sys/net/ipv6/conf');

export class BridgeDriver implements Driver {
  readonly type = 'bridge';
  readonly scope = 'local';
  readonly needsAddresses = true;
  readonly singleton = false;
  /** Bridge ifindex by network ID, resolved once. */
  private readonly index = new Map<string, number>();
  /**
   * Left host ends still enslaved, per network, oldest first, with the
   * reaper round after which they are gone: they hold bridge ports until
   * then. Leave does not detach them (a bridge port's removal waits for an
   * RCU grace period: about half a millisecond on every leave); a join that
   * would otherwise find the bridge full detaches the oldest in its own
   * crossing instead of waiting for a deletion.
   */
  private readonly leftEnslaved = new Map<string, { host: string; goneAfter: number }[]>();

  /** Driver types whose networks are bridges of this driver too: firewall rebuilds and bridge-name clashes cover them. */
  private readonly carried: ReadonlySet<string>;

  /**
   * `sharedWith`: other drivers built on this one's networks (overlay: a
   * bridge with a VXLAN port), which share its bridges' code and firewall.
   */
  constructor(private readonly ctx: DriverContext, sharedWith: readonly string[] = []) {
    this.carried = new Set([this.type, ...sharedWith]);
  }

  static bridgeName(net: NetworkRecord): string {
    return net.options[BridgeOption.Name] || `br-${net.id.slice(0, 12)}`;
  }

  /** The option, else what the network's driver chose at creation (an overlay's underlay MTU less the encapsulation), else the controller's. */
  mtu(net: NetworkRecord): number {
    const v = net.options[BridgeOption.Mtu];
    if (v) return Number(v);
    const chosen = net.driverState.mtu;
    return typeof chosen === 'number' ? chosen : this.ctx.defaultMtu;
  }

  /**
   * A bridge nsnet creates. Multicast snooping is off unless asked for: with
   * it on, every port's state change (each join adds one, each carrier
   * change of a port is one) re-arms multicast timers on every port of the
   * bridge, under RTNL (1,000 joins into one bridge: the last 100 took 0.71-
   * 0.74 ms with it on, 0.60 off, the first 100 0.46-0.55 either way).
   * Off, the bridge floods multicast to every port, as a
   * hub would; container bridges rarely have a querier, without which
   * snooping is known to lose IPv6 neighbour discovery and group traffic.
   */
  private bridgeAttrs(net: NetworkRecord, name: string): BridgeAttrs {
    return {
      // An address of its own, fixed at creation (the kernel's NET_ADDR_SET), as
      // Docker's setupDevice gives it: without one a bridge takes the lowest MAC
      // of its ports and changes it when that port goes, and containers' cached
      // neighbour entry for the gateway points nowhere until ARP notices.
      name, mtu: this.mtu(net), up: true, mac: randomLocalMac(), group: this.ctx.ownership.made,
      multicastSnooping: parseBool(net.options[BridgeOption.MulticastSnooping], false),
    };
  }

  /** The ifindex of a network's bridge, once created or restored. */
  bridgeIndex(net: NetworkRecord): number | undefined {
    return this.index.get(net.id);
  }

  private state(net: NetworkRecord): BridgeState {
    return net.driverState as unknown as BridgeState;
  }

  validate(net: NetworkRecord, others: readonly NetworkRecord[]): void {
    // The controller has checked that options are strings without control
    // characters and the MTU; what is left is what only a bridge reads.
    const name = checkInterfaceName(`option ${BridgeOption.Name}`, BridgeDriver.bridgeName(net));
    for (const k of [BridgeOption.EnableICC, BridgeOption.EnableIPMasquerade, BridgeOption.DefaultBridge, BridgeOption.InhibitIPv4, BridgeOption.MulticastSnooping])
      checkBoolOption(k, net.options[k]);
    const hostIp = net.options[BridgeOption.HostBindingIPv4];
    if (hostIp) checkIP(`option ${BridgeOption.HostBindingIPv4}`, hostIp);
    // Written into the rules as text: each must be one address of its family.
    for (const [k, family] of [[BridgeOption.HostIPv4, 4], [BridgeOption.HostIPv6, 6]] as const) {
      const v = net.options[k];
      if (!v) continue;
      let ok = false;
      try { ok = parseIP(v).family === family; } catch { /* not an address */ }
      if (!ok) throw new InvalidInputError(`invalid ${k} option ${JSON.stringify(v)}: an IPv${family} address`);
    }
    for (const family of [4, 6] as const) {
      const k = family === 4 ? BridgeOption.GatewayModeIPv4 : BridgeOption.GatewayModeIPv6;
      const v = net.options[k];
      if (v === undefined || v === '' || GATEWAY_MODES.includes(v)) continue;
      // Docker's isolated mode takes the bridge's address away, where this
      // network's resolver listens: refused rather than half done.
      if (v === 'isolated') throw new InvalidInputError(`option ${k}=isolated is not supported by nsnet: use nat, nat-unprotected or routed`);
      throw new InvalidInputError(`invalid option ${k}=${JSON.stringify(v)}: one of nat, nat-unprotected, routed`);
    }
    for (const i of trustedNames(net)) checkInterfaceName(`option ${BridgeOption.TrustedHostInterfaces}`, i);
    const view = firewallView(net);
    this.ctx.firewall.preflight({ icc: view.icc, internal: view.internal, ipv6: net.enableIPv6 });
    const clash = others.find((o) => this.carried.has(o.driver) && BridgeDriver.bridgeName(o) === name);
    if (clash) throw new ConflictError(`bridge name ${name} is already used by network ${clash.name}`);
  }

  async createNetwork(net: NetworkRecord, undo: Undo): Promise<void> {
    const name = BridgeDriver.bridgeName(net);
    let created = false;
    let found: BridgeState['found'];
    const existing = await linkGet(undefined, name).catch((e: unknown) => {
      if (isKernelError(e, 'ENODEV')) return undefined;
      throw e;
    });
    if (existing && existing.kind !== 'bridge') throw new ConflictError(`interface ${name} exists and is not a bridge`);
    // Another nsnet network's bridge (of this controller or another one): its owner deletes it with its network.
    if (existing && isNsnetBridgeAlias(existing.alias))
      throw new ConflictError(`bridge ${name} belongs to another nsnet network (alias ${existing.alias!.slice(0, 12)}…): remove that network, or the bridge (ip link del ${name}) if the nsnet that made it is gone`);
    if (!existing) {
      fault('bridge.create.link');
      await linkAddBridge(undefined, this.bridgeAttrs(net, name));
      created = true;
      undo.push(`delete bridge ${name}`, () => linkDel(undefined, name));
      await linkSet(undefined, name, { alias: this.ctx.ownership.bridgeAlias(net.id) });
    } else {
      // The user's bridge: note how it is before changing anything.
      const addrs = await addrList(undefined, { index: existing.index });
      found = { addresses: addrs.map((a) => normCidr(a.cidr)), up: existing.up, mtu: existing.mtu };
      if (this.ctx.firewall.enabled) found.routeLocalnet = await sysctlGet(`net/ipv4/conf/${name}/route_localnet`);
      if (!existing.up) {
        await linkSet(undefined, existing.index, { up: true });
        undo.push(`put ${name} down again`, () => linkSet(undefined, existing.index, { up: false }));
      }
    }
    const link = existing ?? (await linkGet(undefined, name));
    this.index.set(net.id, link.index);
    undo.push('forget bridge index', () => this.index.delete(net.id));
    fault('bridge.create.address');
    await this.addGatewayAddresses(net, link.index, undo, !created);
    // Merged: a driver built on this one keeps its own fields beside these.
    net.driverState = { ...net.driverState, ...({ bridge: name, created, ...(found ? { found } : {}) } satisfies BridgeState) };
    fault('bridge.create.firewall');
    if (found?.routeLocalnet !== undefined) {
      const before = found.routeLocalnet;
      undo.push(`put back route_localnet of ${name}`, () => sysctlSet(`net/ipv4/conf/${name}/route_localnet`, before));
    }
    await this.ctx.firewall.addNetwork(firewallView(net));
    undo.push('remove firewall rules', () => this.ctx.firewall.removeNetwork(net.id));
  }

  /** The addresses nsnet gives the bridge: each pool's gateway (IPv4's not with inhibit_ipv4, as Docker's). */
  private gatewayCidrs(net: NetworkRecord): { cidr: string; v6: boolean }[] {
    const out: { cidr: string; v6: boolean }[] = [];
    const v4 = !parseBool(net.options[BridgeOption.InhibitIPv4], false);
    if (v4) for (const p of net.pools4) if (p.gateway) out.push({ cidr: `${p.gateway}/${p.subnet.split('/')[1]}`, v6: false });
    for (const p of net.pools6) if (p.gateway) out.push({ cidr: `${p.gateway}/${p.subnet.split('/')[1]}`, v6: true });
    return out;
  }

  private async addGatewayAddresses(net: NetworkRecord, index: number, undo: Undo | undefined, tolerateExisting: boolean): Promise<void> {
    for (const g of this.gatewayCidrs(net)) {
      try {
        await addrAdd(undefined, index, g.cidr, { noDad: g.v6 });
        undo?.push(`remove ${g.cidr}`, () => addrDel(undefined, index, g.cidr));
      } catch (e) {
        if (!(tolerateExisting && isKernelError(e, 'EEXIST'))) throw e;
      }
    }
  }

  async deleteNetwork(net: NetworkRecord): Promise<void> {
    const st = this.state(net);
    const index = this.index.get(net.id);
    await this.ctx.firewall.removeNetwork(net.id);
    this.index.delete(net.id);
    this.leftEnslaved.delete(net.id);
    if (st.created) {
      await linkDel(undefined, st.bridge).catch((e: unknown) => {
        if (!isKernelError(e, 'ENODEV')) throw e;
      });
    } else if (index !== undefined) {
      await this.putBack(net, st, index);
    }
  }

  /** A user's bridge goes back to how createNetwork found it; only what nsnet added is taken away. */
  private async putBack(net: NetworkRecord, st: BridgeState, index: number): Promise<void> {
    // Left host ends are still enslaved until the reaper runs: they go now,
    // so the bridge keeps only its own ports (and its auto MTU settles).
    await this.ctx.graveyard.flush();
    const theirs = new Set(st.found?.addresses ?? []);
    const ours = this.gatewayCidrs(net).filter((g) => !theirs.has(normCidr(g.cidr)));
    const steps: (() => Promise<unknown>)[] = ours.map((g) => () => addrDel(undefined, index, g.cidr).catch((e: unknown) => {
      if (!isKernelError(e, 'EADDRNOTAVAIL', 'ENODEV')) throw e;
    }));
    const f = st.found;
    const link = f && (await linkGet(undefined, index).catch(() => undefined));
    // Gone, or the index now belongs to another link: nothing more to put back.
    if (f && link && link.name === st.bridge) {
      if (link.mtu !== f.mtu) steps.push(() => linkSet(undefined, index, { mtu: f.mtu }));
      if (!f.up && link.up) steps.push(() => linkSet(undefined, index, { up: false }));
      if (f.routeLocalnet !== undefined) steps.push(() => sysctlSet(`net/ipv4/conf/${st.bridge}/route_localnet`, f.routeLocalnet!));
    }
    // Every step is tried even if one fails, so one error does not leave the rest changed.
    await collect(`put back bridge ${st.bridge}`, steps);
  }

  async restoreNetwork(net: NetworkRecord): Promise<void> {
    const st = this.state(net);
    let link = await linkGet(undefined, st.bridge).catch(() => undefined);
    if (!link) {
      await linkAddBridge(undefined, this.bridgeAttrs(net, st.bridge));
      if (st.created) await linkSet(undefined, st.bridge, { alias: this.ctx.ownership.bridgeAlias(net.id) });
      link = await linkGet(undefined, st.bridge);
    } else if (!link.up) {
      await linkSet(undefined, link.index, { up: true });
    }
    this.index.set(net.id, link.index);
    await this.addGatewayAddresses(net, link.index, undefined, true);
  }

  async restored(nets: readonly NetworkRecord[], joined: readonly EndpointRecord[]): Promise<void> {
    // One transaction from the records: nothing stale survives a restart.
    const mine = nets.filter((n) => this.carried.has(n.driver));
    const ids = new Set(mine.map((n) => n.id));
    const claims = joined.filter((e) => ids.has(e.networkId) && e.published?.length);
    const dropped = new Set(await this.ctx.firewall.rebuild(mine.map(firewallView), claims.map((e) => ({ owner: e.id, maps: e.published! }))));
    // A port two records claimed stays with the first; the other endpoint
    // stops listing it (in memory now, in the store with its next write).
    if (dropped.size) for (const e of claims) e.published = e.published!.filter((m) => !dropped.has(m));
  }

  validateEndpoint(_net: NetworkRecord, ep: EndpointRecord): void {
    if (ep.ports?.length) this.ctx.firewall.preflightPorts();
  }

  checkJoin(net: NetworkRecord, joined = 0): void {
    if (joined >= BRIDGE_MAX_PORTS) throw new BridgeFullError(this.state(net).bridge);
  }

  async join(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget, undo: Undo, joined = 0): Promise<void> {
    const plan = this.joinPlan(net, ep, target, undo, joined);
    await plan.finish(await batch(plan.ops));
  }

  /**
   * The join as requests known in advance, for one crossing (or a share of
   * a batched one), and what to do with their answers. The veth is created
   * from the sandbox side, so the container end is born there under its
   * final name and up, and its host end is born in the host; the host end
   * then has IPv6 disabled, and is enslaved and brought up (a veth's
   * peer takes no master or up at creation: the kernel applies neither, and
   * up fails until the pair is linked). The container end's index comes
   * from the creating request's echo, filled into the later requests by the
   * addon: the same five requests in any namespace (IPv4), four rtnetlink
   * and one sysctl write, none of which needs to enter a namespace. In a
   * namespace the runtime made, an IPv4-only container end is born down and
   * takes two more: its IPv6 sysctl (through the namespace's sysctl
   * directory the addon holds open, no namespace switch either) and up.
   */
  joinPlan(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget, undo: Undo, joined = 0): JoinPlan {
    if (!target.ns) throw new ForbiddenError('a container in the host namespace cannot join a bridge network');
    const master = this.index.get(net.id);
    if (master === undefined) throw new NsnetError('ENOBRIDGE', `network ${net.name} has no bridge (was it restored?)`);
    this.checkJoin(net, joined);
    // Ports held by left links: those the reaper has deleted since are
    // forgotten; if the rest would fill the bridge, the oldest leave it now
    // (nomaster), in this join's crossing, before the new port is added.
    const left = (this.leftEnslaved.get(net.id) ?? []).filter((l) => l.goneAfter > this.ctx.graveyard.completed);
    this.leftEnslaved.set(net.id, left);
    const over = joined + left.length + 1 - BRIDGE_MAX_PORTS;
    const detach = over > 0 ? left.splice(0, over).map((l) => linkSetOp(undefined, l.host, { master: null })) : [];
    // A fresh host name per join: a left host end keeps its name until the
    // reaper deletes it, and nothing needs to rename it.
    const host = (ep.hostIfname = `nsv${randomHex(6)}`);
    // Chosen here rather than left to the kernel, so nothing has to ask the
    // kernel for it afterwards (a CNI result lists it), and an address set
    // at creation is one udev's MACAddressPolicy leaves alone.
    const hostMac = (ep.hostMac = randomLocalMac());
    fault('bridge.join.veth');
    const mtu = this.mtu(net);
    const at = detach.length;
    // The container end's IPv4 address and default route go with the veth
    // when nothing has to come between (a container end born down is
    // configured first, then brought up, then routed).
    const down = bornDown(ep, target);
    const address4 = down ? undefined : ep.ipv4;
    const gw4 = address4 && target.gateway ? defaultGateways(net, target.gateway).gw4 : undefined;
    const ops: Op<unknown>[] = [
      ...detach,
      // One request for the veth and its host end's setup (netlink/veth-join.ts).
      // One queue each way, allocated so: a veth otherwise gets one per CPU
      // and cuts the active count to one after registering each end, each
      // cut an expedited RCU grace period under RTNL, slow whenever the other
      // CPUs are busy (a joinMany of 32: 25 -> 10 ms of kernel work). One
      // queue is active either way; what is lost is raising the count later
      // with ethtool -L.
      // A bridge port needs no IPv6 of its own. Address generation off was
      // not enough: each host end still had a multicast route in the host's
      // IPv6 table, and every link event in the host walked that table, so
      // joins slowed in proportion to the host ends already there. With IPv6
      // disabled before up, the host end gets neither addresses nor routes.
      // No netlink attribute does this; the sysctl is opened from a
      // directory kept open, not walked from /proc/sys (see the addon).
      vethJoinOp(target.ns, {
        name: ep.ifname!, up: !down, mtu, ...(ep.mac ? { mac: ep.mac } : {}),
        host: { name: host, mac: hostMac, group: this.ctx.ownership.live, master, ipv6Off: HOST_IPV6 },
        ...(address4 ? { address4 } : {}), ...(gw4 ? { gateway4: gw4 } : {}),
      }),
    ];
    const configure = this.configureOps(net, ep, target, !!address4);
    // Each configure request takes the container end's index from the echo, `back` places before it.
    for (const c of configure) ops.push(c.byIndex ? onEchoedLink(c.op, ops.length - at) : c.op);
    return {
      ops,
      finish: async (all) => {
        // A detach that finds the link gone (the reaper was quicker) is fine.
        const res = all.slice(at);
        const first = res[0];
        if (!first) throw new NsnetError('EVETH', `veth ${host}: no answer`);
        // Undo deletes the pair at once: a failed join must free the
        // interface name inside the sandbox before it returns.
        const unmake = () => undo.push(`delete veth ${host}`, () => linkDel(undefined, host));
        if (!first.ok) {
          if (vethJoinMadeVeth(first.error, ep.ifname!)) unmake();
          throw first.error;
        }
        const index = first.value as number | undefined;
        unmake();
        if (!index) throw new NsnetError('EVETH', `veth ${host}: the kernel did not echo the new link`);
        ep.peerIndex = index;
        const bad = res.find((r) => !r.ok);
        if (bad && !bad.ok) throw bad.error;
        fault('bridge.join.configure');
        await this.publishPorts(net, ep, undo);
      },
    };
  }

  async publishPorts(net: NetworkRecord, ep: EndpointRecord, undo: Undo): Promise<void> {
    if (!ep.ports?.length || !(ep.ipv4 || ep.ipv6)) return;
    // The only firewall work on the endpoint path, and only for published ports.
    const hostIp = net.options[BridgeOption.HostBindingIPv4] ?? '';
    const bindings = ep.ports.map((b) => ({ ...b, hostIp: b.hostIp || hostIp }));
    fault('bridge.join.ports');
    const ips = { ...(ep.ipv4 ? { v4: ep.ipv4.split('/')[0]! } : {}), ...(ep.ipv6 ? { v6: ep.ipv6.split('/')[0]! } : {}) };
    ep.published = await this.ctx.firewall.publish(ep.id, ips, bindings);
    undo.push('unpublish ports', async () => { await this.ctx.firewall.unpublish(ep.id, ep.published ?? []); delete ep.published; });
  }

  /**
   * Inside the sandbox: addresses, default route; `byIndex` ones name the
   * container end by its (echoed) index. A container end born down (an
   * IPv4-only one in a runtime's namespace, which has its IPv6 turned off
   * first, or one with sysctls of its own) is brought up after them, before
   * the route that needs it. With `taken4`, the IPv4 address and default
   * route went with the veth (vethJoinOp).
   */
  private configureOps(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget, taken4: boolean): { op: Op<unknown>; byIndex: boolean }[] {
    const ops: { op: Op<unknown>; byIndex: boolean }[] = [];
    if (bornWithoutIpv6(ep, target)) ops.push({ op: interfaceIpv6Op(target, ep.ifname!, false), byIndex: false });
    if (ep.ipv4 && !taken4) ops.push({ op: addrAddOp(target.ns, PLACEHOLDER, ep.ipv4), byIndex: true });
    if (ep.ipv6) {
      ops.push({ op: interfaceIpv6Op(target, ep.ifname!, true), byIndex: false });
      ops.push({ op: addrAddOp(target.ns, PLACEHOLDER, ep.ipv6, { noDad: true }), byIndex: true });
    }
    for (const op of linkLocalOps(target.ns, PLACEHOLDER, ep)) ops.push({ op, byIndex: true });
    for (const op of endpointSysctlOps(target, ep.ifname!, ep)) ops.push({ op, byIndex: false });
    if (bornDown(ep, target)) ops.push({ op: linkSetOp(target.ns, PLACEHOLDER, { up: true }), byIndex: true });
    const routes = target.gateway && (taken4 ? { ...target.gateway, v4: false } : target.gateway);
    if (routes) for (const op of defaultRouteOps(net, target.ns, PLACEHOLDER, routes)) ops.push({ op, byIndex: true });
    return ops;
  }

  async leave(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget, sandboxGone: boolean): Promise<void> {
    const host = ep.hostIfname!;
    // The rules go now; the ports stay reserved, and listed, until the
    // controller records the leave (it frees them then: see unprogram).
    if (ep.published?.length) await this.ctx.firewall.unprogram(ep.id, ep.published);
    fault('bridge.leave.link');
    if (sandboxGone) {
      // The namespace's deletion takes both ends; only cut the host end off
      // the bridge now, so the dying namespace's address stops answering.
      const [r] = await batch([linkSetOp(undefined, host, { up: false, group: this.ctx.ownership.dead })]);
      if (r && !r.ok && !isKernelError(r.error, 'ENODEV')) throw r.error;
      this.ctx.graveyard.bury();
      return;
    }
    const peer = ep.peerIndex ?? ep.ifname!;
    // The container end gets a grave name so the sandbox can reuse its
    // interface name at once (host ends have a fresh name per join).
    const grave = () => `nsd${randomHex(6)}`;
    // The host end first, still a bridge port until the reaper deletes it
    // (see leftEnslaved): a crash after any of these requests then leaves a
    // host end in the dead group, which restore reads as a leave begun,
    // never a container end half taken apart under its live name.
    const ops: Op<unknown>[] = [linkSetOp(undefined, host, { up: false, group: this.ctx.ownership.dead })];
    const index = typeof peer === 'number' ? peer : 0;
    for (const cidr of [ep.ipv4, ep.ipv6, ...(ep.linkLocal ?? [])]) if (cidr) ops.push(addrDelOp(target.ns, index, cidr));
    ops.push(linkSetOp(target.ns, peer, { up: false }));
    if (typeof peer === 'number') ops.push(linkSetOp(target.ns, peer, { name: grave() }));
    const res = await batch(ops);
    const bad = res.filter((r) => !r.ok && !isKernelError(r.error, 'EADDRNOTAVAIL', 'ENODEV', 'ENOENT', 'ESTALE'));
    if (bad.length) {
      const first = bad[0] as { ok: false; error: KernelError };
      throw first.error;
    }
    const list = this.leftEnslaved.get(net.id) ?? [];
    list.push({ host, goneAfter: this.ctx.graveyard.started + 1 });
    this.leftEnslaved.set(net.id, list);
    this.ctx.graveyard.bury();
  }

  setGateway(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget, change?: RouteChange): Promise<void> {
    return moveDefaultRoute(net, ep, target.ns, target.gateway || NO_ROUTES, change);
  }
}

