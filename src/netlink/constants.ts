// rtnetlink numbers from <linux/netlink.h>, <linux/rtnetlink.h>,
// <linux/if_link.h>, <linux/if_addr.h>. `as const` objects, not const enums,
// because isolatedModules builds cannot inline enums across files.
export const NLM_F = {
  REQUEST: 0x1, MULTI: 0x2, ACK: 0x4, ECHO: 0x8,
  ROOT: 0x100, MATCH: 0x200, DUMP: 0x300,
  REPLACE: 0x100, EXCL: 0x200, CREATE: 0x400, APPEND: 0x800,
} as const;

export const RTM = {
  NEWLINK: 16, DELLINK: 17, GETLINK: 18, SETLINK: 19,
  NEWADDR: 20, DELADDR: 21, GETADDR: 22,
  NEWROUTE: 24, DELROUTE: 25, GETROUTE: 26,
  NEWNEIGH: 28, DELNEIGH: 29, GETNEIGH: 30,
  NEWNSID: 88, GETNSID: 90,
} as const;

/** <linux/net_namespace.h>: attributes of RTM_*NSID (after a 4-byte rtgenmsg). */
export const NETNSA = { NSID: 1, FD: 3 } as const;

export const AF = { UNSPEC: 0, INET: 2, BRIDGE: 7, INET6: 10 } as const;

export const IFLA = {
  ADDRESS: 1, BROADCAST: 2, IFNAME: 3, MTU: 4, LINK: 5, MASTER: 10, OPERSTATE: 16,
  LINKINFO: 18, IFALIAS: 20, AF_SPEC: 26, GROUP: 27, NET_NS_FD: 28, EXT_MASK: 29, NUM_TX_QUEUES: 31, NUM_RX_QUEUES: 32,
  LINK_NETNSID: 37,
} as const;

export const IFLA_INFO = { KIND: 1, DATA: 2 } as const;
/** IFLA_INET6_ADDR_GEN_MODE inside IFLA_AF_SPEC/AF_INET6, and its "none" value. */
export const IFLA_INET6_ADDR_GEN_MODE = 8;
export const IN6_ADDR_GEN_MODE_NONE = 1;
/** IFLA_BR_MCAST_SNOOPING inside a bridge's IFLA_INFO_DATA (u8). */
export const IFLA_BR_MCAST_SNOOPING = 23;
export const VETH_INFO_PEER = 1;
export const IFLA_MACVLAN_MODE = 1;
export const MACVLAN_MODE = { private: 1, vepa: 2, bridge: 4, passthru: 8, source: 16 } as const;
export const IFLA_VXLAN = {
  ID: 1, GROUP: 2, LINK: 3, LOCAL: 4, TTL: 5, LEARNING: 7, PROXY: 11, L2MISS: 13, L3MISS: 14, PORT: 15, GROUP6: 16, LOCAL6: 17,
} as const;

export const IFF_UP = 0x1;
export const RTEXT_FILTER_SKIP_STATS = 1 << 3;

export const IFA = { ADDRESS: 1, LOCAL: 2, LABEL: 3, BROADCAST: 4, FLAGS: 8 } as const;
export const IFA_F = { NODAD: 0x02, PERMANENT: 0x80, NOPREFIXROUTE: 0x200 } as const;

export const RTA = { DST: 1, SRC: 2, OIF: 4, GATEWAY: 5, PRIORITY: 6, PREFSRC: 7, TABLE: 15 } as const;
export const RTN_UNICAST = 1;
export const RTPROT = { KERNEL: 2, BOOT: 3, STATIC: 4 } as const;
export const RT_SCOPE = { UNIVERSE: 0, LINK: 253, HOST: 254, NOWHERE: 255 } as const;
export const RT_TABLE_MAIN = 254;
export const RTNH_F_ONLINK = 4;

/** <linux/neighbour.h>: ndmsg attributes, entry states and flags. */
export const NDA = { DST: 1, LLADDR: 2, VNI: 7, IFINDEX: 8, MASTER: 9 } as const;
export const NUD = { REACHABLE: 0x02, STALE: 0x04, NOARP: 0x40, PERMANENT: 0x80 } as const;
export const NTF = { SELF: 0x02, MASTER: 0x04, EXT_LEARNED: 0x10 } as const;

export const IFNAMSIZ = 16;
