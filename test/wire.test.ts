// The request format, TS side (src/netlink/wire.ts) against the addon side
// (its `protocol` and its real parser, via decodeRequest). Loads the addon but
// creates and touches no kernel object: the namespaces here are fake handles.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nftRunOp } from '../src/firewall/nft.js';
import { AF, IFLA, IFLA_INFO, IFLA_VXLAN, NDA, NLM_F, NTF, NUD, RTM } from '../src/netlink/constants.js';
import * as nl from '../src/netlink/index.js';
import { native } from '../src/netlink/native.js';
import type { Op } from '../src/netlink/request.js';
import { encodeRequest, FD_PATCH_FIELDS, FIELDS, Kind, type DecodedRequest, type RequestFields } from '../src/netlink/wire.js';

const fakeNs = new nl.Netns('/run/netns/nt-wire-fake', 4026532999);
const fakePeer = new nl.Netns('/run/netns/nt-wire-peer', 4026533001);

/** What the addon must read from `f`: absent fields as the addon defaults them. */
const expected = (f: RequestFields): DecodedRequest => ({
  kind: f.kind,
  op: f.op,
  ns: f.ns ?? '',
  nsIno: f.nsIno ?? 0,
  msg: f.msg ?? Buffer.alloc(0),
  fdPatches: (f.fdPatches ?? []).map((p) => ({ ...p })),
  arg1: f.arg1 ?? '',
  arg2: f.arg2 ?? '',
  linkPatches: (f.linkPatches ?? []).map((p) => ({ ...p })),
});

const decode = (op: Op<unknown>): DecodedRequest => native.decodeRequest(op.request);

describe('native request format', () => {
  it('kinds: same names and numbers on both sides', () => {
    expect(native.protocol.kinds).toStrictEqual({ ...Kind });
  });

  it('field order and fd patch layout: same on both sides', () => {
    expect(native.protocol.fields).toStrictEqual([...FIELDS]);
    expect(native.protocol.fdPatchFields).toStrictEqual([...FD_PATCH_FIELDS]);
    expect(native.protocol.fdPatchStride).toBe(FD_PATCH_FIELDS.length);
  });

  it('encodeRequest puts each field at its FIELDS position', () => {
    const f: Required<RequestFields> = {
      kind: Kind.SysctlWrite, op: 'o', ns: 'n', nsIno: 7, msg: Buffer.from([1, 2]),
      fdPatches: [{ offset: 4, path: 'p', ino: 9 }], arg1: 'a1', arg2: 'a2', linkPatches: [{ offset: 20, back: 2 }],
    };
    const t = encodeRequest(f);
    expect(t).toHaveLength(FIELDS.length);
    FIELDS.forEach((name, i) => {
      if (name === 'fdPatches') expect(t[i]).toStrictEqual(FD_PATCH_FIELDS.map((k) => f.fdPatches[0]![k]));
      else if (name === 'linkPatches') expect(t[i]).toStrictEqual([20, 2]);
      else expect(t[i]).toBe(f[name]);
    });
  });

  it('round trip: any request encodeRequest builds, the addon reads back field for field', () => {
    const str = fc.string({ unit: 'grapheme', maxLength: 40 });
    const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
    const fields = fc.record({
      kind: fc.constantFrom(...Object.values(Kind)),
      op: str,
      ns: opt(str),
      nsIno: opt(fc.maxSafeNat()),
      msg: opt(fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u))),
      fdPatches: opt(fc.array(fc.record({ offset: fc.nat({ max: 0xffffffff }), path: str, ino: fc.maxSafeNat() }), { maxLength: 3 })),
      arg1: opt(str),
      arg2: opt(str),
      linkPatches: opt(fc.array(fc.record({ offset: fc.nat({ max: 0xffffffff }), back: fc.nat({ max: 0xffffffff }) }), { maxLength: 3 })),
    }, { requiredKeys: ['kind', 'op'] });
    fc.assert(fc.property(fields, (f) => {
      expect(native.decodeRequest(encodeRequest(f))).toStrictEqual(expected(f));
    }), { numRuns: 500 });
  });

  describe('round trip of the real op builders', () => {
    it('veth with its peer born in another namespace (an fd patch)', () => {
      const d = decode(nl.linkAddVethOp(fakeNs, { name: 'ntwire0', up: true }, { name: 'eth0', ns: fakePeer }));
      expect(d).toMatchObject({ kind: Kind.Rtnl, op: 'linkAdd veth ntwire0', ns: fakeNs.path, nsIno: fakeNs.ino, arg1: '', arg2: '' });
      expect(d.msg.readUInt32LE(0)).toBe(d.msg.length);
      expect(d.msg.readUInt16LE(4)).toBe(RTM.NEWLINK);
      expect(d.msg.includes('ntwire0\0')).toBe(true);
      expect(d.fdPatches).toStrictEqual([{ offset: expect.any(Number), path: fakePeer.path, ino: fakePeer.ino }]);
      // The patch points at the payload of an IFLA_NET_NS_FD u32 inside the message.
      const off = d.fdPatches[0]!.offset;
      expect(off + 4).toBeLessThanOrEqual(d.msg.length);
      expect(d.msg.readUInt16LE(off - 4)).toBe(8);
      expect(d.msg.readUInt16LE(off - 2)).toBe(IFLA.NET_NS_FD);
    });

    it('an rtnl request without fd patches, in the host namespace', () => {
      const d = decode(nl.linkDelOp(undefined, 'ntwire1'));
      expect(d).toMatchObject({ kind: Kind.Rtnl, op: 'linkDel ntwire1', ns: '', nsIno: 0, fdPatches: [], arg1: '', arg2: '' });
      expect(d.msg.readUInt16LE(4)).toBe(RTM.DELLINK);
      expect(d.msg.readUInt32LE(0)).toBe(d.msg.length);
    });

    it('a request on an echoed link: the patch points at the interface index the addon fills in', () => {
      const cases: [Op<unknown>, (m: Buffer) => number][] = [
        [nl.linkSetOp(fakeNs, 7, { up: true }), (m) => m.readInt32LE(16 + 4)],
        [nl.addrAddOp(fakeNs, 7, '10.0.0.2/24'), (m) => m.readUInt32LE(16 + 4)],
        [nl.routeAddOp(fakeNs, { dst: 'default', gateway: '10.0.0.1', dev: 7 }), (m) => {
          // RTA_OIF after the rtmsg and RTA_GATEWAY.
          const at = 16 + 12 + 8;
          expect(m.readUInt16LE(at + 2)).toBe(4);
          return m.readUInt32LE(at + 4);
        }],
      ];
      for (const [op, indexOf] of cases) {
        const d = decode(nl.onEchoedLink(op, 3));
        expect(d.linkPatches).toHaveLength(1);
        const [p] = d.linkPatches;
        expect(p!.back).toBe(3);
        expect(indexOf(d.msg)).toBe(7);
        expect(d.msg.readUInt32LE(p!.offset)).toBe(7);
      }
      expect(() => nl.onEchoedLink(nl.noop(), 1)).toThrow(/only rtnetlink/);
      expect(() => nl.onEchoedLink(nl.linkSetOp(fakeNs, 7, { up: true }), 0)).toThrow(/back/);
    });

    it('neighbour and fdb requests: ndmsg header, flags and attributes as `ip neigh` / `bridge fdb` send them', () => {
      // [op, type, nlmsg flags, family, ifindex, state, ndm flags, attributes (type → payload)]
      const cases: [Op<unknown>, number, number, number, number, number, number, [number, string][]][] = [
        [nl.neighSetOp(fakeNs, 7, '10.0.9.3', '02:42:0a:00:09:03'), RTM.NEWNEIGH, NLM_F.CREATE | NLM_F.REPLACE, AF.INET, 7, NUD.PERMANENT, 0,
          [[NDA.DST, '0a000903'], [NDA.LLADDR, '02420a000903']]],
        [nl.neighDelOp(fakeNs, 7, '10.0.9.3'), RTM.DELNEIGH, 0, AF.INET, 7, 0, 0, [[NDA.DST, '0a000903']]],
        [nl.fdbSetOp(fakeNs, 7, '02:42:0a:00:09:03', { dst: '192.168.5.2' }), RTM.NEWNEIGH, NLM_F.CREATE | NLM_F.REPLACE, AF.BRIDGE, 7, NUD.PERMANENT, NTF.SELF,
          [[NDA.LLADDR, '02420a000903'], [NDA.DST, 'c0a80502']]],
        [nl.fdbSetOp(fakeNs, 7, '02:42:0a:00:09:03', { dst: '192.168.5.2', append: true }), RTM.NEWNEIGH, NLM_F.CREATE | NLM_F.APPEND, AF.BRIDGE, 7, NUD.PERMANENT, NTF.SELF,
          [[NDA.LLADDR, '02420a000903'], [NDA.DST, 'c0a80502']]],
        [nl.fdbDelOp(fakeNs, 7, '02:42:0a:00:09:03'), RTM.DELNEIGH, 0, AF.BRIDGE, 7, 0, NTF.SELF, [[NDA.LLADDR, '02420a000903']]],
        [nl.neighListOp(fakeNs, { index: 7 }), RTM.GETNEIGH, NLM_F.DUMP, AF.INET, 0, 0, 0, [[NDA.IFINDEX, '07000000']]],
        [nl.fdbListOp(fakeNs, 7), RTM.GETNEIGH, NLM_F.DUMP, AF.BRIDGE, 7, 0, 0, []],
      ];
      for (const [op, type, flags, family, index, state, ndmFlags, want] of cases) {
        const d = decode(op);
        expect(d).toMatchObject({ kind: Kind.Rtnl, ns: fakeNs.path, nsIno: fakeNs.ino, fdPatches: [], linkPatches: [] });
        const m = d.msg;
        expect(m.readUInt32LE(0)).toBe(m.length);
        expect(m.readUInt16LE(4)).toBe(type);
        expect(m.readUInt16LE(6)).toBe(flags | NLM_F.REQUEST);
        // struct ndmsg, then its attributes.
        expect([m.readUInt8(16), m.readInt32LE(20), m.readUInt16LE(24), m.readUInt8(26), m.readUInt8(27)]).toEqual([family, index, state, ndmFlags, 0]);
        const got: [number, string][] = [];
        for (let at = 28; at + 4 <= m.length; at += (m.readUInt16LE(at) + 3) & ~3) got.push([m.readUInt16LE(at + 2), m.subarray(at + 4, at + m.readUInt16LE(at)).toString('hex')]);
        expect(got).toEqual(want);
      }
    });

    it('a VXLAN link: VNI, dst port (big-endian), local, learning, proxy and the miss flags in IFLA_INFO_DATA', () => {
      const m = decode(nl.linkAddVxlanOp(fakeNs, { name: 'ntwirevx', vni: 4097, local: '192.168.5.1', learning: false, proxy: true, l2miss: false, l3miss: false, mtu: 1450, master: 9, up: true })).msg;
      expect(m.readUInt16LE(4)).toBe(RTM.NEWLINK);
      // Walk to IFLA_LINKINFO > IFLA_INFO_DATA and read its attributes.
      const walk = (buf: Buffer, from: number): Map<number, Buffer> => {
        const out = new Map<number, Buffer>();
        for (let at = from; at + 4 <= buf.length; at += (buf.readUInt16LE(at) + 3) & ~3) out.set(buf.readUInt16LE(at + 2) & 0x3fff, buf.subarray(at + 4, at + buf.readUInt16LE(at)));
        return out;
      };
      const top = walk(m, 32);
      expect(top.get(IFLA.MTU)!.readUInt32LE(0)).toBe(1450);
      expect(top.get(IFLA.MASTER)!.readUInt32LE(0)).toBe(9);
      const info = walk(top.get(IFLA.LINKINFO)!, 0);
      expect(info.get(IFLA_INFO.KIND)!.toString()).toBe('vxlan\0');
      const vx = walk(info.get(IFLA_INFO.DATA)!, 0);
      expect(vx.get(IFLA_VXLAN.ID)!.readUInt32LE(0)).toBe(4097);
      expect(vx.get(IFLA_VXLAN.PORT)!.readUInt16BE(0)).toBe(4789);
      expect(vx.get(IFLA_VXLAN.LOCAL)!.toString('hex')).toBe('c0a80501');
      expect([IFLA_VXLAN.LEARNING, IFLA_VXLAN.PROXY, IFLA_VXLAN.L2MISS, IFLA_VXLAN.L3MISS].map((t) => vx.get(t)![0])).toEqual([0, 1, 0, 0]);
      expect(vx.has(IFLA_VXLAN.GROUP)).toBe(false);
    });

    const plain: [string, Op<unknown>, RequestFields][] = [
      ['noop', nl.noop(), { kind: Kind.Noop, op: 'noop' }],
      ['sysctlGet', nl.sysctlGetOp('net/ipv4/ip_forward', fakeNs),
        { kind: Kind.SysctlRead, op: 'sysctlGet net/ipv4/ip_forward', ns: fakeNs.path, nsIno: fakeNs.ino, arg1: 'net/ipv4/ip_forward' }],
      ['sysctlSet', nl.sysctlSetOp('net/ipv6/conf/all/forwarding', '1', fakeNs),
        { kind: Kind.SysctlWrite, op: 'sysctlSet net/ipv6/conf/all/forwarding', ns: fakeNs.path, nsIno: fakeNs.ino, arg1: 'net/ipv6/conf/all/forwarding', arg2: '1' }],
      ['sysctlSet on the host', nl.sysctlSetOp('net/ipv4/ip_forward', '0'),
        { kind: Kind.SysctlWrite, op: 'sysctlSet net/ipv4/ip_forward', arg1: 'net/ipv4/ip_forward', arg2: '0' }],
      ['netnsAdd', nl.netnsAddOp('ntwire', '/tmp/nt-wire-run'),
        { kind: Kind.NetnsCreate, op: 'netnsAdd ntwire', ns: '/tmp/nt-wire-run', arg1: 'ntwire' }],
      ['netnsDelete', nl.netnsDeleteOp(fakeNs), { kind: Kind.NetnsDelete, op: `netnsDelete ${fakeNs.path}`, ns: fakeNs.path, nsIno: fakeNs.ino }],
      ['netnsOpen', nl.netnsOpenOp(fakeNs.path), { kind: Kind.NetnsInode, op: `netnsOpen ${fakeNs.path}`, ns: fakeNs.path }],
      ['netnsRelease', nl.netnsReleaseOp(fakeNs), { kind: Kind.NetnsForget, op: `netnsRelease ${fakeNs.path}`, ns: fakeNs.path }],
      ['nft', nftRunOp('add table inet ntwire\n'), { kind: Kind.NftRun, op: 'nft', arg1: 'add table inet ntwire\n' }],
    ];
    it.each(plain)('%s', (_name, op, want) => {
      expect(decode(op)).toStrictEqual(expected(want));
    });

    it('covers every kind', () => {
      const seen = new Set([Kind.Rtnl, Kind.VethJoin, ...plain.map(([, , f]) => f.kind)]);
      expect([...seen].sort((a, b) => a - b)).toStrictEqual(Object.values(Kind).sort((a, b) => a - b));
    });
  });
});

describe('a bridge join as one request (VethJoin)', () => {
  it('the parameter block: same size, offsets and flag bits on both sides', () => {
    expect(native.protocol.vethJoin).toStrictEqual({ size: nl.VETH_JOIN.size, fields: { ...nl.VETH_JOIN.fields }, flags: { ...nl.VETH_JOIN.flags } });
  });

  // What the bridge driver sent before the addon built these messages, from
  // the same builders: the addon must expand a join into exactly this.
  const reference = (j: nl.VethJoin): DecodedRequest[] => {
    const ops: Op<unknown>[] = [
      nl.linkAddVethOp(fakeNs, { name: j.name, up: j.up, queues: 1, ...(j.mtu !== undefined ? { mtu: j.mtu } : {}), ...(j.mac ? { mac: j.mac } : {}) },
        { name: j.host.name, ns: nl.HOST_NS, mac: j.host.mac, group: j.host.group, queues: 1, ...(j.mtu !== undefined ? { mtu: j.mtu } : {}) }, true),
      ...(j.host.ipv6Off ? [nl.sysctlSetOp(`net/ipv6/conf/${j.host.name}/disable_ipv6`, '1')] : []),
      nl.linkSetOp(undefined, j.host.name, { master: j.host.master, up: true }),
    ];
    if (j.address4) ops.push(nl.onEchoedLink(nl.addrAddOp(fakeNs, 1, j.address4), ops.length));
    if (j.gateway4) ops.push(nl.onEchoedLink(nl.routeAddOp(fakeNs, { dst: 'default', gateway: j.gateway4, dev: 1 }), ops.length));
    return ops.map(decode);
  };

  it('expands into the requests the builders make, byte for byte, for any join', () => {
    const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':'));
    const ifname = fc.stringMatching(/^[a-z][a-z0-9]{0,14}$/);
    const ipv4 = fc.ipV4();
    const join = fc.record({
      name: ifname, up: fc.boolean(), mac: fc.option(mac, { nil: undefined }), mtu: fc.option(fc.integer({ min: 68, max: 65535 }), { nil: undefined }),
      host: fc.record({ name: ifname, mac, group: fc.nat({ max: 0xffffffff }), master: fc.integer({ min: 1, max: 0x7fffffff }), ipv6Off: fc.boolean() }),
      address4: fc.option(fc.tuple(ipv4, fc.integer({ min: 0, max: 32 })).map(([ip, bits]) => `${ip}/${bits}`), { nil: undefined }),
      gateway: fc.option(ipv4, { nil: undefined }),
    }).map(({ gateway, ...j }): nl.VethJoin => {
      const out: nl.VethJoin = { ...j };
      if (out.mac === undefined) delete out.mac;
      if (out.mtu === undefined) delete out.mtu;
      if (out.address4 === undefined) delete out.address4;
      else if (gateway !== undefined) out.gateway4 = gateway;
      return out;
    });
    fc.assert(fc.property(join, (j) => {
      const op = nl.vethJoinOp(fakeNs, j);
      expect(decode(op)).toMatchObject({ kind: Kind.VethJoin, op: `vethJoin ${j.name}`, ns: fakeNs.path, nsIno: fakeNs.ino, arg1: j.name, arg2: j.host.name });
      expect(native.expandRequest(op.request)).toStrictEqual(reference(j));
    }), { numRuns: 300 });
  });

  it('a malformed block or name is refused by the addon, and by the builder before it', () => {
    const ok = nl.vethJoinOp(fakeNs, { name: 'eth0', up: true, host: { name: 'ntwirevj0', mac: '02:00:00:00:00:01', group: 5, master: 9, ipv6Off: true } });
    const [kind, op, ns, ino, msg, fds, , host] = ok.request;
    expect(() => native.expandRequest([kind, op, ns, ino, msg!.subarray(0, 39), fds, 'eth0', host])).toThrow(/40 bytes/);
    for (const bad of ['a-name-that-is-too-long', '', 'eth%d', 'a b', 'a/b', 'a:b', '..', 'a\u00a0b', 'a\u2028b', 'a\u3000', 'a\ufeff']) {
      expect(() => nl.vethJoinOp(fakeNs, { name: bad, up: true, host: { name: 'h', mac: '02:00:00:00:00:01', group: 5, master: 9, ipv6Off: false } })).toThrow(/invalid interface name/);
      expect(() => native.expandRequest([kind, op, ns, ino, msg, fds, bad, host])).toThrow(/invalid interface name/);
    }
    // Names the JS side takes, the addon takes too.
    for (const good of ['eth0', 'é-ü', 'a\u00e9\u4e2d']) expect(native.expandRequest([kind, op, ns, ino, msg, fds, good, host])[0]!.op).toBe(`linkAdd veth ${good}`);
    const unknownFlag = Buffer.from(msg!);
    unknownFlag.writeUInt32LE((unknownFlag.readUInt32LE(nl.VETH_JOIN.fields.flags) | 0x80000000) >>> 0, nl.VETH_JOIN.fields.flags);
    expect(() => native.expandRequest([kind, op, ns, ino, unknownFlag, fds, 'eth0', host])).toThrow(/unknown flags/);
    expect(() => native.expandRequest([kind, op, ns, ino, msg, [20, fakePeer.path, fakePeer.ino], 'eth0', host])).toThrow(/no fd or link patches/);
    const routeOnly = Buffer.from(msg!);
    routeOnly.writeUInt32LE(nl.VETH_JOIN.flags.gateway4, nl.VETH_JOIN.fields.flags);
    expect(() => native.expandRequest([kind, op, ns, ino, routeOnly, fds, 'eth0', host])).toThrow(/needs the address/);
    expect(() => native.expandRequest(nl.linkDelOp(undefined, 'x').request)).toThrow(/not a compound/);
    expect(() => nl.vethJoinOp(fakeNs, { name: 'eth0', up: true, host: { name: 'h', mac: '02:00:00:00:00:01', group: 5, master: 9, ipv6Off: false }, gateway4: '10.0.0.1' }))
      .toThrow(/needs the address/);
    expect(() => nl.vethJoinOp(fakeNs, { name: 'eth0', up: true, host: { name: 'h', mac: '02:00:00:00:00:01', group: 5, master: 9, ipv6Off: false }, address4: 'fd00::2/64' }))
      .toThrow(/not an IPv4/);
  });
});

describe('MAC addresses as the messages carry them', () => {
  it('formatMac and parseMac round-trip any six bytes; parseMac refuses anything else', async () => {
    const { formatMac, parseMac } = await import('../src/netlink/validate.js');
    fc.assert(fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (bytes) => {
      const b = Buffer.from(bytes);
      const s = formatMac(b);
      expect(s).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      expect(s).toBe([...b].map((x) => x.toString(16).padStart(2, '0')).join(':'));
      expect(parseMac(s).equals(b)).toBe(true);
      expect(parseMac(s.toUpperCase()).equals(b)).toBe(true);
    }));
    for (const bad of ['', '02:42:ac:11:00', '02:42:ac:11:00:02:03', '02-42-ac-11-00-02', '0g:42:ac:11:00:02', ' 02:42:ac:11:00:02', '2:42:ac:11:00:02'])
      expect(() => parseMac(bad)).toThrow(/invalid MAC address/);
  });
});

describe('attribute lengths', () => {
  it('an attribute or a nest longer than 65535 bytes is refused, not cut to 16 bits', async () => {
    const { InvalidInputError } = await import('../src/errors.js');
    expect(() => nl.linkSetOp(undefined, 'x', { alias: 'a'.repeat(70_000) })).toThrow(InvalidInputError);
    // Just under the limit: the length field holds it exactly.
    const op = nl.linkSetOp(undefined, 'x', { alias: 'a'.repeat(65_000) });
    const msg = op.request[4]!;
    expect(msg.readUInt32LE(0)).toBe(msg.length);
    let at = 32;
    let aliasLen = 0;
    while (at + 4 <= msg.length) {
      const len = msg.readUInt16LE(at);
      if (msg.readUInt16LE(at + 2) === IFLA.IFALIAS) aliasLen = len;
      at += (len + 3) & ~3;
    }
    expect(aliasLen).toBe(4 + 65_000 + 1);
  });
});
