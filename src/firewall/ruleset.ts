// The nftables rules of bridge networks, as text. Pure functions: golden
// tests pin their output. Everything lives in one table per controller that
// nsnet alone owns; each network has its own chains, reached through
// verdict maps keyed by bridge name, so adding or removing a network is a
// constant amount of work however many networks exist.

export interface FwNetwork {
  id: string;
  bridge: string;
  subnets4: string[];
  subnets6: string[];
  icc: boolean;
  masquerade: boolean;
  internal: boolean;
  /** Docker's host_ipv4 / host_ipv6: the source address of traffic leaving the network (SNAT), instead of the outgoing interface's (masquerade). */
  snat4?: string;
  snat6?: string;
  /** Docker's gateway_mode_ipv4 / gateway_mode_ipv6 (absent: nat). */
  gatewayMode4?: GatewayMode;
  gatewayMode6?: GatewayMode;
  /** Docker's trusted_host_interfaces: host interfaces from which published container ports may be reached directly. */
  trusted?: string[];
}

/**
 * Docker's gateway modes, per address family:
 * - nat: NAT and masquerade; the outside reaches containers only through
 *   published ports on host addresses (no direct routing to container addresses);
 * - nat-unprotected: the same NAT, with no filter on direct routing (the old default);
 * - routed: no masquerade; the outside may route directly to published container ports (and ICMP).
 */
export type GatewayMode = 'nat' | 'nat-unprotected' | 'routed';

export interface PortMapping {
  proto: 'tcp' | 'udp';
  hostIp: string; // "" or 0.0.0.0 / :: = all addresses
  hostPort: number;
  containerIp: string;
  containerPort: number;
}

export const tableName = (tag: string): string => `nsnet_${tag}`;
const chain = (kind: string, net: FwNetwork) => `${kind}_${net.id.slice(0, 12)}`;
const q = (s: string) => `"${s}"`;

/** The table, its sets and maps, and the base chains. */
export function tableScript(tag: string): string {
  const t = tableName(tag);
  return [
    `add table inet ${t}`,
    `add set inet ${t} bridges { type ifname; }`,
    `add map inet ${t} fwd_in { type ifname : verdict; }`,
    `add map inet ${t} fwd_out { type ifname : verdict; }`,
    `add map inet ${t} nat_in { type ifname : verdict; }`,
    `add map inet ${t} nat_out { type ifname : verdict; }`,
    `add map inet ${t} ports4 { type inet_proto . inet_service : ipv4_addr . inet_service; }`,
    `add map inet ${t} ports4_ip { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }`,
    `add map inet ${t} ports6 { type inet_proto . inet_service : ipv6_addr . inet_service; }`,
    `add map inet ${t} ports6_ip { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service; }`,
    // Published container ports by container address: what direct routing may reach (routed mode, trusted interfaces).
    `add set inet ${t} open4 { type ipv4_addr . inet_proto . inet_service; }`,
    `add set inet ${t} open6 { type ipv6_addr . inet_proto . inet_service; }`,
    // Bridges of networks in routed mode, per family: other networks' containers may route to their published ports.
    `add set inet ${t} routed4 { type ifname; }`,
    `add set inet ${t} routed6 { type ifname; }`,
    `add chain inet ${t} forward { type filter hook forward priority filter; policy accept; }`,
    `add rule inet ${t} forward iifname vmap @fwd_in`,
    `add rule inet ${t} forward oifname vmap @fwd_out`,
    `add chain inet ${t} published`,
    `add rule inet ${t} published dnat ip to ip daddr . meta l4proto . th dport map @ports4_ip`,
    `add rule inet ${t} published dnat ip to meta l4proto . th dport map @ports4`,
    `add rule inet ${t} published dnat ip6 to ip6 daddr . meta l4proto . th dport map @ports6_ip`,
    `add rule inet ${t} published dnat ip6 to meta l4proto . th dport map @ports6`,
    `add chain inet ${t} prerouting { type nat hook prerouting priority dstnat; policy accept; }`,
    `add rule inet ${t} prerouting fib daddr type local jump published`,
    `add chain inet ${t} output { type nat hook output priority -100; policy accept; }`,
    `add rule inet ${t} output fib daddr type local jump published`,
    `add chain inet ${t} postrouting { type nat hook postrouting priority srcnat; policy accept; }`,
    `add rule inet ${t} postrouting iifname vmap @nat_in`,
    `add rule inet ${t} postrouting oifname vmap @nat_out`,
  ].join('\n');
}

/** One network's rules, added in one transaction. */
export function networkAddScript(tag: string, n: FwNetwork): string {
  const t = tableName(tag);
  const [fin, fout, nin, nout] = ['fin', 'fout', 'nin', 'nout'].map((k) => chain(k, n)) as [string, string, string, string];
  const br = q(n.bridge);
  const lines = [
    `add element inet ${t} bridges { ${br} }`,
    ...routedSets(n).map((set) => `add element inet ${t} ${set} { ${br} }`),
    // Traffic entering from this bridge.
    `add chain inet ${t} ${fin}`,
  ];
  // Docker: another network's containers reach this one's published ports
  // through host addresses, and those of a routed network directly.
  if (!n.internal) {
    // Replies, among them those of connections into a routed network (which the isolation below would drop).
    lines.push(`add rule inet ${t} ${fin} oifname @bridges oifname != ${br} ct state established,related accept`);
    lines.push(`add rule inet ${t} ${fin} oifname @bridges oifname != ${br} ct status dnat accept comment "published ports of other networks"`);
    lines.push(`add rule inet ${t} ${fin} oifname @routed4 ip daddr . meta l4proto . th dport @open4 accept comment "published ports of routed networks"`);
    lines.push(`add rule inet ${t} ${fin} oifname @routed6 ip6 daddr . meta l4proto . th dport @open6 accept comment "published ports of routed networks"`);
  }
  lines.push(`add rule inet ${t} ${fin} oifname @bridges oifname != ${br} drop comment "isolation between networks"`);
  if (n.internal) lines.push(`add rule inet ${t} ${fin} oifname != ${br} drop comment "internal: nothing leaves the bridge"`);
  if (!n.icc) {
    lines.push(`add rule inet ${t} ${fin} oifname ${br} ct status dnat accept comment "published ports stay reachable by hairpin"`);
    lines.push(`add rule inet ${t} ${fin} oifname ${br} drop comment "enable_icc=false"`);
  }
  // Traffic leaving into this bridge.
  lines.push(`add chain inet ${t} ${fout}`);
  if (n.internal) lines.push(`add rule inet ${t} ${fout} iifname != ${br} drop comment "internal: nothing enters the bridge"`);
  else lines.push(...directRouting(t, fout, br, n));
  // NAT for traffic from this bridge, and into it from the host itself.
  lines.push(`add chain inet ${t} ${nin}`);
  if (n.masquerade && !n.internal) {
    const out4 = n.snat4 ? `snat ip to ${n.snat4}` : 'masquerade';
    const out6 = n.snat6 ? `snat ip6 to ${n.snat6}` : 'masquerade';
    // Routed: containers' own addresses leave as they are.
    if (n.gatewayMode4 !== 'routed') for (const s of n.subnets4) lines.push(`add rule inet ${t} ${nin} oifname != ${br} ip saddr ${s} ${out4}`);
    if (n.gatewayMode6 !== 'routed') for (const s of n.subnets6) lines.push(`add rule inet ${t} ${nin} oifname != ${br} ip6 saddr ${s} ${out6}`);
  }
  lines.push(`add rule inet ${t} ${nin} oifname ${br} ct status dnat masquerade comment "hairpin"`);
  lines.push(`add chain inet ${t} ${nout}`);
  lines.push(`add rule inet ${t} ${nout} ip saddr 127.0.0.0/8 ct status dnat masquerade comment "published ports via 127.0.0.1"`);
  lines.push(`add element inet ${t} fwd_in { ${br} : jump ${fin} }`);
  lines.push(`add element inet ${t} fwd_out { ${br} : jump ${fout} }`);
  lines.push(`add element inet ${t} nat_in { ${br} : jump ${nin} }`);
  lines.push(`add element inet ${t} nat_out { ${br} : jump ${nout} }`);
  return lines.join('\n');
}

/**
 * What may enter a non-internal bridge from elsewhere (its fout chain), as
 * Docker's gateway modes and trusted_host_interfaces allow: replies, traffic
 * DNATed to a published port, the bridge's own (bridged) traffic; then per
 * family, nothing else (nat), published ports and ICMP (routed), or
 * anything (nat-unprotected).
 */
function directRouting(t: string, fout: string, br: string, n: FwNetwork): string[] {
  const rule = (r: string) => `add rule inet ${t} ${fout} ${r}`;
  const lines = [
    rule('ct state established,related accept'),
    rule('ct status dnat accept comment "published ports, via host addresses"'),
    // Bridged traffic seen by the IP hooks (br_netfilter) enters and leaves the bridge itself.
    rule(`iifname ${br} accept`),
  ];
  const families = [
    { v: 4, ip: 'ip', icmp: 'icmp', mode: n.gatewayMode4 ?? 'nat', on: n.subnets4.length > 0 },
    { v: 6, ip: 'ip6', icmp: 'ipv6-icmp', mode: n.gatewayMode6 ?? 'nat', on: n.subnets6.length > 0 },
  ] as const;
  for (const f of families) {
    if (!f.on) continue;
    const open = `${f.ip} daddr . meta l4proto . th dport @open${f.v}`;
    if (n.trusted?.length) lines.push(rule(`iifname { ${n.trusted.map(q).join(', ')} } ${open} accept comment "trusted_host_interfaces"`));
    if (f.mode === 'nat-unprotected') continue;
    if (f.mode === 'routed') {
      lines.push(rule(`${open} accept comment "gateway_mode_ipv${f.v}=routed: published ports"`));
      lines.push(rule(`meta l4proto ${f.icmp} accept`));
    }
    lines.push(rule(`meta nfproto ipv${f.v} drop comment "gateway_mode_ipv${f.v}=${f.mode}: no other direct routing"`));
  }
  return lines;
}

/** The routed-mode sets a network's bridge belongs to. */
const routedSets = (n: FwNetwork): string[] =>
  n.internal ? [] : [...(n.gatewayMode4 === 'routed' ? ['routed4'] : []), ...(n.gatewayMode6 === 'routed' ? ['routed6'] : [])];

export function networkDelScript(tag: string, n: FwNetwork): string {
  const t = tableName(tag);
  const br = q(n.bridge);
  const lines = ['fwd_in', 'fwd_out', 'nat_in', 'nat_out'].map((m) => `delete element inet ${t} ${m} { ${br} }`);
  lines.push(`delete element inet ${t} bridges { ${br} }`);
  for (const set of routedSets(n)) lines.push(`delete element inet ${t} ${set} { ${br} }`);
  for (const k of ['fin', 'fout', 'nin', 'nout']) {
    lines.push(`flush chain inet ${t} ${chain(k, n)}`);
    lines.push(`delete chain inet ${t} ${chain(k, n)}`);
  }
  return lines.join('\n');
}

const anyAddr = (ip: string) => ip === '' || ip === '0.0.0.0' || ip === '::';

/** Elements of the published-port maps for some mappings. */
export function portElements(tag: string, maps: readonly PortMapping[], op: 'add' | 'delete'): string {
  const t = tableName(tag);
  const lines = maps.map((m) => {
    const v6 = m.containerIp.includes(':');
    const map = `ports${v6 ? 6 : 4}${anyAddr(m.hostIp) ? '' : '_ip'}`;
    const key = `${anyAddr(m.hostIp) ? '' : `${m.hostIp} . `}${m.proto} . ${m.hostPort}`;
    return op === 'add'
      ? `add element inet ${t} ${map} { ${key} : ${m.containerIp} . ${m.containerPort} }`
      : `delete element inet ${t} ${map} { ${key} }`;
  });
  // The container ports themselves, once each: one endpoint's mappings come and go together.
  const open = new Set(maps.map((m) => `${m.containerIp.includes(':') ? 6 : 4} { ${m.containerIp} . ${m.proto} . ${m.containerPort} }`));
  for (const o of open) lines.push(`${op} element inet ${t} open${o}`);
  return lines.join('\n');
}

export const tableDelScript = (tag: string): string => `delete table inet ${tableName(tag)}`;
