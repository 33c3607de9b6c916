// One query in, one answer out: local names from the index, everything else
// forwarded. No sockets here (server.ts owns them), so the rules — scope,
// rotation, empty AAAA, no forwarding from internal networks — are testable
// without a kernel.
import {
  decode, encode, AUTHORITATIVE_ANSWER, CHECKING_DISABLED, RECURSION_AVAILABLE, RECURSION_DESIRED, TRUNCATED_RESPONSE,
  type Answer, type DecodedPacket, type Question,
} from 'dns-packet';
import { forward as forwardQuery, FORWARD_DEFAULTS, type ForwardOptions } from './forwarder.js';
import { parseIP } from '../ip/addr.js';
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
/** Of those, one container's: a container flooding unanswered names must not cut off the others' forwarding. */
export const MAX_FORWARDS_PER_CONTAINER = 128;

export class Resolver {
  /** Per name and type: where the next answer's rotation starts. */
  private readonly turn = new Map<string, number>();
  private forwarding = 0;
  private readonly forwardingBy = new Map<string, number>();

  constructor(
    private readonly src: ResolverSource,
    private readonly fwd: Forward = (q, s, tcp) => forwardQuery(q, s, tcp, FORWARD_DEFAULTS),
  ) {}

  static withOptions(src: ResolverSource, o: ForwardOptions): Resolver {
    return new Resolver(src, (q, s, tcp) => forwardQuery(q, s, tcp, o));
  }

  /** Whether `source` is a container on `networkId`: the only ones a listener serves (TCP connections are refused otherwise). */
  admits(networkId: string, source: string): boolean {
    const idx = this.src.index();
    return idx.networks.has(networkId) && !!idx.asker(networkId, source);
  }

  /** The answer to `msg` from `source` on `networkId`'s listener; undefined = drop (not a query). */
  async answer(msg: Buffer, networkId: string, source: string, tcp: boolean): Promise<Buffer | undefined> {
    let q: DecodedPacket;
    try {
      q = decode(msg);
    } catch {
      // Never an answer to an answer (RFC 5452 §9.1), malformed or not.
      return msg.length >= 12 && !(msg[2]! & 0x80) ? rawError(msg, Rcode.FORMERR) : undefined;
    }
    if (q.type === 'response') return undefined;
    const opcode = (q as DecodedPacket & { opcode?: string }).opcode;
    if (opcode !== 'QUERY') return reply(q, Rcode.NOTIMP, []);
    const question = q.questions?.[0];
    if (!question || (q.questions?.length ?? 0) > 1) return reply(q, Rcode.FORMERR, []);
    // RFC 6891 §6.1.1: more than one OPT record is a format error.
    if ((q.additionals?.filter((a) => a.type === 'OPT').length ?? 0) > 1) return reply(q, Rcode.FORMERR, []);
    const idx = this.src.index();
    // Only containers get answers, each from its own networks, as Docker's
    // resolver inside each container answers for that container alone. A
    // source that is no endpoint of the network it asked on (the host, a
    // container of another network, anything routed to the gateway) is
    // refused: it must learn no name and find no open resolver.
    const asker = idx.networks.has(networkId) ? idx.asker(networkId, source) : undefined;
    if (!asker) return reply(q, Rcode.REFUSED, []);
    if ((queryOpt(q)?.ednsVersion ?? 0) > 0) return badVersion(q);

    const local = this.local(idx, networkId, source, question);
    if (local) return localReply(q, local, tcp);

    // libnetwork: a sandbox without a gateway (only internal networks) does
    // not proxy, and what it cannot answer is SERVFAIL.
    const canForward = [...asker.scope].some((id) => idx.networks.get(id)?.internal === false);
    if (!canForward) return reply(q, Rcode.SERVFAIL, []);
    // Nor is a single-label A/AAAA forwarded when the container set ndots:
    // an empty answer, so its resolver goes on with the search domains.
    if (asker.ndotsSet && (question.type === 'A' || question.type === 'AAAA') && !question.name.replace(/\.$/, '').includes('.'))
      return reply(q, Rcode.NOERROR, []);
    const own = new Set([...idx.networks.values()].map((n) => n.gateway));
    // A container's own --dns servers would be asked from the host's
    // namespace here, not the container's: a loopback one would reach the
    // host's own services. Those are left out (Docker asks them from inside
    // the container); the daemon's upstreams are the host's, loopback or not.
    const servers = asker.upstreams.length ? asker.upstreams.filter((s) => !isLoopback(s)) : this.src.upstreams();
    const usable = servers.filter((s) => !own.has(s));
    if (!usable.length) return reply(q, Rcode.SERVFAIL, []);
    const mine = this.forwardingBy.get(asker.containerId) ?? 0;
    if (this.forwarding >= MAX_FORWARDS || mine >= MAX_FORWARDS_PER_CONTAINER) return reply(q, Rcode.SERVFAIL, []);
    this.forwarding++;
    this.forwardingBy.set(asker.containerId, mine + 1);
    try {
      return (await this.fwd(msg, usable, tcp)) ?? reply(q, Rcode.SERVFAIL, []);
    } finally {
      this.forwarding--;
      const left = (this.forwardingBy.get(asker.containerId) ?? 1) - 1;
      if (left > 0) this.forwardingBy.set(asker.containerId, left);
      else this.forwardingBy.delete(asker.containerId);
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

/** The query's opcode, RD and CD carried over (RFC 1035 §4.1.1, RFC 4035 §3.1.6), RA set. */
const replyFlags = (q: DecodedPacket, rcode: number, authoritative: boolean): number =>
  ((q.flags ?? 0) & (OPCODE_BITS | RECURSION_DESIRED | CHECKING_DISABLED)) | RECURSION_AVAILABLE | (authoritative ? AUTHORITATIVE_ANSWER : 0) | rcode;
const OPCODE_BITS = 0x7800;

/** The UDP size this resolver takes, said in its OPT record (the DNS flag day's 1232). */
const OUR_UDP_SIZE = 1232;

/** The query's OPT record, if it has one (EDNS, RFC 6891). */
const queryOpt = (q: DecodedPacket) => q.additionals?.find((a) => a.type === 'OPT') as { ednsVersion?: number; udpPayloadSize?: number } | undefined;

/** RFC 6891 §7: an EDNS query gets an OPT record back (version 0, no options). */
function optRecord(q: DecodedPacket, extendedRcode = 0): Answer[] {
  if (!queryOpt(q)) return [];
  return [{ type: 'OPT', name: '.', udpPayloadSize: OUR_UDP_SIZE, extendedRcode, ednsVersion: 0, flags: 0, options: [] } as unknown as Answer];
}

function reply(q: DecodedPacket, rcode: number, answers: Answer[], authoritative = false): Buffer {
  return encode({ type: 'response', id: q.id ?? 0, flags: replyFlags(q, rcode, authoritative), questions: q.questions ?? [], answers, additionals: optRecord(q) });
}

/** RFC 6891 §6.1.3: a version above 0 is BADVERS (16: extended rcode 1, header rcode 0), with an OPT of version 0. */
function badVersion(q: DecodedPacket): Buffer {
  return encode({ type: 'response', id: q.id ?? 0, flags: replyFlags(q, 0, false), questions: q.questions ?? [], answers: [], additionals: optRecord(q, 1) });
}

/**
 * A local answer: every record's owner is the question's name, written as a
 * pointer to it (RFC 1035 §4.1.4; dns-packet does not compress), so a UDP
 * answer holds about twice the records. Over UDP, as many records as fit
 * the client's size (512, or its EDNS size), with TC set when some are left
 * out: a client that does not retry over TCP still gets addresses.
 */
function localReply(q: DecodedPacket, answers: Answer[], tcp: boolean): Buffer {
  const head = encode({ type: 'response', id: q.id ?? 0, flags: replyFlags(q, Rcode.NOERROR, true), questions: q.questions ?? [], answers: [] });
  // The OPT record goes last (the additional section), inside the size too.
  const opt = optRecord(q).length ? encode({ type: 'response', id: 0, flags: 0, additionals: optRecord(q) }).subarray(12) : Buffer.alloc(0);
  const limit = (tcp ? 0xffff : udpLimit(q)) - opt.length;
  const records: Buffer[] = [];
  // The owner of every record is the question's name: its bytes are the question's, less type and class.
  const ownerBytes = head.length - 12 - 4;
  let size = head.length;
  for (const a of answers) {
    const r = compressedRecord(a, ownerBytes);
    if (size + r.length > limit) break;
    records.push(r);
    size += r.length;
  }
  const out = Buffer.concat([head, ...records, opt]);
  out.writeUInt16BE(records.length, 6);
  out.writeUInt16BE(opt.length ? 1 : 0, 10);
  if (records.length < answers.length) out.writeUInt16BE(out.readUInt16BE(2) | TRUNCATED_RESPONSE, 2);
  return out;
}

/** One answer record whose owner name is the question's (at offset 12), of `ownerBytes` uncompressed. */
function compressedRecord(a: Answer, ownerBytes: number): Buffer {
  // The record as dns-packet writes it, its owner name swapped for the pointer.
  const full = encode({ type: 'response', id: 0, flags: 0, answers: [a] });
  return Buffer.concat([Buffer.from([0xc0, 0x0c]), full.subarray(12 + ownerBytes)]);
}

function udpLimit(q: DecodedPacket): number {
  return Math.min(0xffff, Math.max(512, queryOpt(q)?.udpPayloadSize ?? 512));
}

/**
 * An address that reaches the host itself from the host namespace: loopback
 * (127/8, ::1) and the unspecified addresses (0.0.0.0/8, ::), in any
 * spelling, IPv4-mapped included. Unparsable counts as such (never asked).
 */
function isLoopback(text: string): boolean {
  let ip;
  try {
    ip = parseIP(text);
  } catch {
    return true;
  }
  if (ip.family === 6) {
    if (ip.value === 0n || ip.value === 1n) return true;
    if (ip.value >> 32n !== 0xffffn) return false;
    ip = { family: 4 as const, value: ip.value & 0xffffffffn };
  }
  const first = Number(ip.value >> 24n);
  return first === 127 || first === 0;
}

/** An error for a message dns-packet could not read: the header echoed with QR and the rcode. */
function rawError(msg: Buffer, rcode: number): Buffer {
  const out = Buffer.alloc(12);
  msg.copy(out, 0, 0, 2);
  out.writeUInt16BE(0x8000 | (msg.readUInt16BE(2) & 0x7800) | RECURSION_AVAILABLE | rcode, 2);
  return out;
}

