// overlay: one network across hosts (Docker's overlay driver, with the peers
// fed by the caller instead of gossip). On each host it is a bridge network
// (the bridge driver's own: gateway address, firewall and NAT, veth joins)
// whose bridge has one more port, a VXLAN device: frames for endpoints on
// other hosts leave through it, encapsulated to their host's VTEP. Learning
// and flooding are off: each remote endpoint is a static neighbour entry (its
// IP → MAC, answered by the device's ARP proxy) and a static FDB entry (its
// MAC → its host's VTEP), so nothing is ever broadcast between hosts.
import { ConflictError, InvalidInputError, NsnetError } from '../errors.js';
import {
  addrList, batch, isKernelError, linkAddVxlanOp, linkDel, linkGet, linkSet, linkSetOp, type Link,
} from '../netlink/index.js';
import {
  BridgeOption, collect, fault, type Driver, type DriverContext, type EndpointRecord, type JoinPlan, type JoinTarget, type RouteChange,
  type NetworkRecord, type OverlayPeer, type Undo,
} from '../driver-api/index.js';
import { BridgeDriver } from './bridge.js';
import { checkPeer, OverlayPeers } from './overlay-peers.js';

/** Docker's option names (libnetwork/drivers/overlay). */
export const OverlayOption = {
  /** The VNI, decimal (Docker's takes one per subnet; nsnet's overlay has one). */
  Vni: 'com.docker.network.driver.overlay.vxlanid_list',
} as const;

/** IANA's VXLAN port, Docker's default. */
export const VXLAN_PORT = 4789;
/** VXLAN's encapsulation: outer Ethernet, IPv4, UDP and VXLAN headers (Docker's vxlanEncap). */
export const VXLAN_OVERHEAD = 50;
const VNI_MAX = 0xffffff;

interface OverlayState {
  vni: number;
  /** The VXLAN device's name. */
  vxlan: string;
  /** The local VTEP the device was made with. */
  local: string;
  /** The bridge, VXLAN and veth MTU (read by the bridge driver too). */
  mtu: number;
}

/** The VNI option, checked; InvalidInputError if missing or not 1..16777215. */
export function vniOf(net: NetworkRecord): number {
  const v = net.options[OverlayOption.Vni];
  if (v === undefined || v === '') throw new InvalidInputError(`an overlay network needs its VNI: option ${OverlayOption.Vni}`);
  if (!/^\d{1,8}$/.test(v) || Number(v) < 1 || Number(v) > VNI_MAX)
    throw new InvalidInputError(`invalid VNI "${v}" in option ${OverlayOption.Vni}: one decimal number from 1 to ${VNI_MAX}`);
  return Number(v);
}

export class OverlayDriver implements Driver {
  readonly type = 'overlay';
  readonly scope = 'global';
  readonly needsAddresses = true;
  readonly singleton = false;
  /** VXLAN ifindex by network ID. */
  private readonly index = new Map<string, number>();
  private readonly peerTable = new OverlayPeers();

  /**
   * `bridge`: the controller's bridge driver, which makes and joins this
   * driver's bridges and rebuilds their firewall after a restart (built with
   * sharedWith ['overlay']).
   */
  constructor(private readonly ctx: DriverContext, private readonly bridge: BridgeDriver) {}

  static vxlanName(net: NetworkRecord): string {
    return `vx-${net.id.slice(0, 12)}`;
  }

  private state(net: NetworkRecord): OverlayState {
    return net.driverState as unknown as OverlayState;
  }

  validate(net: NetworkRecord, others: readonly NetworkRecord[]): void {
    if (!this.ctx.advertiseAddress)
      throw new InvalidInputError('an overlay network needs this host\'s advertise address (its VTEP): start the controller with advertiseAddress');
    const vni = vniOf(net);
    if (net.enableIPv6) throw new InvalidInputError('overlay networks carry IPv4 only: peers are programmed by IPv4 address');
    // Every host must hold the same subnet: one picked from local pools would differ.
    if (!net.ipam.config.some((c) => c.Subnet && !c.Subnet.includes(':')))
      throw new InvalidInputError('an overlay network needs its IPv4 subnet given (the same on every host)');
    const clash = others.find((o) => o.driver === this.type && o.options[OverlayOption.Vni] !== undefined && Number(o.options[OverlayOption.Vni]) === vni);
    if (clash) throw new ConflictError(`VNI ${vni} is already used by overlay network ${clash.name}`);
    this.bridge.validate(net, others);
  }

  /** The interface holding the advertise address: the underlay. */
  private async underlay(): Promise<Link> {
    const local = this.ctx.advertiseAddress!;
    const held = (await addrList(undefined, { family: 4 })).find((a) => a.address === local);
    if (!held) throw new InvalidInputError(`advertise address ${local} is on no interface of this host: it cannot be an overlay network's VTEP`);
    return linkGet(undefined, held.index);
  }

  async createNetwork(net: NetworkRecord, undo: Undo): Promise<void> {
    fault('overlay.create.underlay');
    const underlay = await this.underlay();
    const mtu = net.options[BridgeOption.Mtu] ? Number(net.options[BridgeOption.Mtu]) : underlay.mtu - VXLAN_OVERHEAD;
    net.driverState = { vni: vniOf(net), vxlan: OverlayDriver.vxlanName(net), local: this.ctx.advertiseAddress!, mtu } satisfies OverlayState;
    await this.bridge.createNetwork(net, undo);
    fault('overlay.create.vxlan');
    await this.makeVxlan(net, this.ctx.advertiseAddress!, undo);
  }

  /** The VXLAN device, enslaved to the network's bridge and up; its ifindex noted. */
  private async makeVxlan(net: NetworkRecord, local: string, undo?: Undo): Promise<void> {
    const st = this.state(net);
    const master = this.bridge.bridgeIndex(net);
    if (master === undefined) throw new NsnetError('ENOBRIDGE', `network ${net.name} has no bridge`);
    const [made, ...rest] = await batch([
      linkAddVxlanOp(undefined, {
        name: st.vxlan, vni: st.vni, local, port: VXLAN_PORT, learning: false, proxy: true, l2miss: false, l3miss: false, mtu: st.mtu, master,
        group: this.ctx.ownership.made,
      }),
      // As the bridge's veth ends: a port needs no IPv6 link-local address
      // (set before up, in a request of its own: the kernel refuses it at creation).
      linkSetOp(undefined, st.vxlan, { noIpv6AddrGen: true }),
      // The kernel ignores an alias at creation. The alias lets a restart's sweep find a stray one (the group, one whose alias a crash kept from being set).
      linkSetOp(undefined, st.vxlan, { alias: this.ctx.ownership.bridgeAlias(net.id), up: true }),
    ], { stopOnError: true });
    if (!made?.ok) {
      const e = made?.error;
      if (isKernelError(e, 'EEXIST'))
        throw new ConflictError(`VNI ${st.vni} (UDP port ${VXLAN_PORT}) or interface ${st.vxlan} is already in use on this host`);
      throw e ?? new NsnetError('ENOVXLAN', `vxlan ${st.vxlan}: no answer`);
    }
    undo?.push(`delete vxlan ${st.vxlan}`, () => linkDel(undefined, st.vxlan));
    const bad = rest.find((r) => !r.ok);
    if (bad && !bad.ok) throw bad.error;
    const link = await linkGet(undefined, st.vxlan);
    this.index.set(net.id, link.index);
    undo?.push('forget vxlan index', () => this.index.delete(net.id));
  }

  async deleteNetwork(net: NetworkRecord): Promise<void> {
    const st = this.state(net);
    this.index.delete(net.id);
    this.peerTable.forget(net.id);
    // The VXLAN port first: nothing from other hosts arrives while the bridge goes.
    await collect(`delete overlay network ${net.name}`, [
      () => linkDel(undefined, st.vxlan).catch((e: unknown) => {
        if (!isKernelError(e, 'ENODEV')) throw e;
      }),
      () => this.bridge.deleteNetwork(net),
    ]);
  }

  /**
   * After a restart: the bridge as the bridge driver restores it, the VXLAN
   * device remade if missing or no longer as wanted (another VNI or local
   * address), enslaved and up; then its static entries made exactly the
   * known peers (none after a process restart, until the caller feeds them).
   */
  async restoreNetwork(net: NetworkRecord): Promise<void> {
    await this.bridge.restoreNetwork(net);
    const st = this.state(net);
    const local = this.ctx.advertiseAddress ?? st.local;
    let link = await linkGet(undefined, st.vxlan).catch((e: unknown) => {
      if (isKernelError(e, 'ENODEV')) return undefined;
      throw e;
    });
    if (link && link.alias !== this.ctx.ownership.bridgeAlias(net.id))
      throw new ConflictError(`interface ${link.name} exists and is not network ${net.name}'s VXLAN device`);
    if (link && (link.vxlan?.vni !== st.vni || link.vxlan?.local !== local)) {
      await linkDel(undefined, link.index);
      link = undefined;
    }
    if (!link) {
      await this.makeVxlan(net, local);
    } else {
      await linkSet(undefined, link.index, { master: this.bridge.bridgeIndex(net)!, up: true });
      this.index.set(net.id, link.index);
    }
    await this.peerTable.converge(net.id, this.index.get(net.id)!);
  }

  validateEndpoint(net: NetworkRecord, ep: EndpointRecord): void {
    this.bridge.validateEndpoint(net, ep);
  }

  checkJoin(net: NetworkRecord, joined: number): void {
    this.bridge.checkJoin(net, joined);
  }

  joinPlan(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget, undo: Undo, joined: number): JoinPlan {
    return this.bridge.joinPlan(net, ep, target, undo, joined);
  }

  join(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget, undo: Undo, joined: number): Promise<void> {
    return this.bridge.join(net, ep, target, undo, joined);
  }

  leave(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget, sandboxGone: boolean): Promise<void> {
    return this.bridge.leave(net, ep, target, sandboxGone);
  }

  publishPorts(net: NetworkRecord, ep: EndpointRecord, undo: Undo): Promise<void> {
    return this.bridge.publishPorts(net, ep, undo);
  }

  setGateway(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget, change?: RouteChange): Promise<void> {
    return this.bridge.setGateway(net, ep, target, change);
  }

  async peerAdd(net: NetworkRecord, peer: OverlayPeer): Promise<void> {
    const p = checkPeer(net, peer, this.ctx.advertiseAddress ?? this.state(net).local);
    const dev = this.index.get(net.id);
    if (dev === undefined) throw new NsnetError('ENOVXLAN', `network ${net.name} has no VXLAN device (was it restored?)`);
    fault('overlay.peer.add');
    await this.peerTable.add(net.id, dev, p);
  }

  async peerDelete(net: NetworkRecord, peer: OverlayPeer): Promise<void> {
    await this.peerTable.delete(net.id, this.index.get(net.id), peer.endpointId);
  }

  peers(net: NetworkRecord): OverlayPeer[] {
    return this.peerTable.list(net.id);
  }
}
