// Every error nsnet raises on purpose has a class and a stable `code`, so
// callers (and the Docker API layer) can map them without parsing messages.

export class NsnetError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Input refused before anything was changed. */
export class InvalidInputError extends NsnetError {
  constructor(message: string) {
    super('EINVALIDINPUT', message);
  }
}

export class NotFoundError extends NsnetError {
  constructor(message: string) {
    super('ENOTFOUND', message);
  }
}

export class ConflictError extends NsnetError {
  constructor(message: string, code = 'ECONFLICT') {
    super(code, message);
  }
}

export class ForbiddenError extends NsnetError {
  constructor(message: string, code = 'EFORBIDDEN') {
    super(code, message);
  }
}

export class AmbiguousError extends NsnetError {
  constructor(message: string) {
    super('EAMBIGUOUS', message);
  }
}

/** Several failures collected during a teardown that kept going. */
export class TeardownError extends NsnetError {
  readonly errors: unknown[];
  constructor(what: string, errors: unknown[]) {
    super('ETEARDOWN', `${what}: ${errors.length} step(s) failed: ${errors.map((e) => (e as Error).message).join('; ')}`);
    this.errors = errors;
  }
}

/**
 * A store write that could not be committed (disk full, I/O error, the
 * database busy): the request that made it failed to persist, though its
 * effect is live in memory. `sqliteCode` is SQLite's (SQLITE_FULL, ...).
 */
export class StoreError extends NsnetError {
  readonly sqliteCode: string | undefined;
  constructor(message: string, cause?: unknown) {
    super('ESTORE', message, { cause });
    const c = (cause as { code?: unknown } | undefined)?.code;
    this.sqliteCode = typeof c === 'string' ? c : undefined;
  }
}
