// Host-port bookkeeping, without a kernel: which bindings clash, and what a
// refused reservation leaves (nothing).
import { describe, expect, it } from 'vitest';
import { fromDockerPortBindings, PortRegistry } from '../src/firewall/ports.js';

const ips = { v4: '10.9.0.2' };
const bind = (spec: Record<string, { HostIp?: string; HostPort?: string }[]>) => fromDockerPortBindings(spec);

describe('port registry', () => {
  it('a binding on all addresses clashes with the port on any address, until every holder of it is released', () => {
    const r = new PortRegistry();
    const a = r.reserve('a', ips, bind({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] }));
    const b = r.reserve('b', ips, bind({ '80/tcp': [{ HostIp: '127.0.0.2', HostPort: '8080' }] }));
    // Another protocol, or another port, is free.
    expect(r.reserve('u', ips, bind({ '80/udp': [{ HostPort: '8080' }] }))).toHaveLength(1);
    expect(() => r.reserve('c', ips, bind({ '80/tcp': [{ HostPort: '8080' }] }))).toThrow(/0\.0\.0\.0:8080 failed: port is already allocated/);
    r.release('a', a);
    expect(() => r.reserve('c', ips, bind({ '80/tcp': [{ HostPort: '8080' }] }))).toThrow(/already allocated/);
    r.release('b', b);
    const c = r.reserve('c', ips, bind({ '80/tcp': [{ HostPort: '8080' }] }));
    expect(c).toEqual([{ proto: 'tcp', hostIp: '', hostPort: 8080, containerIp: '10.9.0.2', containerPort: 80 }]);
    // And the other way: a port held on all addresses refuses a given address.
    expect(() => r.reserve('d', ips, bind({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] }))).toThrow(/127\.0\.0\.1:8080/);
    // Releasing another owner's mapping frees nothing.
    r.release('d', c);
    expect(r.holder(c[0]!)).toBe('c');
  });

  it('ranges: thousands of ports reserved at once, any-address ports skip them, and a refused reservation leaves nothing taken', () => {
    const r = new PortRegistry();
    expect(r.reserve('a', ips, bind({ '20000-29999/tcp': [{ HostPort: '20000-29999' }] }))).toHaveLength(10_000);
    // One container port, a host range: the first free port of it.
    expect(r.reserve('b', ips, bind({ '80/tcp': [{ HostPort: '29990-30010' }] }))[0]!.hostPort).toBe(30_000);
    // More container ports than the local range can give: refused whole.
    expect(() => r.reserve('c', ips, bind({ '1-65535/tcp': [{ HostPort: '' }] }))).toThrow(/no free host port/);
    const one = r.reserve('d', ips, bind({ '1-3/tcp': [{ HostPort: '' }] }));
    expect(one).toHaveLength(3);
    for (const m of one) expect(r.holder(m)).toBe('d');
    // Restored mappings (a restart) are held again, and clash as before.
    const again = new PortRegistry();
    again.restore('a', one);
    expect(() => again.reserve('e', ips, bind({ '1/tcp': [{ HostIp: '127.0.0.1', HostPort: String(one[0]!.hostPort) }] }))).toThrow(/already allocated/);
  });
});
