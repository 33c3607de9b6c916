// `nsnet cni install`: puts the plugin binary where a runtime looks for it,
// under the name of the conflist's `type` (nsnet). A symlink by default, so a
// rebuild is picked up; --copy for a bin directory on another filesystem or
// one a runtime reads from inside its own mount namespace.
import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from './args.js';

/** Beside dist/ (and src/, under tsx): the package root's build/Release/nsnet-cni. */
export const SHIM_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '../../build/Release/nsnet-cni');
export const DEFAULT_BIN_DIR = '/opt/cni/bin';
export const PLUGIN_NAME = 'nsnet';

/** Installs (or replaces) DIR/nsnet; returns its path. */
export function installCni(binDir: string, opts: { copy?: boolean; source?: string } = {}): string {
  const source = opts.source ?? SHIM_PATH;
  if (!existsSync(source)) throw new CliError(`${source} is missing: build it with npm run build:native`);
  mkdirSync(binDir, { recursive: true });
  const target = join(resolve(binDir), PLUGIN_NAME);
  // Made beside the target and renamed over it: a runtime exec'ing the
  // plugin meanwhile finds the old one or the new one, never neither.
  const temp = `${target}.${process.pid}.tmp`;
  rmSync(temp, { force: true });
  try {
    if (opts.copy) {
      copyFileSync(source, temp);
      chmodSync(temp, 0o755);
    } else {
      symlinkSync(source, temp);
    }
    renameSync(temp, target);
  } catch (e) {
    rmSync(temp, { force: true });
    throw new CliError(`cannot install ${target}: ${(e as Error).message}`);
  }
  return target;
}
