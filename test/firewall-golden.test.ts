// Golden files of the generated nftables rules for each option combination
// (as libnetwork does), so any change to the rules shows in review. Every
// script is also checked by `nft -c` for syntax. UPDATE_GOLDEN=1 rewrites them.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { networkAddScript, networkDelScript, portElements, tableScript, type FwNetwork } from '../src/firewall/ruleset.js';

const hasNft = spawnSync('nft', ['--version']).status === 0;
const TAG = 'a1b2c3';

function scriptFor(icc: boolean, masquerade: boolean, internal: boolean, v6: boolean,
  extra: Pick<FwNetwork, 'snat4' | 'snat6' | 'gatewayMode4' | 'gatewayMode6' | 'trusted'> = {}): string {
  const n: FwNetwork = {
    id: '0123456789abcdef'.repeat(4), bridge: 'br-0123456789ab',
    subnets4: ['172.18.0.0/16'], subnets6: v6 ? ['fd00:1::/64'] : [], icc, masquerade, internal, ...extra,
  };
  const ports = portElements(TAG, [
    { proto: 'tcp', hostIp: '', hostPort: 8080, containerIp: '172.18.0.2', containerPort: 80 },
    { proto: 'udp', hostIp: '127.0.0.1', hostPort: 5353, containerIp: '172.18.0.2', containerPort: 53 },
    ...(v6 ? [{ proto: 'tcp' as const, hostIp: '', hostPort: 8443, containerIp: 'fd00:1::2', containerPort: 443 }] : []),
  ], 'add');
  return [
    '# table', tableScript(TAG),
    '# network add', networkAddScript(TAG, n),
    '# published ports', ports,
    '# network delete', networkDelScript(TAG, n), '',
  ].join('\n');
}

describe('firewall rules (golden)', () => {
  const cases: [string, string][] = [];
  for (const icc of [true, false]) for (const masq of [true, false]) for (const internal of [false, true]) for (const v6 of [false, true])
    cases.push([`icc=${icc},masq=${masq},internal=${internal},ipv6=${v6}`, scriptFor(icc, masq, internal, v6)]);
  // host_ipv4 / host_ipv6: SNAT to a fixed source address instead of masquerade.
  cases.push(['snat,ipv6=true', scriptFor(true, true, false, true, { snat4: '192.0.2.7', snat6: '2001:db8::7' })]);
  // Docker's gateway modes (nat is the default above) and trusted_host_interfaces.
  cases.push(['gwm4=routed,gwm6=nat-unprotected,ipv6=true', scriptFor(true, true, false, true, { gatewayMode4: 'routed', gatewayMode6: 'nat-unprotected' })]);
  cases.push(['gwm4=nat-unprotected,gwm6=routed,ipv6=true', scriptFor(true, true, false, true, { gatewayMode4: 'nat-unprotected', gatewayMode6: 'routed' })]);
  cases.push(['trusted,ipv6=true', scriptFor(true, true, false, true, { trusted: ['eth3', 'vxlan.1'] })]);
  for (const [name, text] of cases) {
    it(name, () => {
      const file = new URL(`./golden/${name}.nft`, import.meta.url);
      if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(file, text);
      expect(existsSync(file)).toBe(true);
      expect(text).toBe(readFileSync(file, 'utf8'));
      if (hasNft && process.getuid?.() === 0) {
        // Syntax and semantics check without committing anything (the delete part needs the objects: skip it).
        const check = spawnSync('nft', ['-c', '-f', '-'], { input: text.split('# network delete')[0], encoding: 'utf8' });
        expect(check.stderr).toBe('');
        expect(check.status).toBe(0);
      }
    });
  }
});
