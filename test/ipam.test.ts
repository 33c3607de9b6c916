import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Ipam, IpamCode, DOCKER_DEFAULT_POOLS, countCandidates } from '../src/ipam/index.js';
import { InvalidInputError } from '../src/errors.js';

const drain = (ipam: Ipam, id: string): string[] => {
  const out: string[] = [];
  for (;;) {
    try { out.push(ipam.requestAddress(id, { serial: false }).address); } catch { return out; }
  }
};

describe('pools', () => {
  it('ships Docker’s 31 default IPv4 subnets, in Docker’s order, and then runs out', () => {
    expect(countCandidates(DOCKER_DEFAULT_POOLS, 4)).toBe(31);
    const ipam = new Ipam();
    const got = Array.from({ length: 31 }, () => ipam.requestPool().pool);
    expect(got.slice(0, 5)).toEqual(['172.17.0.0/16', '172.18.0.0/16', '172.19.0.0/16', '172.20.0.0/16', '172.21.0.0/16']);
    expect(got[14]).toBe('172.31.0.0/16');
    expect(got[15]).toBe('192.168.0.0/20');
    expect(got[30]).toBe('192.168.240.0/20');
    expect(() => ipam.requestPool()).toThrow(expect.objectContaining({ code: IpamCode.NoMoreSubnets, message: expect.stringMatching(/all predefined address pools have been fully subnetted/) }));
  });

  it('skips defaults that overlap the host’s routes and other pools', () => {
    const ipam = new Ipam();
    ipam.requestPool({ pool: '172.18.0.0/16' });
    expect(ipam.requestPool({ exclude: ['172.17.5.0/24', '172.19.0.0/17'] }).pool).toBe('172.20.0.0/16');
  });

  it('is configurable like default-address-pools', () => {
    const ipam = new Ipam({ localPools: [{ base: '10.10.0.0/16', size: 24 }] });
    expect(ipam.requestPool().pool).toBe('10.10.0.0/24');
    expect(ipam.requestPool().pool).toBe('10.10.1.0/24');
    expect(() => new Ipam({ localPools: [{ base: '10.10.0.0/16', size: 8 }] })).toThrow(InvalidInputError);
  });

  it('refuses overlapping pools in one address space, allows them in another', () => {
    const ipam = new Ipam();
    ipam.requestPool({ pool: '10.1.0.0/16' });
    expect(() => ipam.requestPool({ pool: '10.1.2.0/24' })).toThrow(expect.objectContaining({ code: IpamCode.PoolOverlap }));
    expect(ipam.requestPool({ pool: '10.1.2.0/24', addressSpace: 'global' }).poolId).toBe('GlobalDefault/10.1.2.0/24');
  });

  it('validates prefixes and sub-pools, changing nothing on error', () => {
    const ipam = new Ipam();
    expect(() => ipam.requestPool({ pool: '10.1.0.1/16' })).toThrow(/host bits/);
    expect(() => ipam.requestPool({ pool: '10.1.0.0/33' })).toThrow(/prefix length/);
    expect(() => ipam.requestPool({ pool: '10.1.0.0/16', subPool: '10.2.0.0/24' })).toThrow(expect.objectContaining({ code: IpamCode.InvalidSubpool }));
    expect(ipam.poolIds()).toEqual([]);
  });

  it('releases pools so they can be taken again', () => {
    const ipam = new Ipam();
    const p = ipam.requestPool();
    ipam.releasePool(p.poolId);
    expect(ipam.requestPool().pool).toBe(p.pool);
    expect(() => ipam.releasePool('LocalDefault/1.2.3.0/24')).toThrow(expect.objectContaining({ code: IpamCode.PoolNotFound }));
  });
});

describe('addresses', () => {
  it('keeps IPv4 network and broadcast out, but not on /31 and /32', () => {
    const ipam = new Ipam();
    const p30 = ipam.requestPool({ pool: '10.0.0.0/30' }).poolId;
    expect(drain(ipam, p30)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(() => ipam.requestAddress(p30, { address: '10.0.0.3' })).toThrow(expect.objectContaining({ code: IpamCode.IpOutOfRange }));
    expect(() => ipam.requestAddress(p30, { address: '10.0.0.0' })).toThrow(expect.objectContaining({ code: IpamCode.IpOutOfRange }));
    const p31 = ipam.requestPool({ pool: '10.0.1.0/31' }).poolId;
    expect(drain(ipam, p31)).toEqual(['10.0.1.0', '10.0.1.1']);
    const p32 = ipam.requestPool({ pool: '10.0.2.7/32' }).poolId;
    expect(drain(ipam, p32)).toEqual(['10.0.2.7']);
    expect(() => ipam.requestAddress(p32)).toThrow(expect.objectContaining({ code: IpamCode.NoAvailableIps, message: expect.stringMatching(/No available addresses/) }));
  });

  it('exhausts a /24 and recovers after a release', () => {
    const ipam = new Ipam();
    const id = ipam.requestPool({ pool: '10.3.0.0/24' }).poolId;
    expect(drain(ipam, id)).toHaveLength(254);
    ipam.releaseAddress(id, '10.3.0.77');
    expect(ipam.requestAddress(id).address).toBe('10.3.0.77');
  });

  it('serial allocation does not hand a just-released address out again, and wraps around', () => {
    const ipam = new Ipam();
    const id = ipam.requestPool({ pool: '10.4.0.0/29' }).poolId; // usable .1-.6
    const a = ipam.requestAddress(id).address;
    const b = ipam.requestAddress(id).address;
    expect([a, b]).toEqual(['10.4.0.1', '10.4.0.2']);
    ipam.releaseAddress(id, a);
    expect(ipam.requestAddress(id).address).toBe('10.4.0.3');
    for (const x of ['10.4.0.4', '10.4.0.5', '10.4.0.6']) expect(ipam.requestAddress(id).address).toBe(x);
    expect(ipam.requestAddress(id).address).toBe('10.4.0.1'); // wrapped
    expect(() => ipam.requestAddress(id)).toThrow(expect.objectContaining({ code: IpamCode.NoAvailableIps }));
  });

  it('restricts dynamic allocation to the IP range; specific addresses and the gateway may lie outside it', () => {
    const ipam = new Ipam();
    const id = ipam.requestPool({ pool: '10.5.0.0/24', subPool: '10.5.0.128/25' }).poolId;
    expect(ipam.requestAddress(id, { gateway: true }).address).toBe('10.5.0.1');
    expect(ipam.requestAddress(id).address).toBe('10.5.0.128');
    expect(ipam.requestAddress(id, { address: '10.5.0.5' }).cidr).toBe('10.5.0.5/24');
    expect(drain(ipam, id)).toHaveLength(126);
    expect(() => ipam.requestAddress(id)).toThrow(expect.objectContaining({ code: IpamCode.NoAvailableIps }));
  });

  it('refuses an address already in use and one outside the pool', () => {
    const ipam = new Ipam();
    const id = ipam.requestPool({ pool: '10.6.0.0/24' }).poolId;
    ipam.requestAddress(id, { address: '10.6.0.9' });
    expect(() => ipam.requestAddress(id, { address: '10.6.0.9' })).toThrow(expect.objectContaining({ code: IpamCode.IpAlreadyAllocated, message: 'Address already in use: 10.6.0.9' }));
    expect(() => ipam.requestAddress(id, { address: '10.7.0.9' })).toThrow(expect.objectContaining({ code: IpamCode.IpOutOfRange }));
    expect(() => ipam.requestAddress(id, { address: 'nonsense' })).toThrow(InvalidInputError);
  });

  it('handles a /8 at the end of its space', () => {
    const ipam = new Ipam();
    const id = ipam.requestPool({ pool: '10.0.0.0/8' }).poolId;
    expect(ipam.usage(id).bytes).toBeLessThan(2.5 * 1024 * 1024);
    ipam.requestAddress(id, { address: '10.255.255.254' });
    expect(() => ipam.requestAddress(id, { address: '10.255.255.255' })).toThrow(expect.objectContaining({ code: IpamCode.IpOutOfRange }));
    expect(ipam.requestAddress(id).address).toBe('10.0.0.1');
  });

  it('IPv6: a /120 exhausts, a /64 stays sparse', () => {
    const ipam = new Ipam();
    const small = ipam.requestPool({ pool: 'fd00:1::/120', v6: true }).poolId;
    const all = drain(ipam, small);
    expect(all).toHaveLength(255);
    expect(all[0]).toBe('fd00:1::1');
    expect(all[254]).toBe('fd00:1::ff');
    const big = ipam.requestPool({ pool: 'fd00:2::/64', v6: true }).poolId;
    for (let i = 0; i < 1000; i++) ipam.requestAddress(big);
    expect(ipam.requestAddress(big, { address: 'fd00:2::ffff:ffff:ffff:fffe' }).cidr).toBe('fd00:2::ffff:ffff:ffff:fffe/64');
    expect(ipam.usage(big).bytes).toBeLessThan(64 * 1024);
    expect(ipam.requestAddress(big).address).toBe('fd00:2::3e9');
    expect(ipam.requestPool({ v6: true }).pool).toBe('fd4e:736e:6574::/64');
  });
});

describe('replay', () => {
  it('a pool rebuilt from its allocated addresses and cursor equals the original and allocates the same next addresses', () => {
    fc.assert(fc.property(
      fc.array(fc.oneof(fc.constant<'alloc'>('alloc'), fc.nat(253).map((n) => n + 1)), { maxLength: 300 }),
      (steps) => {
        const a = new Ipam();
        const id = a.requestPool({ pool: '10.9.0.0/24' }).poolId;
        for (const s of steps) {
          if (s === 'alloc') { try { a.requestAddress(id); } catch { /* full */ } }
          else if (a.isAllocated(id, `10.9.0.${s}`)) a.releaseAddress(id, `10.9.0.${s}`);
        }
        const b = new Ipam();
        const id2 = b.requestPool({ pool: '10.9.0.0/24' }).poolId;
        for (const addr of a.allocated(id)) b.requestAddress(id2, { address: addr });
        b.setCursor(id2, a.cursor(id));
        expect(b.allocated(id2)).toEqual(a.allocated(id));
        for (let i = 0; i < 5; i++) {
          const x = (() => { try { return a.requestAddress(id).address; } catch { return 'full'; } })();
          const y = (() => { try { return b.requestAddress(id2).address; } catch { return 'full'; } })();
          expect(y).toBe(x);
        }
      }), { numRuns: 200 });
  });
});
