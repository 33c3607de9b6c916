// Failure injection for tests: arm a named point and the next pass through it
// throws. Costs one Set lookup when nothing is armed.
import { NsnetError } from '../errors.js';

const armed = new Set<string>();

export class InjectedFault extends NsnetError {
  constructor(point: string) {
    super('EINJECTED', `injected failure at ${point}`);
  }
}

export function fault(point: string): void {
  if (armed.size && armed.delete(point)) throw new InjectedFault(point);
}

export const faults = {
  arm(point: string): void {
    armed.add(point);
  },
  clear(): void {
    armed.clear();
  },
  get armed(): string[] {
    return [...armed];
  },
};
