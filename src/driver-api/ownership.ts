// How nsnet recognises the kernel objects it made, per controller instance
// (several controllers with different data directories may share a host):
// - host veth ends live in interface group `live`; left ones move to `dead`
//   and are deleted in batches by group;
// - namespaces nsnet creates are named `nsn<tag>-<sandbox id prefix>`;
// - bridges (and overlay VXLAN devices) nsnet creates carry the alias
//   `nsnet:<tag>:<network id>`, and are born in interface group `made`
//   (the kernel ignores an alias at creation: the group marks one whose
//   alias a crash kept from being set).
// The tag and groups are derived once, from a hash of the data directory's
// canonical path, and kept in its store: a moved or renamed directory keeps
// recognising its own objects.
import { createHash } from 'node:crypto';

const BRIDGE_ALIAS = /^nsnet:([0-9a-f]{6}):([0-9a-f]{64})$/;

/** Whether a bridge's alias marks it as made by an nsnet controller (any one). */
export const isNsnetBridgeAlias = (alias: string | undefined): boolean => BRIDGE_ALIAS.test(alias ?? '');

export interface Ownership {
  tag: string;
  live: number;
  dead: number;
  /** Group of the bridges and VXLAN devices it creates (live's low bits, in 0x6f000000..0x6fffffff). */
  made: number;
  netnsPrefix: string;
  bridgeAlias(networkId: string): string;
  parseBridgeAlias(alias: string | undefined): string | undefined;
}

/** What is persisted (the store's 'meta' kind): everything else follows from it. */
export interface OwnershipSeed {
  tag: string;
  live: number;
}

/** A new data directory's marks, from a hash of its canonical path. */
export function deriveOwnership(dataDir: string): OwnershipSeed {
  const h = createHash('sha256').update(dataDir).digest();
  // Groups in 0x6e000000..0x6effffff, even = live, odd = dead; never 0.
  return { tag: h.subarray(0, 3).toString('hex'), live: (0x6e000000 | (h.readUInt32BE(4) & 0x00fffffe)) >>> 0 };
}

export function isOwnershipSeed(x: unknown): x is OwnershipSeed {
  const s = x as Partial<OwnershipSeed> | undefined;
  return typeof s?.tag === 'string' && /^[0-9a-f]{6}$/.test(s.tag)
    && typeof s.live === 'number' && Number.isInteger(s.live) && s.live % 2 === 0 && s.live >>> 24 === 0x6e;
}

/** The marks of a data directory as derived from its path (a new one; existing ones read theirs from the store). */
export function ownershipFor(dataDir: string): Ownership {
  return ownershipOf(deriveOwnership(dataDir));
}

export function ownershipOf({ tag, live }: OwnershipSeed): Ownership {
  return {
    tag,
    live,
    dead: live + 1,
    made: (0x6f000000 | (live & 0x00ffffff)) >>> 0,
    netnsPrefix: `nsn${tag}-`,
    bridgeAlias: (id) => `nsnet:${tag}:${id}`,
    parseBridgeAlias: (alias) => {
      const m = BRIDGE_ALIAS.exec(alias ?? '');
      return m && m[1] === tag ? m[2] : undefined;
    },
  };
}
