// The resolver's rules without a kernel or sockets: records, scoping,
// rotation, empty AAAA, PTR, forwarding choices, truncation.
import { CHECKING_DISABLED, decode, encode, RECURSION_DESIRED, type RecordType } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { DnsIndex, ptrAddress, type DnsEndpoint, type DnsSnapshot } from '../src/dns/records.js';
import { MAX_FORWARDS, MAX_FORWARDS_PER_CONTAINER, Resolver } from '../src/dns/resolver.js';
import { DnsServer, TCP_MAX_PER_SOURCE } from '../src/dns/server.js';
import { connect, type Socket } from 'node:net';

const ep = (o: Partial<DnsEndpoint> & Pick<DnsEndpoint, 'containerId' | 'networkId'>): DnsEndpoint =>
  ({ containerName: o.containerId, names: [o.containerId], links: [], upstreams: [], ...o });

const snap: DnsSnapshot = {
  networks: [
    { id: 'n1', name: 'app', internal: false, gateway: '10.0.1.1' },
    { id: 'n2', name: 'other', internal: false, gateway: '10.0.2.1' },
    { id: 'n3', name: 'inner', internal: true, gateway: '10.0.3.1' },
  ],
  endpoints: [
    ep({ containerId: 'web', networkId: 'n1', ipv4: '10.0.1.2', links: [{ alias: 'backend', target: 'db' }] }),
    ep({ containerId: 'db', networkId: 'n1', names: ['db', 'svc', 'abcdef123456'], ipv4: '10.0.1.3', ipv6: 'fd00::3' }),
    ep({ containerId: 'db2', networkId: 'n1', names: ['db2', 'svc'], ipv4: '10.0.1.4' }),
    ep({ containerId: 'lone', networkId: 'n2', ipv4: '10.0.2.2', upstreams: ['192.0.2.53'] }),
    ep({ containerId: 'in1', networkId: 'n3', ipv4: '10.0.3.2' }),
    ep({ containerId: 'both', networkId: 'n2', ipv4: '10.0.2.3' }),
    ep({ containerId: 'both', networkId: 'n3', ipv4: '10.0.3.3' }),
  ],
};

function setup() {
  const forwarded: { servers: string[]; tcp: boolean }[] = [];
  const r = new Resolver({ index: () => new DnsIndex(snap), upstreams: () => ['198.51.100.1'] }, async (q, servers, tcp) => {
    forwarded.push({ servers, tcp });
    const d = decode(q);
    return encode({ type: 'response', id: d.id ?? 0, flags: 3, questions: d.questions ?? [], answers: [] });
  });
  const ask = async (net: string, src: string, name: string, type: RecordType = 'A', tcp = false) => {
    const out = await r.answer(encode({ type: 'query', id: 7, flags: RECURSION_DESIRED, questions: [{ type, name }] }), net, src, tcp);
    const d = decode(out!);
    return { id: d.id, rcode: (d as unknown as { rcode: string }).rcode, tc: d.flag_tc, aa: d.flag_aa, data: (d.answers ?? []).map((a) => (a as { data: unknown }).data), ttl: (d.answers?.[0] as { ttl?: number } | undefined)?.ttl };
  };
  return { ask, forwarded };
}

describe('embedded DNS resolver', () => {
  it('answers names and aliases with TTL 600, case-insensitively, and name.network', async () => {
    const { ask, forwarded } = setup();
    expect(await ask('n1', '10.0.1.2', 'db')).toMatchObject({ id: 7, rcode: 'NOERROR', aa: true, data: ['10.0.1.3'], ttl: 600 });
    expect((await ask('n1', '10.0.1.2', 'DB.')).data).toEqual(['10.0.1.3']);
    expect((await ask('n1', '10.0.1.2', 'abcdef123456')).data).toEqual(['10.0.1.3']);
    expect((await ask('n1', '10.0.1.2', 'db.app')).data).toEqual(['10.0.1.3']);
    expect((await ask('n1', '10.0.1.2', 'db', 'AAAA')).data).toEqual(['fd00::3']);
    expect(forwarded).toEqual([]);
  });

  it('scopes answers to the networks the asker shares with the target', async () => {
    const { ask, forwarded } = setup();
    expect((await ask('n2', '10.0.2.2', 'db')).rcode).toBe('NXDOMAIN'); // forwarded, upstream says no
    expect(forwarded).toHaveLength(1);
    expect((await ask('n2', '10.0.2.2', 'db.app')).rcode).toBe('NXDOMAIN');
    // A container on two networks sees both, whichever listener it asks.
    expect((await ask('n2', '10.0.2.3', 'in1')).data).toEqual(['10.0.3.2']);
    expect((await ask('n3', '10.0.3.3', 'lone')).data).toEqual(['10.0.2.2']);
    // A source that is no endpoint of the network it asked on (the host, another
    // network's container, anything routed to the gateway) learns nothing.
    expect(await ask('n1', '10.0.1.99', 'db')).toMatchObject({ rcode: 'REFUSED', data: [] });
    expect(await ask('n1', '10.0.2.2', 'db')).toMatchObject({ rcode: 'REFUSED', data: [] });
    expect(await ask('n1', '10.0.1.99', '3.1.0.10.in-addr.arpa', 'PTR')).toMatchObject({ rcode: 'REFUSED', data: [] });
    expect((await ask('n1', '10.0.1.99', 'lone')).rcode).toBe('REFUSED');
    expect(forwarded).toHaveLength(2);
  });

  it('returns every address of a shared alias, rotating', async () => {
    const { ask } = setup();
    const a = (await ask('n1', '10.0.1.2', 'svc')).data;
    const b = (await ask('n1', '10.0.1.2', 'svc')).data;
    const c = (await ask('n1', '10.0.1.2', 'svc')).data;
    expect([...a].sort()).toEqual(['10.0.1.3', '10.0.1.4']);
    expect(b).toEqual([...a].reverse());
    expect(c).toEqual(a);
  });

  it('gives an empty NOERROR for AAAA (and other types) of an IPv4-only name, without forwarding', async () => {
    const { ask, forwarded } = setup();
    expect(await ask('n1', '10.0.1.2', 'db2', 'AAAA')).toMatchObject({ rcode: 'NOERROR', data: [] });
    expect(await ask('n1', '10.0.1.2', 'db2', 'MX')).toMatchObject({ rcode: 'NOERROR', data: [] });
    expect(forwarded).toEqual([]);
  });

  it('a name on two of the asker\'s networks is answered by the first network in libnetwork\'s Endpoint.Less order that has it', () => {
    const two = (priority?: number): DnsSnapshot => ({
      networks: [{ id: 'nb', name: 'beta', internal: false, gateway: '10.2.0.1' }, { id: 'na', name: 'alpha', internal: false, gateway: '10.1.0.1' }],
      endpoints: [
        ep({ containerId: 'me', networkId: 'nb', ipv4: '10.2.0.2', ...(priority ? { gwPriority: priority } : {}) }),
        ep({ containerId: 'me', networkId: 'na', ipv4: '10.1.0.2' }),
        ep({ containerId: 'dba', networkId: 'na', names: ['db'], ipv4: '10.1.0.3' }),
        ep({ containerId: 'dbb', networkId: 'nb', names: ['db'], ipv4: '10.2.0.3', ipv6: 'fd00:2::3' }),
      ],
    });
    const byName = new DnsIndex(two());
    // alpha comes first by name: its holder answers, with no IPv6 (an empty AAAA, not beta's, as Docker 28).
    expect(byName.lookup('nb', '10.2.0.2', 'db')).toEqual({ found: true, ipv4: ['10.1.0.3'], ipv6: [] });
    // The same from either network the asker asks on.
    expect(byName.lookup('na', '10.1.0.2', 'db')).toEqual({ found: true, ipv4: ['10.1.0.3'], ipv6: [] });
    // A higher gateway priority on beta puts it first.
    expect(new DnsIndex(two(1)).lookup('na', '10.1.0.2', 'db')).toEqual({ found: true, ipv4: ['10.2.0.3'], ipv6: ['fd00:2::3'] });
    // name.network still picks the network asked for.
    expect(byName.lookup('na', '10.1.0.2', 'db.beta').ipv4).toEqual(['10.2.0.3']);
    // At equal priority, a network where the asker has both families comes before one with one (beta before alpha),
    // and an internal network comes last whatever its name.
    const dual = two();
    dual.endpoints[0] = { ...dual.endpoints[0]!, ipv6: 'fd00:2::2' };
    expect(new DnsIndex(dual).lookup('na', '10.1.0.2', 'db').ipv4).toEqual(['10.2.0.3']);
    const inner = two();
    inner.networks[1] = { ...inner.networks[1]!, internal: true };
    expect(new DnsIndex(inner).lookup('na', '10.1.0.2', 'db').ipv4).toEqual(['10.2.0.3']);
    // A network where the asker's link alias is the name is skipped by the plain lookup (its target gone: beta answers).
    const linked = two();
    linked.endpoints[1] = { ...linked.endpoints[1]!, links: [{ alias: 'db', target: 'gone' }] };
    expect(new DnsIndex(linked).lookup('na', '10.1.0.2', 'db').ipv4).toEqual(['10.2.0.3']);
  });

  it('name.network as libnetwork splits it: the shortest network name first, on to the next split when it has no such name; link aliases too', () => {
    const dotted: DnsSnapshot = {
      networks: [{ id: 'nc', name: 'c', internal: false, gateway: '10.3.0.1' }, { id: 'nbc', name: 'b.c', internal: false, gateway: '10.4.0.1' }],
      endpoints: [
        ep({ containerId: 'me', networkId: 'nc', ipv4: '10.3.0.2', links: [{ alias: 'backend', target: 'a.b' }] }),
        ep({ containerId: 'me', networkId: 'nbc', ipv4: '10.4.0.2' }),
        ep({ containerId: 'a.b', networkId: 'nc', ipv4: '10.3.0.3' }),
        ep({ containerId: 'x', networkId: 'nbc', names: ['x', 'y.z'], ipv4: '10.4.0.3' }),
      ],
    };
    const idx = new DnsIndex(dotted);
    // "a.b" on network c (not "a" on b.c, which has none).
    expect(idx.lookup('nc', '10.3.0.2', 'a.b.c').ipv4).toEqual(['10.3.0.3']);
    // "x.b" on c misses, so "x" on b.c.
    expect(idx.lookup('nc', '10.3.0.2', 'x.b.c').ipv4).toEqual(['10.4.0.3']);
    expect(idx.lookup('nc', '10.3.0.2', 'y.z.b.c').ipv4).toEqual(['10.4.0.3']);
    // A link alias with its network.
    expect(idx.lookup('nc', '10.3.0.2', 'backend.c').ipv4).toEqual(['10.3.0.3']);
    expect(idx.lookup('nc', '10.3.0.2', 'backend.b.c').found).toBe(false);
  });

  it('link aliases resolve only for the linking container', async () => {
    const { ask } = setup();
    expect((await ask('n1', '10.0.1.2', 'backend')).data).toEqual(['10.0.1.3']);
    expect((await ask('n1', '10.0.1.4', 'backend')).rcode).toBe('NXDOMAIN');
  });

  it('PTR for container addresses in scope, as name.network', async () => {
    const { ask } = setup();
    expect((await ask('n1', '10.0.1.2', '3.1.0.10.in-addr.arpa', 'PTR')).data).toEqual(['db.app']);
    expect((await ask('n2', '10.0.2.2', '3.1.0.10.in-addr.arpa', 'PTR')).rcode).toBe('NXDOMAIN');
    expect(ptrAddress('3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa')).toBe('fd00::3');
    expect(ptrAddress('1.2.3.in-addr.arpa')).toBeUndefined();
  });

  it('forwards to the container\'s own --dns first, else the daemon\'s; TCP stays TCP; never from an internal-only asker', async () => {
    const { ask, forwarded } = setup();
    await ask('n2', '10.0.2.2', 'example.test');
    await ask('n1', '10.0.1.2', 'example.test', 'A', true);
    expect(forwarded).toEqual([{ servers: ['192.0.2.53'], tcp: false }, { servers: ['198.51.100.1'], tcp: true }]);
    expect((await ask('n3', '10.0.3.2', 'example.test')).rcode).toBe('SERVFAIL');
    await ask('n3', '10.0.3.3', 'example.test'); // also on a non-internal network: forwarded
    expect(forwarded).toHaveLength(3);
  });

  it('sets TC on a local UDP answer that does not fit, and answers in full over TCP', async () => {
    const many: DnsSnapshot = {
      networks: [{ id: 'n1', name: 'app', internal: false, gateway: '10.0.1.1' }],
      endpoints: Array.from({ length: 60 }, (_, i) => ep({ containerId: `c${i}`, networkId: 'n1', names: [`c${i}`, 'scaled'], ipv4: `10.0.1.${i + 10}` })),
    };
    const r = new Resolver({ index: () => new DnsIndex(many), upstreams: () => [] });
    const q = encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'scaled' }] });
    const raw = (await r.answer(q, 'n1', '10.0.1.10', false))!;
    const udp = decode(raw);
    // As many records as 512 bytes hold, each owner a pointer to the question (16 bytes an A record), and TC.
    expect(udp.flag_tc).toBe(true);
    expect(raw.length).toBeLessThanOrEqual(512);
    expect(udp.answers).toHaveLength(Math.floor((512 - 12 - 'scaled'.length - 2 - 4) / 16));
    expect(udp.answers!.every((a) => a.name === 'scaled' && a.type === 'A')).toBe(true);
    // A larger EDNS size takes them all, without TC.
    const edns = encode({ type: 'query', id: 2, questions: [{ type: 'A', name: 'scaled' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as never] });
    const big = decode((await r.answer(edns, 'n1', '10.0.1.10', false))!);
    expect(big.answers).toHaveLength(60);
    expect(big.flag_tc).toBe(false);
    expect(decode((await r.answer(q, 'n1', '10.0.1.10', true))!).answers).toHaveLength(60);
  });

  it('copies opcode, RD and CD into a reply; never answers a response, even a malformed one', async () => {
    const r = new Resolver({ index: () => new DnsIndex(snap), upstreams: () => [] });
    const notify = encode({ type: 'query', id: 3, flags: (4 << 11) | RECURSION_DESIRED | CHECKING_DISABLED, questions: [{ type: 'A', name: 'db' }] });
    const d = decode((await r.answer(notify, 'n1', '10.0.1.2', false))!);
    expect([(d as unknown as { opcode: string }).opcode, d.flag_rd, d.flag_cd, (d as unknown as { rcode: string }).rcode]).toEqual(['NOTIFY', true, true, 'NOTIMP']);
    const cd = decode((await r.answer(encode({ type: 'query', id: 4, flags: CHECKING_DISABLED, questions: [{ type: 'A', name: 'db' }] }), 'n1', '10.0.1.2', false))!);
    expect([cd.flag_cd, cd.flag_rd, cd.answers]).toEqual([true, false, [expect.objectContaining({ data: '10.0.1.3' })]]);
    const badResponse = Buffer.alloc(14, 0xff);
    expect(await r.answer(badResponse, 'n1', '10.0.1.2', false)).toBeUndefined();
  });

  it('a container\'s loopback --dns is never asked from the host; one container cannot use up every forward', async () => {
    const snap2: DnsSnapshot = {
      networks: [{ id: 'n1', name: 'app', internal: false, gateway: '10.0.1.1' }],
      endpoints: [
        ep({ containerId: 'lo', networkId: 'n1', ipv4: '10.0.1.2', upstreams: ['127.0.0.1', '::1', '0.0.0.0', '::', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '::ffff:7f00:1', '127.9.9.9'] }),
        ep({ containerId: 'greedy', networkId: 'n1', ipv4: '10.0.1.3' }),
        ep({ containerId: 'other', networkId: 'n1', ipv4: '10.0.1.4' }),
      ],
    };
    const asked: string[][] = [];
    const pending: (() => void)[] = [];
    const r = new Resolver({ index: () => new DnsIndex(snap2), upstreams: () => ['127.0.0.53'] }, (q, servers) => new Promise((res) => {
      asked.push(servers);
      pending.push(() => res(q));
    }));
    const q = encode({ type: 'query', id: 5, questions: [{ type: 'A', name: 'far.test' }] });
    const rcode = (b: Buffer | undefined) => (decode(b!) as unknown as { rcode: string }).rcode;
    expect(rcode(await r.answer(q, 'n1', '10.0.1.2', false))).toBe('SERVFAIL');
    expect(asked).toEqual([]);
    const held = Array.from({ length: MAX_FORWARDS_PER_CONTAINER }, () => r.answer(q, 'n1', '10.0.1.3', false));
    expect(rcode(await r.answer(q, 'n1', '10.0.1.3', false))).toBe('SERVFAIL');
    // Another container still gets its forward (the daemon's upstreams: the host's, loopback allowed).
    const theirs = r.answer(q, 'n1', '10.0.1.4', false);
    expect(asked).toHaveLength(MAX_FORWARDS_PER_CONTAINER + 1);
    expect(asked.at(-1)).toEqual(['127.0.0.53']);
    for (const p of pending) p();
    await Promise.all([...held, theirs]);
  });

  it('FORMERR for garbage with a header, silence for a response or a runt; SERVFAIL without upstreams', async () => {
    const r = new Resolver({ index: () => new DnsIndex(snap), upstreams: () => [] });
    const bad = Buffer.alloc(14, 0xff);
    bad.writeUInt16BE(0x1234, 0);
    bad.writeUInt16BE(0x0100, 2);
    const out = (await r.answer(bad, 'n1', '10.0.1.2', false))!;
    expect(out.readUInt16BE(0)).toBe(0x1234);
    expect(out.readUInt16BE(2) & 0xf).toBe(1);
    expect(await r.answer(Buffer.alloc(5), 'n1', '10.0.1.2', false)).toBeUndefined();
    expect(await r.answer(encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'x' }] }), 'n1', '10.0.1.2', false)).toBeUndefined();
    const nf = decode((await r.answer(encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'nowhere.test' }] }), 'n1', '10.0.1.2', false))!);
    expect((nf as unknown as { rcode: string }).rcode).toBe('SERVFAIL');
  });

  it('bounds the forwards in flight: beyond the limit a query gets SERVFAIL at once, local names still answer', async () => {
    const crowd = MAX_FORWARDS / MAX_FORWARDS_PER_CONTAINER + 1;
    const many: DnsSnapshot = {
      networks: [{ id: 'n1', name: 'app', internal: false, gateway: '10.0.1.1' }],
      endpoints: Array.from({ length: crowd }, (_, i) => ep({ containerId: `c${i}`, networkId: 'n1', ipv4: `10.0.1.${i + 10}` })),
    };
    const pending: (() => void)[] = [];
    const r = new Resolver({ index: () => new DnsIndex(many), upstreams: () => ['198.51.100.1'] }, (q) => new Promise((res) => {
      pending.push(() => res(q));
    }));
    const q = (name: string) => encode({ type: 'query', id: 9, questions: [{ type: 'A', name }] });
    const inFlight = Array.from({ length: MAX_FORWARDS }, (_, i) => r.answer(q('far.test'), 'n1', `10.0.1.${10 + Math.floor(i / MAX_FORWARDS_PER_CONTAINER)}`, false));
    const last = `10.0.1.${10 + crowd - 1}`;
    const over = decode((await r.answer(q('far.test'), 'n1', last, false))!);
    expect((over as unknown as { rcode: string }).rcode).toBe('SERVFAIL');
    expect(decode((await r.answer(q('c0'), 'n1', last, false))!).answers).toHaveLength(1);
    for (const p of pending) p();
    await Promise.all(inFlight);
    void r.answer(q('far.test'), 'n1', last, false); // the count came back down: forwarded again
    expect(pending).toHaveLength(MAX_FORWARDS + 1);
    pending.at(-1)!();
  });

  it('TCP: a client address holds at most TCP_MAX_PER_SOURCE connections; the next is closed at once', async () => {
    // The test's connections come from 127.0.0.1: a container of n1 as far as this index says.
    const local: DnsSnapshot = { networks: [{ id: 'n1', name: 'app', internal: false, gateway: '127.0.0.1' }], endpoints: [ep({ containerId: 'me', networkId: 'n1', ipv4: '127.0.0.1' })] };
    let index = new DnsIndex(local);
    const r = new Resolver({ index: () => index, upstreams: () => [] });
    const port = 20000 + (process.pid % 20000);
    const server = new DnsServer(r, port, () => {});
    await server.sync([{ id: 'n1', gateway: '127.0.0.1' }]);
    const open = (): Promise<{ sock: Socket; closed: Promise<void> }> => new Promise((resolve, reject) => {
      const sock = connect({ host: '127.0.0.1', port }, () => resolve({ sock, closed }));
      const closed = new Promise<void>((c) => sock.once('close', () => c()));
      sock.once('error', reject);
    });
    try {
      const held = [];
      for (let i = 0; i < TCP_MAX_PER_SOURCE; i++) held.push(await open());
      const extra = await open();
      await extra.closed; // closed by the server, unasked
      expect(held.every((h) => !h.sock.destroyed)).toBe(true);
      held.pop()!.sock.destroy();
      await new Promise((res) => setTimeout(res, 50));
      const again = await open();
      const shut = await Promise.race([again.closed.then(() => true), new Promise((res) => setTimeout(() => res(false), 200))]);
      expect(shut).toBe(false);
      for (const h of [...held, again]) h.sock.destroy();
      // A source that is no container of the network is closed at once, whatever the counts.
      index = new DnsIndex({ ...local, endpoints: [] });
      await (await open()).closed;
    } finally {
      await server.close();
    }
  });

  it('EDNS: an OPT record comes back (sized in), a version above 0 is BADVERS', async () => {
    const r = new Resolver({ index: () => new DnsIndex(snap), upstreams: () => [] });
    const q = (version: number) => encode({ type: 'query', id: 6, questions: [{ type: 'A', name: 'db' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, ednsVersion: version } as never] });
    const ok = decode((await r.answer(q(0), 'n1', '10.0.1.2', false))!);
    expect(ok.answers).toHaveLength(1);
    expect(ok.additionals).toEqual([expect.objectContaining({ type: 'OPT', udpPayloadSize: 1232, ednsVersion: 0 })]);
    const bad = decode((await r.answer(q(1), 'n1', '10.0.1.2', false))!);
    expect([bad.answers, (bad as unknown as { rcode: string }).rcode, bad.additionals?.[0]]).toEqual([[], 'NOERROR', expect.objectContaining({ type: 'OPT', extendedRcode: 1, ednsVersion: 0 })]);
    // Without EDNS, no OPT.
    expect(decode((await r.answer(encode({ type: 'query', id: 7, questions: [{ type: 'A', name: 'db' }] }), 'n1', '10.0.1.2', false))!).additionals).toEqual([]);
    // Two OPT records: FORMERR (RFC 6891 §6.1.1), no answer.
    const opt = { type: 'OPT', name: '.', udpPayloadSize: 1232, ednsVersion: 0 } as never;
    const two = decode((await r.answer(encode({ type: 'query', id: 8, questions: [{ type: 'A', name: 'db' }], additionals: [opt, opt] }), 'n1', '10.0.1.2', false))!);
    expect([two.answers, (two as unknown as { rcode: string }).rcode]).toEqual([[], 'FORMERR']);
  });

  it('an upstream the kernel cannot send to (broadcast) fails that forward only: the process lives on', async () => {
    const { forward } = await import('../src/dns/forwarder.js');
    const q = encode({ type: 'query', id: 8, questions: [{ type: 'A', name: 'far.test' }] });
    expect(await forward(q, ['255.255.255.255'], false, { timeoutMs: 500, maxServers: 3 })).toBeUndefined();
    await new Promise((res) => setTimeout(res, 50)); // an uncaught throw would surface by now
  });
});
