// The resolver's rules without a kernel or sockets: records, scoping,
// rotation, empty AAAA, PTR, forwarding choices, truncation.
import { decode, encode, RECURSION_DESIRED, type RecordType } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { DnsIndex, ptrAddress, type DnsEndpoint, type DnsSnapshot } from '../src/dns/records.js';
import { MAX_FORWARDS, Resolver } from '../src/dns/resolver.js';

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
    // An unknown source sees only the network it asked on, and is not forwarded for.
    expect((await ask('n1', '10.0.1.99', 'db')).data).toEqual(['10.0.1.3']);
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
    expect((await ask('n3', '10.0.3.2', 'example.test')).rcode).toBe('REFUSED');
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
    const udp = decode((await r.answer(q, 'n1', '10.0.1.10', false))!);
    expect(udp.flag_tc).toBe(true);
    expect(udp.answers).toEqual([]);
    expect(decode((await r.answer(q, 'n1', '10.0.1.10', true))!).answers).toHaveLength(60);
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
    const pending: (() => void)[] = [];
    const r = new Resolver({ index: () => new DnsIndex(snap), upstreams: () => ['198.51.100.1'] }, (q) => new Promise((res) => {
      pending.push(() => res(q));
    }));
    const q = (name: string) => encode({ type: 'query', id: 9, questions: [{ type: 'A', name }] });
    const inFlight = Array.from({ length: MAX_FORWARDS }, () => r.answer(q('far.test'), 'n1', '10.0.1.2', false));
    const over = decode((await r.answer(q('far.test'), 'n1', '10.0.1.2', false))!);
    expect((over as unknown as { rcode: string }).rcode).toBe('SERVFAIL');
    expect(decode((await r.answer(q('db'), 'n1', '10.0.1.2', false))!).answers).toHaveLength(1);
    for (const p of pending) p();
    await Promise.all(inFlight);
    void r.answer(q('far.test'), 'n1', '10.0.1.2', false); // the count came back down: forwarded again
    expect(pending).toHaveLength(MAX_FORWARDS + 1);
    pending.at(-1)!();
  });
});
