// What every measured implementation offers: sandboxes, and endpoints
// created+joined into them and left+deleted again.
export interface Impl<S = unknown, E = unknown> {
  readonly name: string;
  setup(): Promise<void>;
  newSandbox(i: number): Promise<S>;
  destroySandbox(s: S): Promise<void>;
  createJoin(s: S): Promise<E>;
  leaveDelete(s: S, e: E): Promise<void>;
  teardown(): Promise<void>;
  /** Finish work the implementation deferred (outside any timed section), so it does not land in another's measurement. */
  settle?(): Promise<void>;
}
