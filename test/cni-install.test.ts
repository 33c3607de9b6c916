// `nsnet cni install`: the plugin lands in the bin directory under its type's
// name, linked (or copied) from build/Release/nsnet-cni, and answers VERSION.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

const SHIM = 'build/Release/nsnet-cni';
const why = !existsSync(SHIM) ? `${SHIM} not built (npm run build:native)` : !existsSync('dist/cli/main.js') ? 'dist/ not built (npm run build)' : '';

const nsnet = (...args: string[]) => spawnSync(process.execPath, ['bin/nsnet.js', ...args], { encoding: 'utf8' });
const version = (bin: string) => spawnSync(bin, [], { input: '{"cniVersion":"1.0.0"}', encoding: 'utf8', env: { CNI_COMMAND: 'VERSION' } });

describe.skipIf(!!why)(`nsnet cni install ${why}`, () => {
  const dir = tempDir('cni-install');
  afterAll(() => dir.remove());

  it('links DIR/nsnet to the built plugin, making DIR, and prints the path', () => {
    const bin = join(dir.path, 'opt/cni/bin');
    const r = nsnet('cni', 'install', '--bin-dir', bin);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const target = join(bin, 'nsnet');
    expect(r.stdout.trim()).toBe(target);
    expect(lstatSync(target).isSymbolicLink()).toBe(true);
    expect(readlinkSync(target)).toBe(resolve(SHIM));
    const v = version(target);
    expect(v.status).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ cniVersion: '1.0.0' });
  });

  it('--copy puts an executable copy, replacing what was there', () => {
    const bin = join(dir.path, 'copy');
    expect(nsnet('cni', 'install', '--bin-dir', bin).status).toBe(0);
    const r = nsnet('cni', 'install', '--bin-dir', bin, '--copy');
    expect(r.status).toBe(0);
    const target = join(bin, 'nsnet');
    const st = lstatSync(target);
    expect(st.isFile()).toBe(true);
    expect(st.mode & 0o777).toBe(0o755);
    expect(version(target).status).toBe(0);
    // And back to a link over the copy.
    expect(nsnet('cni', 'install', '--bin-dir', bin).status).toBe(0);
    expect(realpathSync(target)).toBe(realpathSync(SHIM));
  });

  it('a bin directory that cannot be made is an error naming it, exit 1', () => {
    const file = join(dir.path, 'not-a-dir');
    writeFileSync(file, '');
    const r = nsnet('cni', 'install', '--bin-dir', join(file, 'bin'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(file);
  });

  it('unknown options are refused as for every command', () => {
    const r = nsnet('cni', 'install', '--conf', 'x');
    expect(r.status).toBe(125);
  });
});
