// The global address space: networks, VNIs, subnets and addresses allocated
// in etcd with compare-and-swap transactions, so two hosts never hand out the
// same one. Each choice is made from what was read, then committed only if
// what it depends on has not changed; a lost race is retried with fresh data.
import { randomInt } from 'node:crypto';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors.js';
import { errAddressInUse, type PoolSpec } from '../ipam/index.js';
import { checkAddress, checkSubnetFree, gatewayOf, pickAddress, pickSubnet, type SubnetUse } from './allocate.js';
import { ClusterError } from './errors.js';
import { keys, parseJson, type AddressClaim, type EndpointEntry, type GlobalNetwork } from './keys.js';
import type { Compare, EtcdStore, Op } from './store.js';

/** Docker's overlay VNI range (libnetwork's vxlanIDStart, vxlanIDEnd). */
export const VNI_FIRST = 4096;
export const VNI_LAST = (1 << 24) - 1;
/** Attempts before a contended allocation gives up (each one lost to another host's commit). */
const ATTEMPTS = 512;

/** What a global network is created from (the API's request, checked). */
export interface GlobalNetworkRequest {
  id: string;
  name: string;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  internal?: boolean;
  attachable?: boolean;
  labels?: Record<string, string>;
  options?: Record<string, string>;
}

/** A network record as stored while a delete checks it is unused: no address can be taken meanwhile. */
type Stored = GlobalNetwork & { deleting?: true };

const json = (v: unknown) => JSON.stringify(v);

export class Registry {
  /** Per network: this host's allocations, one at a time (they would all pick the same free address). */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly store: EtcdStore, readonly host: string, private readonly pools: readonly PoolSpec[]) {}

  async networks(): Promise<{ networks: GlobalNetwork[]; revision: string }> {
    const { entries, revision } = await this.store.list(keys.networks);
    const networks = entries.map((e) => parseJson<Stored>(e.value)).filter((n): n is Stored => !!n && !n.deleting);
    return { networks, revision };
  }

  async network(id: string): Promise<GlobalNetwork | undefined> {
    const n = parseJson<Stored>((await this.store.get(keys.network(id)))?.value);
    return n && !n.deleting ? n : undefined;
  }

  /** Creates the network cluster-wide: a unique name, a free VNI, a subnet overlapping none in use. `avoid`: this host's own routes. */
  async createNetwork(req: GlobalNetworkRequest, avoid: readonly string[] = []): Promise<GlobalNetwork> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const [name, subnetsKv] = await Promise.all([this.store.get(keys.name(req.name)), this.store.get(keys.subnets)]);
      if (name) throw new ConflictError(`network with name ${req.name} already exists`, 'ENETWORKEXISTS');
      const used = parseJson<{ list: SubnetUse[] }>(subnetsKv?.value)?.list ?? [];
      let subnet: string;
      if (req.subnet) {
        checkSubnetFree(req.subnet, used);
        subnet = req.subnet;
      } else {
        subnet = pickSubnet(this.pools, used, avoid);
      }
      const net: GlobalNetwork = {
        id: req.id, name: req.name, driver: 'overlay', vni: randomInt(VNI_FIRST, VNI_LAST + 1), subnet, gateway: gatewayOf(subnet, req.gateway),
        ...(req.ipRange ? { ipRange: req.ipRange } : {}),
        internal: !!req.internal, attachable: !!req.attachable, labels: { ...(req.labels ?? {}) }, options: { ...(req.options ?? {}) },
        created: new Date().toISOString(),
      };
      const ok = await this.store.txn([
        { key: keys.name(net.name), absent: true },
        { key: keys.vni(net.vni), absent: true },
        { key: keys.network(net.id), absent: true },
        subnetsKv ? { key: keys.subnets, modRevision: subnetsKv.modRevision } : { key: keys.subnets, absent: true },
      ], [
        { put: keys.name(net.name), value: net.id },
        { put: keys.vni(net.vni), value: net.id },
        { put: keys.subnets, value: json({ list: [...used, { subnet, network: net.id }] }) },
        { put: keys.network(net.id), value: json(net) },
      ]);
      if (ok) return net;
    }
    throw new ClusterError(`could not create network ${req.name}: the cluster store kept changing under ${ATTEMPTS} attempts`);
  }

  /**
   * Removes the network cluster-wide, refused while any host holds an
   * address on it. The record is first marked as being deleted (address
   * allocations compare it, so none can slip in), then checked, then removed.
   */
  async deleteNetwork(id: string): Promise<void> {
    const cur = await this.store.get(keys.network(id));
    const net = parseJson<Stored>(cur?.value);
    if (!cur || !net) return; // already gone cluster-wide
    const marked = json({ ...net, deleting: true });
    if (!(await this.store.txn([{ key: keys.network(id), modRevision: cur.modRevision }], [{ put: keys.network(id), value: marked }])))
      throw new ConflictError(`network ${net.name} changed while it was being removed: try again`);
    const held = (await this.store.list(keys.addresses(id))).entries;
    if (held.length) {
      await this.store.txn([{ key: keys.network(id), value: marked }], [{ put: keys.network(id), value: json(net) }]);
      const hosts = [...new Set(held.map((e) => parseJson<AddressClaim>(e.value)?.host ?? '?'))].sort();
      throw new ForbiddenError(`error while removing network: network ${net.name} id ${id} has active endpoints (on ${hosts.join(', ')})`, 'EACTIVEENDPOINTS');
    }
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const subnetsKv = await this.store.get(keys.subnets);
      const used = parseJson<{ list: SubnetUse[] }>(subnetsKv?.value)?.list ?? [];
      const ops: Op[] = [
        { delete: keys.network(id) }, { delete: keys.name(net.name) }, { delete: keys.vni(net.vni) },
        { deletePrefix: keys.endpoints(id) }, { deletePrefix: keys.addresses(id) },
      ];
      if (subnetsKv) ops.push({ put: keys.subnets, value: json({ list: used.filter((u) => u.network !== id) }) });
      const cmp: Compare = subnetsKv ? { key: keys.subnets, modRevision: subnetsKv.modRevision } : { key: keys.subnets, absent: true };
      if (await this.store.txn([cmp, { key: keys.network(id), value: marked }], ops)) return;
    }
    throw new ClusterError(`could not remove network ${net.name}: the cluster store kept changing under ${ATTEMPTS} attempts`);
  }

  /**
   * An address on the network for this host, under its lease: the lowest
   * free one, or `requested` (refused when another endpoint holds it).
   */
  allocateAddress(id: string, lease: string, requested?: string): Promise<string> {
    const prev = this.queues.get(id) ?? Promise.resolve();
    const run = prev.then(() => this.allocateNow(id, lease, requested), () => this.allocateNow(id, lease, requested));
    const settled = run.catch(() => undefined);
    this.queues.set(id, settled);
    void settled.then(() => { if (this.queues.get(id) === settled) this.queues.delete(id); });
    return run;
  }

  private async allocateNow(id: string, lease: string, requested?: string): Promise<string> {
    const [netKv, held] = await Promise.all([this.store.get(keys.network(id)), this.store.list(keys.addresses(id))]);
    const net = parseJson<Stored>(netKv?.value);
    if (!netKv || !net || net.deleting) throw new NotFoundError(`network ${id} not found`);
    const taken = new Set(held.entries.map((e) => e.key.slice(keys.addresses(id).length)));
    const claim = json({ host: this.host } satisfies AddressClaim);
    const want = requested ? checkAddress(net.subnet, net.gateway, requested) : undefined;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const ip = want ?? pickAddress(net.subnet, net.gateway, net.ipRange, taken);
      if (want && taken.has(want)) throw errAddressInUse(want);
      const ok = await this.store.txn(
        [{ key: keys.network(id), modRevision: netKv.modRevision }, { key: keys.address(id, ip), absent: true }],
        [{ put: keys.address(id, ip), value: claim, lease }],
      );
      if (ok) return ip;
      // Lost: to another host's commit of this address, or the network changed (being deleted).
      const now = await this.store.get(keys.network(id));
      if (!now || now.modRevision !== netKv.modRevision) throw new NotFoundError(`network ${id} not found`);
      taken.add(ip);
    }
    throw new ClusterError(`could not allocate an address on network ${net.name}: the cluster store kept changing under ${ATTEMPTS} attempts`);
  }

  /** Gives an address back (only if it is still this host's). */
  async releaseAddress(id: string, ip: string): Promise<void> {
    const cur = await this.store.get(keys.address(id, ip));
    if (!cur || parseJson<AddressClaim>(cur.value)?.host !== this.host) return;
    await this.store.txn([{ key: keys.address(id, ip), modRevision: cur.modRevision }], [{ delete: keys.address(id, ip) }]);
  }

  /**
   * Publishes an endpoint for the other hosts (its address must be this
   * host's): the endpoint key and the address's claim, under the lease.
   * Also used to re-register after a lease was lost: an address that another
   * host took meanwhile is a conflict, reported and left to its holder.
   */
  async registerEndpoint(netId: string, e: EndpointEntry, lease: string): Promise<void> {
    const cur = await this.store.get(keys.address(netId, e.ip));
    const claim = parseJson<AddressClaim>(cur?.value);
    if (cur && claim?.host !== this.host)
      throw new ConflictError(`address ${e.ip} of endpoint ${e.endpointId} on network ${netId} is held by host ${claim?.host ?? '?'}`, 'IP_ALREADY_ALLOCATED');
    const ok = await this.store.txn(
      [cur ? { key: keys.address(netId, e.ip), modRevision: cur.modRevision } : { key: keys.address(netId, e.ip), absent: true }, { key: keys.network(netId), present: true }],
      [
        { put: keys.address(netId, e.ip), value: json({ host: this.host, endpointId: e.endpointId } satisfies AddressClaim), lease },
        { put: keys.endpoint(netId, e.endpointId), value: json(e), lease },
      ],
    );
    if (!ok) throw new ConflictError(`address ${e.ip} on network ${netId} changed while endpoint ${e.endpointId} was registered`, 'IP_ALREADY_ALLOCATED');
  }

  /** Withdraws an endpoint and its address (only what is still this host's). */
  async releaseEndpoint(netId: string, epId: string, ip: string | undefined): Promise<void> {
    const cur = await this.store.get(keys.endpoint(netId, epId));
    if (cur && parseJson<EndpointEntry>(cur.value)?.host === this.host)
      await this.store.txn([{ key: keys.endpoint(netId, epId), modRevision: cur.modRevision }], [{ delete: keys.endpoint(netId, epId) }]);
    if (ip) await this.releaseAddress(netId, ip);
  }

  /** Everything this host holds in etcd: addresses and endpoints by network. */
  async held(): Promise<{ addresses: { netId: string; ip: string; modRevision: string }[]; endpoints: { netId: string; epId: string; modRevision: string }[] }> {
    const [a, e] = await Promise.all([this.store.list(keys.allAddresses), this.store.list(keys.allEndpoints)]);
    const addresses = a.entries.filter((x) => parseJson<AddressClaim>(x.value)?.host === this.host).map((x) => {
      const [netId = '', ip = ''] = x.key.slice(keys.allAddresses.length).split('/');
      return { netId, ip, modRevision: x.modRevision };
    });
    const endpoints = e.entries.filter((x) => parseJson<EndpointEntry>(x.value)?.host === this.host).map((x) => {
      const [netId = '', epId = ''] = x.key.slice(keys.allEndpoints.length).split('/');
      return { netId, epId, modRevision: x.modRevision };
    });
    return { addresses, endpoints };
  }

  /** Deletes one of this host's keys if unchanged since read (a stale leftover of a previous run). */
  async dropStale(key: string, modRevision: string): Promise<void> {
    await this.store.txn([{ key, modRevision }], [{ delete: key }]);
  }
}

