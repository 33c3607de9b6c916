// One query in, one answer out: local names from the index, everything else
// forwarded. No sockets here (server.ts owns them), so the rules — scope,
// rotation, empty AAAA, no forwarding from internal networks — are testable
// without a kernel.
import {
  decode, encode, AUTHORITATIVE_ANSWER, RECURSION_AVAILABLE, RECURSION_DESIRED, TRUNCATED_RESPONSE,
  type Answer, type DecodedPacket, type Question,
} from 'dns-packet';
import { forward as forwardQuery, FORWARD_DEFAULTS, type ForwardOptions } from './forwarder.js';
import { ptrAddress, type DnsIndex } from './records.js';

/** Docker's (libnetwork's) TTL for its records. */
export const TTL = 600;

export const Rcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export interface ResolverSource {
  /** The current index (rebuilt by the owner when state changes). */
  index(): DnsIndex;
  /** Upstreams for askers without their own --dns: the daemon's --dns, else the host's resolv.conf. */
  upstreams(): string[];
}

export type Forward = (query: Buffer, servers: string[], tcp: boolean) => Promise<Buffer | undefined>;

/** Forwards in flight at once (libnetwork's maxConcurrent): each holds a socket and a timer. */
export const MAX_FORWARDS = 1024;

export class Resolver {
  /** Per name and type: where the next answer's rotation starts. */
  private readonly turn = new Map<string, number>();
  private forwarding = 0;

  constructor(
    private readonly src: ResolverSource,
    private readonly fwd: Forward = (q, s, tcp) => forwardQuery(q, s, tcp, FORWARD_DEFAULTS),
  ) {}

  static withOptions(src: ResolverSource, o: ForwardOptions): Resolver {
    return new Resolver(src, (q, s, tcp) => forwardQuery(q, s, tcp, o));
  }

  /** The answer to `msg` from `source` on `networkId`'s listener; undefined = drop (not a query). */
  async answer(msg: Buffer, networkId: string, source: string, tcp: boolean): Promise<Buffer | undefined> {
    let q: DecodedPacket;
    try {
      q = decode(msg);
    } catch {
      return msg.length >= 12 ? rawError(msg, Rcode.FORMERR) : undefined;
    }
    if (q.type === 'response') return undefined;
    const opcode = (q as DecodedPacket & { opcode?: string }).opcode;
    if (opcode !== 'QUERY') return reply(q, Rcode.NOTIMP, []);
    const question = q.questions?.[0];
    if (!question || (q.questions?.length ?? 0) > 1) return reply(q, Rcode.FORMERR, []);
    const idx = this.src.index();
    const net = idx.networks.get(networkId);
    if (!net) return reply(q, Rcode.REFUSED, []);

    const local = this.local(idx, networkId, source, question);
    if (local) return fit(reply(q, Rcode.NOERROR, local, true), q, tcp);

    // libnetwork: a sandbox without a gateway (only internal networks) does
    // not proxy. And only containers are proxied: a source that is no
    // endpoint here (the host, or anything routed to the gateway) must not
    // find an open resolver.
    const asker = idx.asker(networkId, source);
    const canForward = !!asker && [...asker.scope].some((id) => idx.networks.get(id)?.internal === false);
    if (!canForward) return reply(q, Rcode.REFUSED, []);
    const own = new Set([...idx.networks.values()].map((n) => n.gateway));
    const servers = (asker?.upstreams.length ? asker.upstreams : this.src.upstreams()).filter((s) => !own.has(s));
    if (!servers.length) return reply(q, Rcode.SERVFAIL, []);
    if (this.forwarding >= MAX_FORWARDS) return reply(q, Rcode.SERVFAIL, []);
    this.forwarding++;
    try {
      return (await this.fwd(msg, servers, tcp)) ?? reply(q, Rcode.SERVFAIL, []);
    } finally {
      this.forwarding--;
    }
  }

  /** Answers from the index, or undefined to forward. */
  private local(idx: DnsIndex, networkId: string, source: string, question: Question): Answer[] | undefined {
    const { name, type } = question;
    if (type === 'PTR') {
      const addr = ptrAddress(name);
      const target = addr ? idx.reverse(networkId, source, addr) : undefined;
      return target ? [{ name, type: 'PTR', class: 'IN', ttl: TTL, data: target }] : undefined;
    }
    const hit = idx.lookup(networkId, source, name);
    if (!hit.found) return undefined;
    // A name the index holds is answered here for every type: an AAAA of an
    // IPv4-only container is an empty NOERROR, not a forward that leaks it.
    if (type === 'A') return this.rotate(`${networkId}|${name}|A`, hit.ipv4).map((data) => ({ name, type: 'A', class: 'IN', ttl: TTL, data }));
    if (type === 'AAAA') return this.rotate(`${networkId}|${name}|AAAA`, hit.ipv6).map((data) => ({ name, type: 'AAAA', class: 'IN', ttl: TTL, data }));
    return [];
  }

  /** All addresses of a shared name, each answer starting one further on (what compose scaling relies on). */
  private rotate(key: string, list: string[]): string[] {
    if (list.length < 2) return list;
    const k = key.toLowerCase();
    const n = this.turn.get(k) ?? 0;
    this.turn.set(k, (n + 1) % list.length);
    if (this.turn.size > 100_000) this.turn.clear(); // bounded: names come and go
    return [...list.slice(n % list.length), ...list.slice(0, n % list.length)];
  }
}

function reply(q: DecodedPacket, rcode: number, answers: Answer[], authoritative = false): Buffer {
  const flags = (q.flags ?? 0) & RECURSION_DESIRED;
  return encode({
    type: 'response',
    id: q.id ?? 0,
    flags: flags | RECURSION_AVAILABLE | (authoritative ? AUTHORITATIVE_ANSWER : 0) | rcode,
    questions: q.questions ?? [],
    answers,
  });
}

/** An error for a message dns-packet could not read: the header echoed with QR and the rcode. */
function rawError(msg: Buffer, rcode: number): Buffer {
  const out = Buffer.alloc(12);
  msg.copy(out, 0, 0, 2);
  out.writeUInt16BE(0x8000 | (msg.readUInt16BE(2) & 0x7800) | RECURSION_AVAILABLE | rcode, 2);
  return out;
}

/** Over UDP an answer larger than the client takes is sent empty with TC set: the client retries over TCP. */
function fit(buf: Buffer, q: DecodedPacket, tcp: boolean): Buffer {
  if (tcp) return buf;
  const opt = q.additionals?.find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
  const limit = Math.max(512, opt?.udpPayloadSize ?? 512);
  if (buf.length <= limit) return buf;
  const d = decode(buf);
  return encode({ type: 'response', id: d.id ?? 0, flags: (d.flags ?? 0) | TRUNCATED_RESPONSE, questions: d.questions ?? [], answers: [] });
}
