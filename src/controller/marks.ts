// The ownership marks live in the store, not in the data directory's path:
// derived from the canonical path on the first start (as they always were,
// so existing directories keep theirs), read back on every later one, so a
// moved or renamed directory still recognises its bridges, namespaces and
// interface groups (and never sweeps another controller's).
import { deriveOwnership, isOwnershipSeed, ownershipOf, type Ownership } from '../driver-api/ownership.js';
import { StoreError } from '../errors.js';
import type { Store } from '../store/store.js';

const KEY = 'ownership';

export async function loadOwnership(store: Store, canonicalDataDir: string): Promise<Ownership> {
  const stored = store.get<unknown>('meta', KEY);
  if (stored !== undefined) {
    if (!isOwnershipSeed(stored)) throw new StoreError(`store ${store.path}: malformed ownership record ${JSON.stringify(stored)}`);
    return ownershipOf(stored);
  }
  const seed = deriveOwnership(canonicalDataDir);
  store.put('meta', KEY, seed);
  // Before any kernel object carries the marks.
  await store.durable();
  return ownershipOf(seed);
}
