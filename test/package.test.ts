// nsnet as a runtime takes it: `npm pack`, the tarball installed into a fresh
// project, a plain ESM script run there against the real kernel, and a strict
// TypeScript consumer (plus the README's library examples) type-checked
// against the shipped declarations.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gate, ipLinks, ipNetnsList, uniq } from './helpers.js';

const root = resolve('.');
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string; devDependencies: Record<string, string> };

/** The README's ```ts blocks that import the package: the embedder's reference, kept compiling. */
export function readmeExamples(): string[] {
  const md = readFileSync('README.md', 'utf8');
  return [...md.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => /from 'nsnet(\/netlink)?'/.test(b));
}

describe('the packed package in a fresh project', () => {
  let dir: string;
  let tarball: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nsnet-consumer-'));
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8' });
    tarball = join(dir, (JSON.parse(out) as { filename: string }[])[0]!.filename);
    const project = join(dir, 'app');
    cpSync(join(root, 'test/fixtures/consumer'), project, { recursive: true });
    // npm 11 runs dependencies' install scripts only when the project allows
    // them: better-sqlite3 builds its binary; nsnet's own addon ships built.
    writeFileSync(join(project, 'package.json'), JSON.stringify({
      name: 'consumer', private: true, type: 'module', allowScripts: { 'better-sqlite3': true },
    }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball,
      `typescript@${pkg.devDependencies['typescript']}`, `@types/node@${pkg.devDependencies['@types/node']}`],
    { cwd: project, stdio: ['ignore', 'ignore', 'inherit'], timeout: 480_000 });
  }, 600_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ships compiled JS, declarations and the addon, and no test or bench file', () => {
    const list = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    for (const f of ['package/dist/index.js', 'package/dist/index.d.ts', 'package/dist/netlink/index.js', 'package/dist/netlink/index.d.ts',
      'package/dist/index.js.map', 'package/build/Release/nsnet.node', 'package/binding.gyp', 'package/bin/nsnet.js'])
      expect(list).toContain(f);
    expect(list.filter((f) => /^package\/(test|bench)\//.test(f))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(dir, 'app/node_modules/nsnet/package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(manifest.dependencies)).not.toContain('tsx');
  });

  it('type-checks a strict TypeScript consumer and the README examples against the shipped declarations', () => {
    const project = join(dir, 'app');
    const examples = readmeExamples();
    expect(examples.length).toBeGreaterThanOrEqual(2);
    examples.forEach((code, i) => writeFileSync(join(project, `readme-${i}.ts`), `export {};\n${code}`));
    const r = spawnSync(process.execPath, [join(project, 'node_modules/typescript/bin/tsc'), '-p', project], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.skipIf(!gate.ok)(`runs a plain ESM script that makes a network, a sandbox and a joined endpoint, then removes them ${gate.why}`, () => {
    const bridge = uniq('pk');
    const data = join(dir, 'data');
    const before = { netns: ipNetnsList().length, links: ipLinks().length };
    const r = spawnSync(process.execPath, ['smoke.mjs', data, '', bridge, '10.41.7.0/24'], { cwd: join(dir, 'app'), encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { key: string; ipv4: string; inside: string[]; gone: boolean; publicKeys: string[] };
    expect(out.key.startsWith('/run/netns/nsn')).toBe(true);
    expect(out.ipv4).toBe('10.41.7.2/24');
    expect(out.inside).toEqual(['10.41.7.2/24']);
    expect(out.gone).toBe(true);
    for (const hidden of ['store', 'ipam', 'reaper', 'firewall', 'drivers', 'nets', 'eps', 'sbs']) expect(out.publicKeys).not.toContain(hidden);
    expect(ipLinks().some((l) => l.ifname === bridge)).toBe(false);
    expect({ netns: ipNetnsList().length, links: ipLinks().length }).toEqual(before);
  });
});
