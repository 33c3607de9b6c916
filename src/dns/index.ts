// Embedded DNS as the daemon uses it: the index built from a snapshot the
// daemon supplies, rebuilt on the first query after the daemon reports a
// change, the resolver and its listeners.
import { readFileSync } from 'node:fs';
import { DnsIndex, type DnsSnapshot } from './records.js';
import { Resolver } from './resolver.js';
import { DnsServer } from './server.js';
import { FORWARD_DEFAULTS, type ForwardOptions } from './forwarder.js';

export { DnsIndex, type DnsEndpoint, type DnsNetwork, type DnsSnapshot } from './records.js';
export { Resolver } from './resolver.js';

export interface EmbeddedDnsOptions {
  /** The daemon's --dns: upstreams for containers without their own. Empty = the host's resolv.conf. */
  upstreams?: string[];
  port?: number;
  forward?: ForwardOptions;
  hostResolvConf?: string;
}

/** The host's nameservers; loopback ones too, since forwarding runs in the host namespace. */
export function hostNameservers(path = '/etc/resolv.conf'): string[] {
  let text = '';
  try { text = readFileSync(path, 'utf8'); } catch { return []; }
  return text.split('\n').map((l) => l.trim().split(/\s+/)).filter((w) => w[0] === 'nameserver' && w[1]).map((w) => w[1]!);
}

export class EmbeddedDns {
  private idx: DnsIndex | undefined;
  private hostServers: { at: number; list: string[] } | undefined;
  private readonly server: DnsServer;

  constructor(private readonly snapshot: () => DnsSnapshot, private readonly o: EmbeddedDnsOptions = {}) {
    const resolver = Resolver.withOptions({
      index: () => (this.idx ??= new DnsIndex(this.snapshot())),
      upstreams: () => this.upstreams(),
    }, o.forward ?? FORWARD_DEFAULTS);
    this.server = new DnsServer(resolver, o.port ?? 53);
  }

  /** The daemon changed what the records are made of: the next query rebuilds the index. */
  invalidate(): void { this.idx = undefined; }

  /** Listeners for exactly the networks of the current snapshot. */
  async sync(): Promise<void> {
    this.invalidate();
    await this.server.sync(this.snapshot().networks.map((n) => ({ id: n.id, gateway: n.gateway })));
  }

  listening(): string[] { return this.server.listening(); }

  close(): Promise<void> { return this.server.close(); }

  private upstreams(): string[] {
    if (this.o.upstreams?.length) return this.o.upstreams;
    // Re-read now and then: the host's resolvers change (DHCP, VPNs) while the daemon runs.
    const now = Date.now();
    if (!this.hostServers || now - this.hostServers.at > 5000)
      this.hostServers = { at: now, list: hostNameservers(this.o.hostResolvConf) };
    return this.hostServers.list;
  }
}
