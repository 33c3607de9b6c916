// 64-hex IDs like Docker's, and lookup by full ID, name, or unique ID prefix.
import { AmbiguousError, NotFoundError } from '../errors.js';
import { randomHex } from '../random.js';

export const newId = (): string => randomHex(32);

/** Docker's DNSNames of a container's endpoint on a user-defined network: its name, its aliases there, its short ID. */
/** moby's buildEndpointDNSNames: name, aliases, short ID, hostname, each once. */
export const dnsNames = (name: string, aliases: readonly string[], containerId: string, hostname = ''): string[] =>
  [...new Set([name, ...aliases, containerId.slice(0, 12), ...(hostname ? [hostname] : [])])];

export interface Named {
  id: string;
  name: string;
}

/**
 * Docker's order: exact ID, then exact name, then ID prefix. More than one
 * match is ambiguous.
 */
export function findUnique<T extends Named>(items: Iterable<T>, term: string, what: string): T {
  const all = [...items];
  const byId = all.find((x) => x.id === term);
  if (byId) return byId;
  const byName = all.filter((x) => x.name === term);
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1) throw new AmbiguousError(`${what} ${term} is ambiguous (${byName.length} matches found based on name)`);
  const byPrefix = term ? all.filter((x) => x.id.startsWith(term)) : [];
  if (byPrefix.length === 1) return byPrefix[0]!;
  if (byPrefix.length > 1) throw new AmbiguousError(`${what} ${term} is ambiguous (${byPrefix.length} matches found based on ID prefix)`);
  throw new NotFoundError(`${what} ${term} not found`);
}
