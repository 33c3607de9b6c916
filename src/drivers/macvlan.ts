// macvlan: containers appear as hosts of their own on the network of a parent
// interface (Docker's macvlan driver). Per endpoint, a macvlan on the parent
// is created from the host namespace and born inside the sandbox under its
// final name (IFLA_NET_NS_FD), with its address and default route in the same
// crossing. The gateway is a router on the external network: IPAM reserves
// its address and nsnet assigns it to nothing. No bridge, no firewall rules.
import { ConflictError, ForbiddenError, InvalidInputError } from '../errors.js';
import {
  addrAddOp, batch, batchAll, isKernelError, linkAddMacvlanOp, linkDel, linkGet, linkSetOp,
  type Link, type Op,
} from '../netlink/index.js';
import { BridgeOption, fault, type Driver, type EndpointRecord, type JoinTarget, type NetworkRecord, type RouteChange, type Undo } from '../driver-api/index.js';
import { checkInterfaceName } from '../driver-api/validate.js';
import { defaultRouteOps, moveDefaultRoute, NO_ROUTES } from '../driver-api/default-route.js';
import { bornDown, bornWithoutIpv6, interfaceIpv6Op } from '../driver-api/interface-ipv6.js';
import { endpointSysctlOps } from '../driver-api/endpoint-sysctls.js';
import { linkLocalOps } from '../driver-api/link-local.js';

/** Docker's option names (libnetwork/drivers/macvlan). */
export const MacvlanOption = {
  Parent: 'parent',
  Mode: 'macvlan_mode',
} as const;

/** The modes Docker accepts; the kernel's `source` is not one of them. */
const MODES = ['bridge', 'private', 'vepa', 'passthru'] as const;
type Mode = (typeof MODES)[number];

interface MacvlanState {
  parent: string;
  mode: Mode;
}

/** Interface groups of nsnet's container host ends (any data directory's): 0x6e000000..0x6effffff. */
const isNsnetGroup = (group: number): boolean => group >>> 24 === 0x6e;
/** A bridge nsnet made for a network (any data directory's), by the alias it carries. */
const isNsnetBridge = (alias: string | undefined): boolean => /^nsnet:[0-9a-f]{6}:[0-9a-f]{64}$/.test(alias ?? '');

export class MacvlanDriver implements Driver {
  readonly type = 'macvlan';
  readonly scope = 'local';
  readonly needsAddresses = true;
  readonly singleton = false;

  static parent(net: NetworkRecord): string | undefined {
    return net.options[MacvlanOption.Parent] || undefined;
  }

  static mode(net: NetworkRecord): Mode {
    return (net.options[MacvlanOption.Mode] || 'bridge') as Mode;
  }

  private state(net: NetworkRecord): MacvlanState {
    return net.driverState as unknown as MacvlanState;
  }

  validate(net: NetworkRecord, others: readonly NetworkRecord[]): void {
    const parent = MacvlanDriver.parent(net);
    if (!parent) throw new InvalidInputError('a macvlan network needs a parent interface: -o parent=IFACE');
    checkInterfaceName(`option ${MacvlanOption.Parent}`, parent);
    const mode = net.options[MacvlanOption.Mode];
    if (mode && !(MODES as readonly string[]).includes(mode))
      throw new InvalidInputError(`requested macvlan mode '${mode}' is not valid, 'bridge' mode is the macvlan driver default`);
    const clash = others.find((o) => o.driver === this.type && MacvlanDriver.parent(o) === parent);
    if (clash) throw new ConflictError(`network ${clash.name} is already using parent interface ${parent}`);
  }

  /** The parent as it is now, refused when it cannot carry macvlans nsnet would own. */
  private async parentLink(net: NetworkRecord, name: string): Promise<Link> {
    const link = await linkGet(undefined, name).catch((e: unknown) => {
      if (isKernelError(e, 'ENODEV')) throw new InvalidInputError(`invalid parent interface ${name} for macvlan network ${net.name}: no such interface`);
      throw e;
    });
    if (link.name === 'lo') throw new InvalidInputError(`invalid parent interface ${name}: the loopback cannot be a macvlan parent`);
    // nsnet's own objects, this controller's or another's (each data
    // directory has its own tag and groups, all in 0x6e……): a container's
    // host end, a bridge of a network, a port of one.
    if (isNsnetGroup(link.group)) throw new ForbiddenError(`invalid parent interface ${name}: it is a container's interface made by nsnet`);
    if (isNsnetBridge(link.alias)) throw new ForbiddenError(`invalid parent interface ${name}: it is a bridge of an nsnet network`);
    if (link.master !== undefined) {
      const master = await linkGet(undefined, link.master).catch(() => undefined);
      if (master && isNsnetBridge(master.alias))
        throw new ForbiddenError(`invalid parent interface ${name}: it is a port of bridge ${master.name} of an nsnet network`);
      // The bridge holds the port's receive hook: the kernel would refuse every join (EBUSY).
      if (master?.kind === 'bridge') throw new InvalidInputError(`invalid parent interface ${name}: it is a port of bridge ${master.name}`);
    }
    const mtu = net.options[BridgeOption.Mtu];
    if (mtu && Number(mtu) > link.mtu)
      throw new InvalidInputError(`invalid MTU ${mtu} for macvlan network ${net.name}: larger than the MTU of parent ${name} (${link.mtu})`);
    return link;
  }

  async createNetwork(net: NetworkRecord, undo: Undo): Promise<void> {
    void undo; // nothing is made in the kernel until a join
    const parent = MacvlanDriver.parent(net)!;
    fault('macvlan.create.parent');
    await this.parentLink(net, parent);
    net.driverState = { parent, mode: MacvlanDriver.mode(net) } satisfies MacvlanState;
  }

  async deleteNetwork(): Promise<void> {
    // Every endpoint has left by now, and with it its macvlan.
  }

  async restoreNetwork(): Promise<void> {
    // Nothing of the network lives in the kernel; joined endpoints' links
    // live in their sandboxes, which the controller checks.
  }

  checkJoin(): void {}

  async join(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget, undo: Undo): Promise<void> {
    if (!target.ns) throw new ForbiddenError('a container in the host namespace cannot join a macvlan network');
    const st = this.state(net);
    fault('macvlan.join.link');
    const parent = await this.parentLink(net, st.parent);
    const mtu = net.options[BridgeOption.Mtu] ? Number(net.options[BridgeOption.Mtu]) : undefined;
    const attrs = {
      name: ep.ifname!, parent: parent.index, mode: st.mode, netns: target.ns, up: !bornDown(ep, target),
      ...(mtu ? { mtu } : {}), ...(ep.mac ? { mac: ep.mac } : {}),
    };
    // Sent from the host (where the parent is) with the link born inside:
    // the kernel's echo would go to the sandbox's namespace, not to this
    // socket, so the container end's index is read back by name.
    await batchAll([linkAddMacvlanOp(undefined, attrs)]);
    undo.push(`delete macvlan ${ep.ifname!}`, () => linkDel(target.ns, ep.peerIndex ?? ep.ifname!));
    const made = await linkGet(target.ns, ep.ifname!);
    ep.peerIndex = made.index;
    fault('macvlan.join.configure');
    await batchAll(this.configureOps(net, ep, target, made.index));
  }

  /** Inside the sandbox: addresses, sysctls and the default route via the external gateway; a link born down comes up after them. */
  private configureOps(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget, index: number): Op<unknown>[] {
    const ops: Op<unknown>[] = [];
    if (bornWithoutIpv6(ep, target)) ops.push(interfaceIpv6Op(target, ep.ifname!, false));
    if (ep.ipv4) ops.push(addrAddOp(target.ns, index, ep.ipv4));
    if (ep.ipv6) {
      ops.push(interfaceIpv6Op(target, ep.ifname!, true));
      ops.push(addrAddOp(target.ns, index, ep.ipv6, { noDad: true }));
    }
    ops.push(...linkLocalOps(target.ns, index, ep));
    ops.push(...endpointSysctlOps(target, ep.ifname!, ep));
    if (bornDown(ep, target)) ops.push(linkSetOp(target.ns, index, { up: true }));
    if (target.gateway) ops.push(...defaultRouteOps(net, target.ns, index, target.gateway));
    return ops;
  }

  async leave(_net: NetworkRecord, ep: EndpointRecord, target: JoinTarget, sandboxGone: boolean): Promise<void> {
    const ref = ep.peerIndex ?? ep.ifname!;
    // Down first, in one quick request, so it stops answering at once and
    // its MAC leaves the parent's table: an up macvlan keeps it there, and
    // the next container given the same address (so the same MAC) failed to
    // come up, EADDRINUSE.
    const [r] = await batch([linkSetOp(target.ns, ref, { up: false })]);
    if (r && !r.ok && !isKernelError(r.error, 'ENODEV')) throw r.error;
    // A namespace's deletion takes its macvlans with it (later: the kernel
    // cleans namespaces up in the background). Otherwise the deletion waits
    // for the kernel (~20 ms) on the slow lane.
    if (sandboxGone) return;
    await linkDel(target.ns, ref).catch((e: unknown) => {
      if (!isKernelError(e, 'ENODEV')) throw e;
    });
  }

  setGateway(net: NetworkRecord, ep: EndpointRecord, target: JoinTarget, change?: RouteChange): Promise<void> {
    return moveDefaultRoute(net, ep, target.ns, target.gateway || NO_ROUTES, change);
  }
}
