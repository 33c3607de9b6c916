// How nsnet recognises the kernel objects it made, per controller instance
// (several controllers with different data directories may share a host):
// - host veth ends live in interface group `live`; left ones move to `dead`
//   and are deleted in batches by group;
// - namespaces nsnet creates are named `nsn<tag>-<sandbox id prefix>`;
// - bridges nsnet creates carry the alias `nsnet:<tag>:<network id>`.
import { createHash } from 'node:crypto';

export interface Ownership {
  tag: string;
  live: number;
  dead: number;
  netnsPrefix: string;
  bridgeAlias(networkId: string): string;
  parseBridgeAlias(alias: string | undefined): string | undefined;
}

export function ownershipFor(dataDir: string): Ownership {
  const h = createHash('sha256').update(dataDir).digest();
  const tag = h.subarray(0, 3).toString('hex');
  // Groups in 0x6e000000..0x6effffff, even = live, odd = dead; never 0.
  const live = (0x6e000000 | (h.readUInt32BE(4) & 0x00fffffe)) >>> 0;
  return {
    tag,
    live,
    dead: live + 1,
    netnsPrefix: `nsn${tag}-`,
    bridgeAlias: (id) => `nsnet:${tag}:${id}`,
    parseBridgeAlias: (alias) => {
      const m = /^nsnet:([0-9a-f]{6}):([0-9a-f]{64})$/.exec(alias ?? '');
      return m && m[1] === tag ? m[2] : undefined;
    },
  };
}
