// The bridge driver's firewall: nftables rules per network in one table
// nsnet owns, published ports as map elements, IP forwarding when a network
// needs it (restoring the previous value when nsnet no longer does).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError } from '../errors.js';
import { sysctlGet, sysctlSet } from '../netlink/index.js';
import { lockFile, unlockFile } from '../netlink/file-lock.js';

const CLAIMS_ROOT = '/run/nsnet/sysctl';
/**
 * Forwarding sysctls belong to a network namespace, and /run is shared by
 * every namespace of the host (a daemon may run inside one, as a multi-host
 * test's hosts do): claims are kept per namespace, by its inode.
 */
const claimsDir = (key: string): string =>
  join(CLAIMS_ROOT, `netns-${statSync('/proc/self/ns/net').ino}`, key.replaceAll('/', '.'));
import { nftApply, NftMissingError } from './nft.js';
import { BRIDGE_SYSCTL_DIR, checkBrNetfilter } from './preflight.js';
import { PortRegistry, type PortBinding } from './ports.js';
import { networkAddScript, networkDelScript, portElements, tableDelScript, tableScript, type FwNetwork, type GatewayMode, type PortMapping } from './ruleset.js';

export type FirewallMode = 'nftables' | 'none';

export class Firewall {
  private readonly nets = new Map<string, FwNetwork>();
  private tableUp = false;
  readonly ports = new PortRegistry();
  /** Endpoints whose port rules a leave removed and whose ports it has not yet released. */
  private readonly unprogrammed = new Set<string>();

  constructor(readonly tag: string, readonly mode: FirewallMode, private readonly bridgeSysctlDir = BRIDGE_SYSCTL_DIR) {
    if (mode !== 'nftables' && mode !== 'none') throw new InvalidInputError(`invalid firewall mode ${JSON.stringify(mode)}: "nftables" or "none"`);
  }

  get enabled(): boolean {
    return this.mode === 'nftables';
  }

  /**
   * Before anything is made: refuses what this host cannot enforce. With
   * `none` chosen, options that only the firewall implements are refused
   * rather than quietly ignored; the nftables tools themselves are checked
   * where a rule is applied (nftApply).
   */
  preflight(n: { icc: boolean; internal: boolean; ipv6: boolean }): void {
    if (!this.enabled) {
      const needs = [...(n.icc ? [] : ['enable_icc=false']), ...(n.internal ? ['internal'] : [])];
      if (needs.length) throw new InvalidInputError(`${needs.join(' and ')} needs the firewall, but this controller runs with firewall: "none"`);
      return;
    }
    if (!n.icc) checkBrNetfilter(n.ipv6, this.bridgeSysctlDir);
  }

  /** Published ports are DNAT rules: nothing to publish them with under `none`. */
  preflightPorts(): void {
    if (!this.enabled) throw new InvalidInputError('published ports need the firewall, but this controller runs with firewall: "none"');
  }

  /** The network's rules, forwarding and route_localnet, or (on any failure) none of them. */
  async addNetwork(n: FwNetwork): Promise<void> {
    if (!this.enabled) return;
    const script = `${this.tableUp ? '' : `${tableScript(this.tag)}\n`}${networkAddScript(this.tag, n)}`;
    await nftApply(script);
    this.tableUp = true;
    this.nets.set(n.id, n);
    try {
      await this.forwarding();
      // Lets DNAT of 127.0.0.1 traffic route out to the bridge: published ports depend on it.
      await sysctlSet(`net/ipv4/conf/${n.bridge}/route_localnet`, '1');
    } catch (e) {
      await this.removeNetwork(n.id).catch(() => undefined);
      throw e;
    }
  }

  async removeNetwork(id: string): Promise<void> {
    const n = this.nets.get(id);
    if (!this.enabled || !n) return;
    if (this.nets.size === 1) {
      await nftApply(tableDelScript(this.tag));
      this.tableUp = false;
    } else {
      await nftApply(networkDelScript(this.tag, n));
    }
    this.nets.delete(id);
    await this.forwarding();
  }

  /** Reserves and programs an endpoint's published ports; all or nothing. */
  async publish(owner: string, containerIps: { v4?: string; v6?: string }, bindings: readonly PortBinding[]): Promise<PortMapping[]> {
    if (!bindings.length) return [];
    const maps = this.ports.reserve(owner, containerIps, bindings);
    if (!this.enabled) return maps;
    try {
      await nftApply(portElements(this.tag, maps, 'add'));
    } catch (e) {
      this.ports.release(owner, maps);
      throw e;
    }
    return maps;
  }

  /** A join's undo: the ports were never recorded, so they are free again at once. */
  async unpublish(owner: string, maps: readonly PortMapping[]): Promise<void> {
    if (!maps.length) return;
    this.ports.release(owner, maps);
    await this.dropElements(maps);
  }

  /**
   * A leave: the ports' rules go, the ports stay reserved until
   * releasePorts(). The controller frees them only once the endpoint's
   * record without them is queued for the store, so any commit that records
   * another endpoint taking them records this one giving them up too: a
   * crash can never leave two records claiming one port (which the restart's
   * rebuild would refuse).
   */
  async unprogram(owner: string, maps: readonly PortMapping[]): Promise<void> {
    // A leave retried after a later step failed finds the rules gone already.
    if (!maps.length || this.unprogrammed.has(owner)) return;
    await this.dropElements(maps);
    this.unprogrammed.add(owner);
  }

  releasePorts(owner: string, maps: readonly PortMapping[]): void {
    this.unprogrammed.delete(owner);
    this.ports.release(owner, maps);
  }

  private async dropElements(maps: readonly PortMapping[]): Promise<void> {
    if (this.enabled && this.tableUp) await nftApply(portElements(this.tag, maps, 'delete'));
  }

  /** Restart: drop whatever the table holds and rebuild it from the store's networks and endpoints. */
  async rebuild(nets: readonly FwNetwork[], claims: readonly { owner: string; maps: PortMapping[] }[]): Promise<PortMapping[]> {
    // Records written before ports were freed in store order may have two
    // endpoints claiming one port; the first keeps it, the other's mapping is
    // dropped (one ruleset element per port: a duplicate fails the rebuild).
    const dropped: PortMapping[] = [];
    const published = claims.map((p) => {
      const maps = p.maps.filter((m) => {
        const holder = this.ports.holder(m);
        if (holder === undefined || holder === p.owner) return true;
        dropped.push(m);
        return false;
      });
      this.ports.restore(p.owner, maps);
      return { owner: p.owner, maps };
    });
    if (!this.enabled) return dropped;
    // One transaction: the old table is dropped and the new one made
    // together, so a failure leaves the old rules in force, never none.
    const script = [`add table inet nsnet_${this.tag}`, tableDelScript(this.tag), ...(nets.length ? [
      tableScript(this.tag), ...nets.map((n) => networkAddScript(this.tag, n)),
      ...published.filter((p) => p.maps.length).map((p) => portElements(this.tag, p.maps, 'add')),
    ] : [])].join('\n');
    try {
      await nftApply(script);
    } catch (e) {
      // With no network there is no rule to enforce: a host without nftables
      // can still run a controller that has only none/host networks.
      if (!(nets.length === 0 && e instanceof NftMissingError)) throw e;
    }
    this.tableUp = nets.length > 0;
    this.nets.clear();
    for (const n of nets) this.nets.set(n.id, n);
    await this.forwarding();
    return dropped;
  }

  /**
   * IPv4 forwarding on while a non-internal network exists, IPv6 forwarding
   * while one has IPv6; the values found before are put back when no nsnet
   * controller on the host needs them any more.
   */
  private async forwarding(): Promise<void> {
    const live = [...this.nets.values()].filter((n) => !n.internal);
    await this.sysctlWhile('net/ipv4/ip_forward', live.length > 0);
    await this.sysctlWhile('net/ipv6/conf/all/forwarding', live.some((n) => n.subnets6.length > 0));
  }

  /**
   * Several controllers may share a host (each test file has one): claims
   * are files under /run/nsnet/sysctl/netns-<inode>/<key>/, one per controller, and the
   * value found by the first claimant is kept beside them; the last to let
   * go puts it back.
   */
  private async sysctlWhile(key: string, on: boolean): Promise<void> {
    const dir = claimsDir(key);
    const claim = join(dir, `claim-${this.tag}`);
    const original = join(dir, 'original');
    if (on) {
      if (existsSync(claim)) return;
      await underClaimLock(dir, async () => {
        writeFileSync(claim, '');
        const now = await sysctlGet(key);
        try {
          writeFileSync(original, now, { flag: 'wx' });
        } catch { /* someone else recorded it first */ }
        if (now !== '1') await sysctlSet(key, '1');
      });
    } else {
      await releaseClaim(key, this.tag);
    }
  }
}

/** Drops one controller's claim on a forwarding sysctl; the last claimant puts the recorded value back. */
async function releaseClaim(key: string, tag: string): Promise<void> {
  const dir = claimsDir(key);
  const claim = join(dir, `claim-${tag}`);
  const original = join(dir, 'original');
  if (!existsSync(claim)) return;
  await underClaimLock(dir, async () => {
    rmSync(claim, { force: true });
    if (readdirSync(dir).some((f) => f.startsWith('claim-'))) return;
    let before = '';
    try { before = readFileSync(original, 'utf8'); } catch { return; }
    rmSync(original, { force: true });
    if (before && before !== '1') await sysctlSet(key, before);
  });
}

/**
 * Claims and releases of one key run one at a time, across processes (an
 * flock on a file beside the claims): a claim made while another controller
 * let go of the last one used to find the value still on, and the release
 * then put the old value back under it (forwarding off for a live network).
 */
async function underClaimLock(dir: string, fn: () => Promise<void>): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, '.lock');
  let fd: number | undefined;
  for (let waitedMs = 0; fd === undefined; waitedMs += 2) {
    try {
      fd = lockFile(path);
    } catch (e) {
      // Held for a sysctl read and write at most: a holder that long gone is a bug, not a wait.
      if ((e as { code?: string }).code !== 'EWOULDBLOCK' || waitedMs > 10_000) throw e;
      await new Promise((r) => setTimeout(r, 2));
    }
  }
  try {
    await fn();
  } finally {
    unlockFile(fd);
  }
}

/**
 * For a controller that will not start again (a daemon whose data dir is
 * being thrown away): drops its forwarding claims as its own stop would.
 */
export async function releaseForwardingClaims(tag: string): Promise<void> {
  await releaseClaim('net/ipv4/ip_forward', tag);
  await releaseClaim('net/ipv6/conf/all/forwarding', tag);
}

export type { FwNetwork, GatewayMode, PortMapping, PortBinding };
