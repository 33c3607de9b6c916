// Every step that changes the kernel or the store registers its inverse here.
// On failure the steps run backwards; teardown keeps going past errors and
// reports them all (netavark's rule), so one failure never strands the rest.
import { TeardownError } from '../errors.js';

export class Undo {
  private steps: { what: string; fn: () => unknown }[] = [];

  push(what: string, fn: () => unknown): void {
    this.steps.push({ what, fn });
  }

  /** The operation succeeded: forget the inverses. */
  commit(): void {
    this.steps = [];
  }

  /** Runs every inverse, newest first; returns the errors it met. */
  async rollback(): Promise<unknown[]> {
    const errors: unknown[] = [];
    for (const s of this.steps.reverse()) {
      try {
        await s.fn();
      } catch (e) {
        errors.push(new Error(`undo ${s.what}: ${(e as Error).message}`, { cause: e }));
      }
    }
    this.steps = [];
    return errors;
  }
}

/** Runs `body` with an Undo; on failure rolls back and rethrows the original error. */
export async function withUndo<T>(body: (u: Undo) => Promise<T>): Promise<T> {
  const u = new Undo();
  try {
    const out = await body(u);
    u.commit();
    return out;
  } catch (e) {
    const errs = await u.rollback();
    if (errs.length && e instanceof Error) (e as Error & { undoErrors?: unknown[] }).undoErrors = errs;
    throw e;
  }
}

/** Runs every step even if some fail; throws one error listing all failures. */
export async function collect(what: string, steps: (() => Promise<unknown> | unknown)[]): Promise<void> {
  const errors: unknown[] = [];
  for (const s of steps) {
    try {
      await s();
    } catch (e) {
      errors.push(e);
    }
  }
  if (errors.length) throw new TeardownError(what, errors);
}
