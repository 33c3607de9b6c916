// `docker kill --signal` as dockerd reads it (moby's signal.ParseSignal): a
// number, or a name with or without SIG, any case. A container here has no
// process of nsnet's to signal, so it stops on the signals whose default
// action ends a process, and only records the others.
import { constants } from 'node:os';
import { InvalidInputError } from '../errors.js';

/** Linux signal numbers go up to SIGRTMAX. */
const MAX_SIGNAL = 64;
// Default action: ignore (SIGCHLD, SIGURG, SIGWINCH), continue or stop the process.
const NOT_ENDING = new Set(['SIGCHLD', 'SIGCONT', 'SIGSTOP', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGURG', 'SIGWINCH'].map((n) => constants.signals[n as keyof typeof constants.signals]));

/** The signal's number; the empty string is SIGKILL, dockerd's default. */
export function parseSignal(raw: string): number {
  if (raw === '') return constants.signals.SIGKILL;
  const invalid = () => new InvalidInputError(`Invalid signal: ${raw}`);
  if (/^-?\d+$/.test(raw)) {
    const n = Number(raw);
    if (n === 0) throw invalid();
    if (n < 0 || n > MAX_SIGNAL) throw new InvalidInputError(`the Linux daemon does not support signal ${n}`);
    return n;
  }
  const name = `SIG${raw.toUpperCase().replace(/^SIG/, '')}`;
  const rt = /^SIGRTM(IN|AX)(?:([+-])(\d+))?$/.exec(name);
  if (rt) {
    const base = rt[1] === 'IN' ? 34 : MAX_SIGNAL;
    const n = base + (rt[2] === '-' ? -1 : 1) * Number(rt[3] ?? 0);
    if (n >= 34 && n <= MAX_SIGNAL) return n;
    throw invalid();
  }
  const n = (constants.signals as Record<string, number | undefined>)[name];
  if (n === undefined) throw invalid();
  return n;
}

/** Whether the signal's default action ends a process. */
export const terminates = (signal: number): boolean => !NOT_ENDING.has(signal);
