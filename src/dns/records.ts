// The name index the resolver answers from: a plain snapshot of who is on
// which user-defined network, rebuilt whenever the daemon says its state
// changed. Kept free of sockets and of the controller so it can be tested
// (and reasoned about) as data.
import { gatewayOrder, type GatewayRank } from '../driver-api/gateway-order.js';

/** One joined endpoint of a running container on a network that has embedded DNS. */
export interface DnsEndpoint {
  /** The container; endpoints sharing it share the asker's scope. */
  containerId: string;
  /** The container's name (PTR answers use it). */
  containerName: string;
  networkId: string;
  /** Docker's DNSNames: the container name, its aliases on this network, its short ID. */
  names: string[];
  /** `--link target:alias` on this network: names only this container resolves. */
  links: { alias: string; target: string }[];
  ipv4?: string;
  ipv6?: string;
  /** The container's own --dns servers (forwarding targets ahead of the daemon's). */
  upstreams: string[];
  /** The container set `ndots` itself (--dns-option): a single-label name is then not forwarded. */
  ndotsSet?: boolean;
  /** The endpoint's gateway priority: the first key of the order the asker's networks are searched in. */
  gwPriority?: number;
}

export interface DnsNetwork {
  id: string;
  name: string;
  internal: boolean;
  /** The address the resolver listens on (the bridge's gateway). */
  gateway: string;
}

export interface DnsSnapshot {
  networks: DnsNetwork[];
  endpoints: DnsEndpoint[];
}

export interface LocalAnswer {
  /** The name is known in the asker's scope (so AAAA without IPv6 is an empty NOERROR, not a forward). */
  found: boolean;
  ipv4: string[];
  ipv6: string[];
}

export const norm = (name: string): string => name.toLowerCase().replace(/\.$/, '');

/** Who asks: the endpoint whose address sent the query on the network it arrived on, or none. */
export interface Asker {
  containerId: string;
  /** Networks the asker is on: the scope of its answers. */
  scope: Set<string>;
  /** Its endpoints in libnetwork's order (Endpoint.Less, driver-api/gateway-order.ts). */
  endpoints: DnsEndpoint[];
  upstreams: string[];
  ndotsSet: boolean;
}

export class DnsIndex {
  readonly networks = new Map<string, DnsNetwork>();
  private readonly byName = new Map<string, Map<string, DnsEndpoint[]>>();
  private readonly byNetName = new Map<string, DnsNetwork>();
  private readonly bySource = new Map<string, DnsEndpoint>();
  private readonly byContainer = new Map<string, DnsEndpoint[]>();
  private readonly byAddress = new Map<string, DnsEndpoint[]>();
  /** Per container, made once per index rather than per query (the hot path). */
  private readonly askers = new Map<string, Asker>();

  constructor(snap: DnsSnapshot) {
    for (const n of snap.networks) {
      this.networks.set(n.id, n);
      this.byName.set(n.id, new Map());
      this.byNetName.set(norm(n.name), n);
    }
    for (const e of snap.endpoints) {
      const names = this.byName.get(e.networkId);
      if (!names) continue;
      for (const raw of new Set(e.names.map(norm))) {
        const list = names.get(raw);
        if (list) list.push(e);
        else names.set(raw, [e]);
      }
      for (const ip of [e.ipv4, e.ipv6]) {
        if (!ip) continue;
        this.bySource.set(`${e.networkId}|${ip}`, e);
        const at = this.byAddress.get(ip);
        if (at) at.push(e);
        else this.byAddress.set(ip, [e]);
      }
      const mine = this.byContainer.get(e.containerId);
      if (mine) mine.push(e);
      else this.byContainer.set(e.containerId, [e]);
    }
  }

  /** The asker behind a source address on the network a query arrived on. */
  asker(networkId: string, source: string): Asker | undefined {
    const e = this.bySource.get(`${networkId}|${source}`);
    if (!e) return undefined;
    let a = this.askers.get(e.containerId);
    if (!a) {
      const rank = (x: DnsEndpoint): GatewayRank => {
        const net = this.networks.get(x.networkId);
        // An internal network has no gateway; an endpoint's addresses tell the families its network has.
        const families = net?.internal ? 0 : Number(!!x.ipv4) + Number(!!x.ipv6);
        return { priority: x.gwPriority ?? 0, internal: !!net?.internal, families, name: net?.name ?? '' };
      };
      const endpoints = [...(this.byContainer.get(e.containerId) ?? [e])].sort((x, y) => gatewayOrder(rank(x), rank(y)));
      a = { containerId: e.containerId, scope: new Set(endpoints.map((x) => x.networkId)), endpoints, upstreams: e.upstreams, ndotsSet: !!e.ndotsSet };
      this.askers.set(e.containerId, a);
    }
    return a;
  }

  /**
   * A, AAAA: the name on the asker's networks (or, as `name.network`, on
   * that one if shared); the asker's link aliases first. As libnetwork's
   * Sandbox.ResolveName (Docker 28), the networks are searched in the
   * asker's endpoint order and the first that has the name answers, with
   * every address its holders have (none of a family it lacks: an empty
   * answer, not the next network's): the same name on two networks is not
   * merged. A network where the asker's link alias is the name is skipped
   * by the plain lookup, as libnetwork skips it. Link aliases resolve in
   * the `alias.network` form too.
   * An unknown asker (the host itself, say) sees only the network it asked on.
   */
  lookup(networkId: string, source: string, qname: string): LocalAnswer {
    const asker = this.asker(networkId, source);
    const q = norm(qname);
    const mine = asker?.endpoints ?? [{ networkId, links: [] }];
    // The holders of the name on the first network, in search order, that has it.
    let hit: DnsEndpoint[] | undefined;
    const inNet = (netId: string, name: string) => {
      hit ??= this.byName.get(netId)?.get(name);
    };
    const aliased = (own: Pick<DnsEndpoint, 'links'>, name: string) => own.links.some((l) => norm(l.alias) === name);
    // As libnetwork: the whole name, then `name.network` split at each dot
    // from the last (the shortest network name first), each on the asker's
    // networks of that name; link aliases, then names.
    for (let i = q.length; i > 0 && !hit; i = q.lastIndexOf('.', i - 1)) {
      const name = q.slice(0, i);
      const net = i < q.length ? this.byNetName.get(q.slice(i + 1)) : undefined;
      if (i < q.length && !net) continue;
      const on = net ? mine.filter((own) => own.networkId === net.id) : mine;
      for (const own of on) for (const l of own.links) if (norm(l.alias) === name) inNet(own.networkId, norm(l.target));
      for (const own of on) if (!aliased(own, name)) inNet(own.networkId, name);
    }
    const of = (family: 'ipv4' | 'ipv6') => [...new Set((hit ?? []).map((e) => e[family]).filter((x): x is string => !!x))];
    return { found: !!hit, ipv4: of('ipv4'), ipv6: of('ipv6') };
  }

  /** PTR: `name.network` of an address on a network the asker shares. */
  reverse(networkId: string, source: string, address: string): string | undefined {
    const scope = this.asker(networkId, source)?.scope ?? new Set([networkId]);
    const e = (this.byAddress.get(address) ?? []).find((x) => scope.has(x.networkId));
    const net = e ? this.networks.get(e.networkId) : undefined;
    return e && net ? `${e.containerName}.${net.name}` : undefined;
  }
}

/** The address a PTR name stands for (in-addr.arpa / ip6.arpa), or undefined. */
export function ptrAddress(qname: string): string | undefined {
  const q = norm(qname);
  if (q.endsWith('.in-addr.arpa')) {
    const parts = q.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
    return parts.reverse().map(Number).join('.');
  }
  if (q.endsWith('.ip6.arpa')) {
    const nibbles = q.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.length !== 32 || nibbles.some((n) => !/^[0-9a-f]$/.test(n))) return undefined;
    const hex = nibbles.reverse().join('');
    const groups = hex.match(/.{4}/g)!.map((g) => g.replace(/^0+(?=.)/, ''));
    return compress6(groups);
  }
  return undefined;
}

/** RFC 5952 text of eight hextets: the longest run of zero groups (≥ 2) becomes `::`. */
function compress6(groups: string[]): string {
  let best = -1;
  let len = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > len && j - i >= 2) { best = i; len = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + len).join(':')}`;
}
