// The spec versions nsnet speaks, and which commands each of them knows.
import { CniCode, CniError } from './errors.js';

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];

const num = (v: string): number[] => v.split('.').map(Number);

/** a >= b, by numeric components. */
export function atLeast(a: string, b: string): boolean {
  const [x, y] = [num(a), num(b)];
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
  return true;
}

export function checkVersion(v: string): CniVersion {
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(v))
    throw new CniError(CniCode.IncompatibleVersion, `incompatible CNI versions: config is "${v}", nsnet supports ${SUPPORTED_VERSIONS.join(', ')}`);
  return v as CniVersion;
}

/** CHECK appeared in 0.4.0, STATUS and GC in 1.1.0 (as the reference plugins' skel refuses them). */
const SINCE: Record<string, string> = { CHECK: '0.4.0', STATUS: '1.1.0', GC: '1.1.0' };

export function checkCommandVersion(command: string, v: CniVersion): void {
  const since = SINCE[command];
  if (since && !atLeast(v, since))
    throw new CniError(CniCode.IncompatibleVersion, `config version "${v}" does not allow ${command} (needs ${since} or later)`);
}

/** Results of 0.3.x and 0.4.0 tag each IP with "version"; 1.0.0 dropped it. */
export const ipsCarryVersion = (v: string): boolean => !atLeast(v, '1.0.0');
