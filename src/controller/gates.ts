// One gate per network between its joins and its deletion. Joins pass
// through it together (they only share the network, so they must not queue
// behind each other); a delete closes it: from that moment new joins and
// endpoints are refused, the joins already through are waited for, and then
// the delete runs. JS runs one task at a time, so plain counters do: what
// the gate prevents is interleaving across awaits, e.g. a veth enslaved to
// a bridge that a delete is tearing down.
import { NotFoundError } from '../errors.js';

interface Gate {
  inside: number;
  drained: (() => void)[];
  closing?: Promise<void>;
}

export class NetworkGates {
  private readonly gates = new Map<string, Gate>();

  private gate(id: string): Gate {
    let g = this.gates.get(id);
    if (!g) this.gates.set(id, (g = { inside: 0, drained: [] }));
    return g;
  }

  /** Passes a join through; NotFoundError once a delete has started. Returns the release. */
  enter(id: string): () => void {
    const g = this.gate(id);
    if (g.closing) throw new NotFoundError(`network ${id} not found`);
    g.inside++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--g.inside > 0) return;
      for (const f of g.drained.splice(0)) f();
      if (!g.closing) this.gates.delete(id);
    };
  }

  /** The delete in progress on this network, if any. */
  deleting(id: string): Promise<void> | undefined {
    return this.gates.get(id)?.closing;
  }

  /**
   * Closes the gate (synchronously, before the first await), waits for the
   * joins inside, then runs `fn`. The gate reopens afterwards, so a delete
   * that refused (active endpoints) or failed leaves the network usable.
   */
  close(id: string, fn: () => Promise<void>): Promise<void> {
    const g = this.gate(id);
    const drained = g.inside > 0 ? new Promise<void>((resolve) => g.drained.push(resolve)) : Promise.resolve();
    // `then`, not a call: fn runs after g.closing is set below.
    const closing = drained.then(fn).finally(() => {
      delete g.closing;
      if (g.inside === 0) this.gates.delete(id);
    });
    g.closing = closing;
    return closing;
  }
}
