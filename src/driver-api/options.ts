// Docker's option and label names, so inspect output and the API speak them.
export const BridgeOption = {
  Name: 'com.docker.network.bridge.name',
  EnableICC: 'com.docker.network.bridge.enable_icc',
  EnableIPMasquerade: 'com.docker.network.bridge.enable_ip_masquerade',
  HostBindingIPv4: 'com.docker.network.bridge.host_binding_ipv4',
  /** The source address of traffic leaving the network (SNAT instead of masquerade), as Docker's. */
  HostIPv4: 'com.docker.network.host_ipv4',
  HostIPv6: 'com.docker.network.host_ipv6',
  DefaultBridge: 'com.docker.network.bridge.default_bridge',
  InhibitIPv4: 'com.docker.network.bridge.inhibit_ipv4',
  /** nat (default), nat-unprotected or routed: see the firewall's GatewayMode. */
  GatewayModeIPv4: 'com.docker.network.bridge.gateway_mode_ipv4',
  GatewayModeIPv6: 'com.docker.network.bridge.gateway_mode_ipv6',
  /** Host interfaces, colon-separated, from which published container ports may be reached directly. */
  TrustedHostInterfaces: 'com.docker.network.bridge.trusted_host_interfaces',
  Mtu: 'com.docker.network.driver.mtu',
  ContainerIfacePrefix: 'com.docker.network.container_iface_prefix',
  /** nsnet's own: IGMP/MLD snooping on a bridge nsnet creates (default off). */
  MulticastSnooping: 'nsnet.bridge.multicast_snooping',
} as const;

export const parseBool = (v: string | undefined, dflt: boolean): boolean => {
  if (v === undefined || v === '') return dflt;
  if (/^(1|t|true|yes|on)$/i.test(v)) return true;
  if (/^(0|f|false|no|off)$/i.test(v)) return false;
  return dflt;
};
