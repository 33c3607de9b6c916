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
 * answered. A UDP answer with TC set is returned as it is: the client then
 * asks again over TCP, and that query goes upstream over TCP.
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
    if (answer && answer.length >= 12 && answer.readUInt16BE(0) === id) {
      answer.writeUInt16BE(clientId, 0);
      return answer;
    }
  }
  return undefined;
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
    s.on('error', () => done(undefined));
    s.on('message', (b) => {
      if (b.length >= 2 && b.readUInt16BE(0) === msg.readUInt16BE(0)) done(b);
    });
    s.send(msg, 53, server);
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
