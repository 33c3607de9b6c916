// The nsnet command line, in-process (--local) and against a daemon.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownershipFor } from '../src/driver-api/ownership.js';
import { tableName } from '../src/firewall/ruleset.js';
import { gate, tempDir, uniq } from './helpers.js';
import { releaseForwardingClaims } from '../src/firewall/firewall.js';

describe.skipIf(!gate.ok)(`nsnet CLI ${gate.why}`, () => {
  const dir = tempDir('cli');
  const bridge = uniq('cl');
  const socket = `${dir.path}/s.sock`;
  let daemon: ChildProcess | undefined;
  const nsnet = (...args: string[]) => {
    const r = spawnSync(process.execPath, ['bin/nsnet.js', ...args], { encoding: 'utf8' });
    return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
  };
  const local = (...args: string[]) => nsnet('--local', '--data-dir', `${dir.path}/local`, '--bridge-name', bridge, ...args);

  afterAll(async () => {
    if (daemon) {
      daemon.kill('SIGTERM');
      await new Promise((r) => daemon!.once('exit', r));
    }
    for (const d of ['local', 'd']) {
      // A daemon keeps its default bridge, rules and forwarding claim when it stops, as dockerd does.
      spawnSync('nft', ['delete', 'table', 'inet', tableName(ownershipFor(`${dir.path}/${d}`).tag)]);
      await releaseForwardingClaims(ownershipFor(`${dir.path}/${d}`).tag);
    }
    spawnSync('ip', ['link', 'del', bridge]);
    spawnSync('ip', ['link', 'del', `${bridge}d`]);
    dir.remove();
  });

  it('--local: network create, ls, inspect --format json, rm; Docker-like errors and exit codes', () => {
    const name = uniq('n');
    const id = local('network', 'create', '--subnet', '10.36.1.0/24', '-o', `com.docker.network.bridge.name=${uniq('b')}`, '--label', 'x=y', name);
    expect(id.code).toBe(0);
    expect(id.out).toMatch(/^[0-9a-f]{64}$/);
    const ls = local('network', 'ls');
    expect(ls.out.split('\n')[0]).toMatch(/^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/);
    expect(ls.out).toContain(name);
    const json = JSON.parse(local('--format', 'json', 'network', 'ls').out) as { Name: string }[];
    expect(json.map((n) => n.Name)).toEqual(expect.arrayContaining(['bridge', 'host', 'none', name]));
    const [info] = JSON.parse(local('network', 'inspect', name).out) as { Labels: Record<string, string>; IPAM: { Config: { Subnet: string }[] } }[];
    expect(info!.Labels).toEqual({ x: 'y' });
    expect(info!.IPAM.Config[0]!.Subnet).toBe('10.36.1.0/24');
    const dup = local('network', 'create', name);
    expect(dup.code).toBe(1);
    expect(dup.err).toBe(`Error response from daemon: network with name ${name} already exists`);
    expect(local('network', 'rm', 'nosuch').err).toBe('Error response from daemon: network nosuch not found');
    expect(local('network', 'rm', name).out).toBe(name);
    expect(local('bogus').code).toBe(2);
    const bad = local('network', 'ls', '--bogus');
    expect([bad.code, bad.err]).toEqual([125, "unknown flag: --bogus\nSee 'nsnet network ls --help'."]);
  });

  it('against a daemon: containers, ps, exec, and a clear message when no daemon listens', async () => {
    expect(nsnet('--socket', `${dir.path}/none.sock`, 'network', 'ls').err).toMatch(/Cannot connect to the nsnet daemon/);
    daemon = spawn(process.execPath, ['bin/nsnet.js', 'daemon', '--socket', socket, '--data-dir', `${dir.path}/d`, '--bridge-name', `${bridge}d`, '--bridge-subnet', '10.36.0.0/24'], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 100));
    const s = (...a: string[]) => nsnet('--socket', socket, ...a);
    const name = uniq('c');
    expect(s('container', 'create', '--name', name, 'img').code).toBe(0);
    expect(s('container', 'start', name).out).toBe(name);
    const ps = s('ps');
    expect(ps.out).toMatch(new RegExp(`${name}$`, 'm'));
    expect(ps.out).toContain('10.36.0.2');
    expect(s('exec', name, '--', 'ip', '-br', 'addr', 'show', 'eth0').out).toContain('10.36.0.2/24');
    const [c] = JSON.parse(s('container', 'inspect', name).out) as { NetworkSettings: { Networks: Record<string, { IPAddress: string }> } }[];
    expect(c!.NetworkSettings.Networks['bridge']!.IPAddress).toBe('10.36.0.2');
    expect(s('container', 'rm', name).err).toContain('container is running');
    expect(s('container', 'rm', '--force', name).code).toBe(0);
    expect(s('exec', 'nosuch', '--', 'true').err).toBe('Error response from daemon: No such container: nosuch');
  });
});
