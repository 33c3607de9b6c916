// The choices the cluster layer makes before a compare-and-swap (subnet,
// gateway, address) and its store URL parsing: pure, no etcd, no kernel.
import { describe, expect, it } from 'vitest';
import { checkAddress, checkSubnetFree, gatewayOf, pickAddress, pickSubnet } from '../src/cluster/allocate.js';
import { parseStoreUrl } from '../src/cluster/store.js';
import { DOCKER_GLOBAL_POOLS } from '../src/ipam/index.js';

describe('cluster allocation choices', () => {
  it('subnets: the first /24 of the global pool that overlaps nothing in use nor to avoid', () => {
    expect(pickSubnet(DOCKER_GLOBAL_POOLS, [])).toBe('10.0.0.0/24');
    expect(pickSubnet(DOCKER_GLOBAL_POOLS, [{ subnet: '10.0.0.0/23', network: 'a' }], ['10.0.2.0/24'])).toBe('10.0.3.0/24');
    expect(() => pickSubnet([{ base: '10.9.0.0/24', size: 24 }], [{ subnet: '10.9.0.0/24', network: 'a' }])).toThrow(expect.objectContaining({ code: 'NO_MORE_SUBNETS' }));
    expect(() => checkSubnetFree('10.0.0.128/25', [{ subnet: '10.0.0.0/24', network: 'a' }])).toThrow(expect.objectContaining({ code: 'POOL_OVERLAP' }));
    expect(() => checkSubnetFree('10.0.1.0/24', [{ subnet: '10.0.0.0/24', network: 'a' }])).not.toThrow();
  });

  it('gateway: as given inside the subnet (never its network or broadcast address), else the first host address', () => {
    expect(gatewayOf('10.0.9.0/24')).toBe('10.0.9.1');
    expect(gatewayOf('10.0.9.0/24', '10.0.9.254')).toBe('10.0.9.254');
    for (const bad of ['10.0.8.1', '10.0.9.0', '10.0.9.255']) expect(() => gatewayOf('10.0.9.0/24', bad)).toThrow(expect.objectContaining({ code: 'EINVALIDINPUT' }));
    expect(() => gatewayOf('10.0.9.0/31')).toThrow(/at most \/30/);
    expect(() => gatewayOf('fd00::/64')).toThrow(/IPv4/);
  });

  it('addresses: the lowest free one of the range, never the gateway, network or broadcast; explicit ones checked', () => {
    expect(pickAddress('10.0.9.0/24', '10.0.9.1', undefined, new Set())).toBe('10.0.9.2');
    expect(pickAddress('10.0.9.0/24', '10.0.9.2', undefined, new Set(['10.0.9.1']))).toBe('10.0.9.3');
    expect(pickAddress('10.0.9.0/24', '10.0.9.1', '10.0.9.128/25', new Set(['10.0.9.128']))).toBe('10.0.9.129');
    expect(() => pickAddress('10.0.9.0/30', '10.0.9.1', undefined, new Set(['10.0.9.2']))).toThrow(expect.objectContaining({ code: 'NO_AVAILABLE_IPS' }));
    expect(checkAddress('10.0.9.0/24', '10.0.9.1', '10.0.9.7')).toBe('10.0.9.7');
    for (const bad of ['10.0.9.1', '10.0.9.0', '10.0.9.255', '10.0.10.2', 'x']) expect(() => checkAddress('10.0.9.0/24', '10.0.9.1', bad)).toThrow(expect.objectContaining({ code: 'EINVALIDINPUT' }));
  });

  it('store URL: etcd://HOST:PORT (or http://), nothing else', () => {
    expect(parseStoreUrl('etcd://10.0.0.5:2379')).toBe('http://10.0.0.5:2379');
    expect(parseStoreUrl('http://etcd.local:2379/')).toBe('http://etcd.local:2379');
    for (const bad of ['10.0.0.5:2379', 'etcd://10.0.0.5', 'consul://h:8500', 'etcd://h:0', 'etcd://h:70000', 'etcd://a b:1']) expect(() => parseStoreUrl(bad)).toThrow(/expected etcd:\/\/HOST:PORT/);
  });
});
