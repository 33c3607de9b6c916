// The controller's endpoint records by ID, also indexed by network and by
// name within a network: a name check or a count of a network's joined
// endpoints then looks at that network's endpoints only, not at every
// endpoint of the controller (which made each create and join cost a scan
// of thousands at scale). A record's network never changes once it is
// stored; a rename stores a new record under the same ID (set re-indexes).
import type { EndpointRecord } from '../driver-api/records.js';

const EMPTY: ReadonlyMap<string, EndpointRecord> = new Map();

export class EndpointTable extends Map<string, EndpointRecord> {
  private readonly byNetwork = new Map<string, Map<string, EndpointRecord>>();
  private readonly byName = new Map<string, EndpointRecord>();

  override set(id: string, ep: EndpointRecord): this {
    const old = this.get(id);
    if (old) this.unindex(id, old);
    super.set(id, ep);
    let mine = this.byNetwork.get(ep.networkId);
    if (!mine) this.byNetwork.set(ep.networkId, (mine = new Map()));
    mine.set(id, ep);
    this.byName.set(nameKey(ep), ep);
    return this;
  }

  override delete(id: string): boolean {
    const old = this.get(id);
    if (old) this.unindex(id, old);
    return super.delete(id);
  }

  override clear(): void {
    this.byNetwork.clear();
    this.byName.clear();
    super.clear();
  }

  /** The endpoint of `networkId` named `name`, if any. */
  named(networkId: string, name: string): EndpointRecord | undefined {
    return this.byName.get(`${networkId}\0${name}`);
  }

  /** The endpoints of one network. */
  inNetwork(networkId: string): IterableIterator<EndpointRecord> {
    return (this.byNetwork.get(networkId) ?? EMPTY).values();
  }

  private unindex(id: string, ep: EndpointRecord): void {
    const mine = this.byNetwork.get(ep.networkId);
    mine?.delete(id);
    if (mine && !mine.size) this.byNetwork.delete(ep.networkId);
    if (this.byName.get(nameKey(ep)) === ep) this.byName.delete(nameKey(ep));
  }
}

const nameKey = (ep: EndpointRecord): string => `${ep.networkId}\0${ep.name}`;
