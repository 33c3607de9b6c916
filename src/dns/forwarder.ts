// Forwarding of names the index does not hold. Each query gets its own
// upstream socket and its own timer, so a slow or silent upstream delays only
// the queries sent to it, never a local answer or another client's forward.
import { createSocket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { connect } from 'node:net';
import { isIPv6 } from 'node:net';

export interface ForwardOptions {
  /** Per upstream attempt; the next server is tried after it. libnetwork waits 4 s in all. */
  timeoutMs: number;
  /** libnetwork's maxExtDNS. */
  maxServers: number;
}

export const FORWARD_DEFAULTS: ForwardOptions = { timeoutMs: 2000, maxServers: 3 };

/**
 * Sends `query` to the servers in turn (UDP unless `tcp`), returning the
 * first answer with the client's ID restored, or undefined when none
 * answered. A server that answers SERVFAIL or REFUSED is passed over for the
 * next, as libnetwork's forwardExtDNS does. A UDP answer with TC set is
 * returned as it is: the client then asks again over TCP, and that query
 * goes upstream over TCP.
 */
export async function forward(query: Buffer, servers: string[], tcp: boolean, o: ForwardOptions = FORWARD_DEFAULTS): Promise<Buffer | undefined> {
  const clientId = query.readUInt16BE(0);
  for (const server of servers.slice(0, o.maxServers)) {
    // A fresh ID per upstream query: the upstream's answer must match it, so a
    // stray or spoofed datagram for another ID is ignored.
    const id = randomInt(0, 0x10000);
    const out = Buffer.from(query);
    out.writeUInt16BE(id, 0);
    const answer = await (tcp ? askTcp(out, server, o.timeoutMs) : askUdp(out, server, o.timeoutMs)).catch(() => undefined);
    if (!answer || !answersQuestion(answer, out)) continue;
    const rcode = answer.readUInt16BE(2) & 0xf;
    if (rcode === SERVFAIL || rcode === REFUSED) continue;
    answer.writeUInt16BE(clientId, 0);
    return answer;
  }
  return undefined;
}

const SERVFAIL = 2;
const REFUSED = 5;

/** An answer to this query: a response, its ID, and the question as asked (RFC 5452 §9.1). */
function answersQuestion(answer: Buffer, query: Buffer): boolean {
  if (answer.length < 12 || answer.readUInt16BE(0) !== query.readUInt16BE(0) || !(answer[2]! & 0x80)) return false;
  // A server that cannot parse the query (FORMERR, NOTIMP: the EDNS fallback signal) may echo no question.
  if (answer.readUInt16BE(4) === 0) return [1, 4].includes(answer.readUInt16BE(2) & 0xf);
  if (answer.readUInt16BE(4) !== 1) return false;
  const qlen = questionLength(query);
  return qlen > 0 && answer.length >= 12 + qlen && answer.subarray(12, 12 + qlen).toString('latin1').toLowerCase() === query.subarray(12, 12 + qlen).toString('latin1').toLowerCase();
}

/** Bytes of the (uncompressed) question at offset 12: its name, type and class; 0 when unreadable. */
function questionLength(b: Buffer): number {
  let i = 12;
  while (i < b.length && b[i]! !== 0) {
    if (b[i]! & 0xc0) return 0;
    i += b[i]! + 1;
  }
  return i + 5 <= b.length ? i + 5 - 12 : 0;
}

function askUdp(msg: Buffer, server: string, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = createSocket(isIPv6(server) ? 'udp6' : 'udp4');
    const done = (b: Buffer | undefined) => {
      clearTimeout(timer);
      s.close();
      resolve(b);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    // Connected: datagrams from elsewhere are not taken, and a closed port's
    // ICMP error ends the wait at once instead of after the timeout.
    s.on('error', () => done(undefined));
    // Another datagram with the right ID but not this question is passed over, not taken as the answer.
    s.on('message', (b) => {
      if (answersQuestion(b, msg)) done(b);
    });
    // No callback given: a server the kernel cannot connect to (a broadcast or
    // link-local address, an unroutable family) then fails as an 'error'
    // event, where a callback would get it and a send would throw.
    s.once('connect', () => s.send(msg, (e) => { if (e) done(undefined); }));
    s.connect(53, server);
  });
}

function askTcp(msg: Buffer, server: string, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = connect({ host: server, port: 53 });
    let buf = Buffer.alloc(0);
    const done = (b: Buffer | undefined) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(b);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.on('error', () => done(undefined));
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(msg.length);
      sock.write(Buffer.concat([len, msg]));
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    sock.on('end', () => done(undefined));
  });
}
