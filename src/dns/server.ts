// The listeners: one UDP and one TCP socket per user-defined network, bound
// to the network's gateway address in the host namespace, all served by this
// one process. Binding the gateway address (not the wildcard) leaves port 53
// elsewhere on the host to whoever holds it, and lets two networks' resolvers
// tell their askers apart by the socket a query arrived on.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import type { Resolver } from './resolver.js';

interface Listener {
  gateway: string;
  udp: UdpSocket;
  tcp: Server;
}

/**
 * A TCP client is dropped when no whole query has come for this long (RFC
 * 7766 suggests seconds): bytes that never make a message do not keep a
 * connection open.
 */
const TCP_IDLE_MS = 10_000;
/** Queries in flight per TCP connection, so one client cannot queue without bound. */
const TCP_MAX_INFLIGHT = 64;
/**
 * Open TCP connections, in all and per client address: each is a file
 * descriptor of the daemon's, whose API and forwards need them too. Over
 * either limit a new connection is closed at once.
 */
export const TCP_MAX_CLIENTS = 512;
export const TCP_MAX_PER_SOURCE = 16;

export class DnsServer {
  private readonly listeners = new Map<string, Listener>();
  private readonly clients = new Set<Socket>();
  private readonly perSource = new Map<string, number>();

  constructor(private readonly resolver: Resolver, private readonly port = 53, private readonly log: (m: string) => void = (m) => console.error(m)) {}

  /** Opens listeners for networks that have none (or whose gateway moved), closes those of networks gone. */
  async sync(networks: { id: string; gateway: string }[]): Promise<void> {
    const want = new Map(networks.map((n) => [n.id, n.gateway]));
    for (const [id, l] of this.listeners) {
      if (want.get(id) !== l.gateway) {
        this.listeners.delete(id);
        await closeListener(l);
      }
    }
    await Promise.all(networks.filter((n) => !this.listeners.has(n.id)).map(async (n) => {
      try {
        this.listeners.set(n.id, await this.open(n.id, n.gateway));
      } catch (e) {
        // A resolver that cannot bind must not stop containers from starting;
        // the next sync (the next start or connect on the network) tries again.
        this.log(`nsnet dns: cannot listen on ${n.gateway}:${this.port} for network ${n.id.slice(0, 12)}: ${(e as Error).message}`);
      }
    }));
  }

  /** Networks with a listener (for diagnostics and tests). */
  listening(): string[] { return [...this.listeners.keys()]; }

  async close(): Promise<void> {
    const all = [...this.listeners.values()];
    this.listeners.clear();
    for (const c of this.clients) c.destroy();
    await Promise.all(all.map(closeListener));
  }

  private async open(networkId: string, gateway: string): Promise<Listener> {
    const udp = createSocket({ type: gateway.includes(':') ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address: gateway, port: this.port, exclusive: true }, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    udp.on('error', (e) => this.log(`nsnet dns: udp ${gateway}: ${e.message}`));
    udp.on('message', (msg, from) => {
      // Each query on its own: a forward in flight never holds up the next datagram.
      this.resolver.answer(msg, networkId, from.address, false).then((out) => {
        if (out) udp.send(out, from.port, from.address);
      }, (e: unknown) => this.log(`nsnet dns: ${(e as Error).message}`));
    });
    const tcp = createServer((c) => this.serveTcp(c, networkId));
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host: gateway, port: this.port, exclusive: true }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      udp.close();
      throw e;
    }
    tcp.on('error', (e) => this.log(`nsnet dns: tcp ${gateway}: ${e.message}`));
    return { gateway, udp, tcp };
  }

  /** RFC 1035 4.2.2 framing (two-byte length), several queries per connection, answered as they complete. */
  private serveTcp(c: Socket, networkId: string): void {
    const source = c.remoteAddress ?? '';
    const fromSource = this.perSource.get(source) ?? 0;
    // Only containers of the network hold connections: anyone else would get REFUSED anyway, and must not use up the slots.
    if (this.clients.size >= TCP_MAX_CLIENTS || fromSource >= TCP_MAX_PER_SOURCE || !this.resolver.admits(networkId, source)) return void c.destroy();
    this.clients.add(c);
    this.perSource.set(source, fromSource + 1);
    let idle = setTimeout(() => c.destroy(), TCP_IDLE_MS);
    c.on('close', () => {
      clearTimeout(idle);
      this.clients.delete(c);
      const n = (this.perSource.get(source) ?? 1) - 1;
      if (n > 0) this.perSource.set(source, n);
      else this.perSource.delete(source);
    });
    c.on('error', () => c.destroy());
    let buf = Buffer.alloc(0);
    let inflight = 0;
    c.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        clearTimeout(idle);
        idle = setTimeout(() => c.destroy(), TCP_IDLE_MS);
        if (++inflight > TCP_MAX_INFLIGHT) return void c.destroy();
        this.resolver.answer(Buffer.from(msg), networkId, c.remoteAddress ?? '', true).then((out) => {
          inflight--;
          if (!out || c.destroyed) return;
          const len = Buffer.alloc(2);
          len.writeUInt16BE(out.length);
          c.write(Buffer.concat([len, out]));
        }, () => { inflight--; });
      }
    });
  }
}

function closeListener(l: Listener): Promise<void> {
  return new Promise((resolve) => {
    l.udp.close();
    l.tcp.close(() => resolve());
  });
}
