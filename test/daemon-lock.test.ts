// One controller per data directory, and one daemon per socket: a second
// daemon, a --local command and a second Controller.start are refused while
// the first holds the directory; the socket is owner-only from its first
// moment and never taken from a live daemon; the ownership tag lives in the
// store, so a moved directory keeps it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, renameSync, statSync, symlinkSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Controller, ConflictError } from '../src/index.js';
import { ownershipFor } from '../src/driver-api/ownership.js';
import { tableName } from '../src/firewall/ruleset.js';
import { releaseForwardingClaims } from '../src/firewall/firewall.js';
import { gate, tempDir, uniq } from './helpers.js';

describe.skipIf(!gate.ok)(`data dir lock and API socket ${gate.why}`, () => {
  const dir = tempDir('dlock');
  const socket = `${dir.path}/a.sock`;
  const data = `${dir.path}/d1`;
  const bridges = [uniq('la'), uniq('lb'), uniq('lc')];
  const daemons: ChildProcess[] = [];

  const nsnet = (...args: string[]) => {
    const r = spawnSync(process.execPath, ['bin/nsnet.js', ...args], { encoding: 'utf8', timeout: 30_000 });
    return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
  };

  /** Starts a daemon and returns once its socket exists (not the stale `staleIno`), with the socket's mode at that first moment. */
  async function startDaemon(sock: string, dataDir: string, bridge: string, subnet: string, staleIno = -1): Promise<{ p: ChildProcess; mode: number }> {
    const p = spawn(process.execPath, ['bin/nsnet.js', 'daemon', '--socket', sock, '--data-dir', dataDir, '--bridge-name', bridge, '--bridge-subnet', subnet], { stdio: 'ignore' });
    daemons.push(p);
    for (let i = 0; i < 300; i++) {
      try {
        const st = lstatSync(sock);
        if (st.ino !== staleIno) return { p, mode: st.mode & 0o777 };
      } catch { /* not yet */ }
      if (p.exitCode !== null) throw new Error(`daemon exited ${p.exitCode}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('daemon did not start');
  }

  const stopDaemon = async (p: ChildProcess, signal: NodeJS.Signals = 'SIGTERM') => {
    if (p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    await exited;
  };

  afterAll(async () => {
    for (const p of daemons) await stopDaemon(p);
    // A daemon keeps its default bridge, rules and forwarding claim when it stops, as dockerd does.
    for (const d of [data, `${dir.path}/d2`]) {
      const tag = ownershipFor(d).tag;
      spawnSync('nft', ['delete', 'table', 'inet', tableName(tag)]);
      await releaseForwardingClaims(tag);
    }
    for (const b of bridges) spawnSync('ip', ['link', 'del', b]);
    dir.remove();
  });

  it('a second daemon and a --local command on a live data dir are refused; the first keeps answering; its socket is 0600 from the start', async () => {
    const { p, mode } = await startDaemon(socket, data, bridges[0]!, '10.37.0.0/24');
    expect(mode).toBe(0o600);
    const ino = statSync(socket).ino;

    const second = nsnet('daemon', '--socket', `${dir.path}/b.sock`, '--data-dir', data, '--bridge-name', bridges[1]!);
    expect(second.code).toBe(1);
    expect(second.err).toBe(`data directory ${data} is in use by another nsnet controller (pid ${p.pid})`);
    expect(existsSync(`${dir.path}/b.sock`)).toBe(false);

    const local = nsnet('--local', '--data-dir', data, '--bridge-name', bridges[1]!, 'network', 'ls');
    expect(local.code).toBe(1);
    expect(local.err).toContain(`data directory ${data} is in use by another nsnet controller (pid ${p.pid})`);
    expect(local.err).toContain('instead of --local');

    const ls = nsnet('--socket', socket, 'network', 'ls');
    expect(ls.code).toBe(0);
    expect(ls.out).toMatch(/\bbridge\b/);
    expect(statSync(socket).ino).toBe(ino);
  });

  it('a daemon on another data dir but the same socket is refused and leaves the first one’s socket alone', () => {
    const ino = statSync(socket).ino;
    const other = nsnet('daemon', '--socket', socket, '--data-dir', `${dir.path}/d2`, '--bridge-name', bridges[1]!);
    expect(other.code).toBe(1);
    expect(other.err).toBe(`another nsnet daemon is listening on ${socket}`);
    expect(statSync(socket).ino).toBe(ino);
    expect(nsnet('--socket', socket, 'network', 'ls').code).toBe(0);
  });

  it('after SIGKILL, neither the lock nor the stale socket stops the next daemon; SIGTERM removes only its own socket', async () => {
    const first = daemons[0]!;
    await stopDaemon(first, 'SIGKILL');
    const stale = lstatSync(socket); // left behind, nobody answers on it
    expect(stale.isSocket()).toBe(true);
    const { p, mode } = await startDaemon(socket, data, bridges[0]!, '10.37.0.0/24', stale.ino);
    expect(mode).toBe(0o600);
    expect(nsnet('--socket', socket, 'network', 'ls').code).toBe(0);
    await stopDaemon(p);
    expect(existsSync(socket)).toBe(false);
  });

  it('Controller.start twice on one data dir in one process: ConflictError EDATADIRLOCKED until the first stops', async () => {
    const d = `${dir.path}/lib`;
    const c = await Controller.start({ dataDir: d, firewall: 'none' });
    try {
      const err = await Controller.start({ dataDir: d, firewall: 'none' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConflictError);
      expect(err).toMatchObject({ code: 'EDATADIRLOCKED', message: `data directory ${d} is in use by another nsnet controller (pid ${process.pid}, this process)` });
      // The lock's fd is close-on-exec: a child does not hold it.
      expect(spawnSync('sh', ['-c', 'ls -l /proc/$$/fd'], { encoding: 'utf8' }).stdout).not.toContain('nsnet.lock');
    } finally {
      await c.stop();
    }
    const again = await Controller.start({ dataDir: d, firewall: 'none' });
    await again.stop();
  });

  it('the data dir is canonicalised, and the ownership tag comes from the store: a moved directory keeps it', async () => {
    mkdirSync(`${dir.path}/real`);
    symlinkSync(`${dir.path}/real`, `${dir.path}/link`);
    const c = await Controller.start({ dataDir: `${dir.path}/link/x`, firewall: 'none' });
    const marks = c.marks();
    expect(c.dataDir).toBe(`${dir.path}/real/x`);
    expect(marks.tag).toBe(ownershipFor(`${dir.path}/real/x`).tag); // a new directory: derived from its canonical path
    await c.stop();

    renameSync(`${dir.path}/real/x`, `${dir.path}/moved`);
    const moved = await Controller.start({ dataDir: `${dir.path}/moved`, firewall: 'none' });
    try {
      expect(moved.marks()).toEqual(marks);
      expect(ownershipFor(`${dir.path}/moved`).tag).not.toBe(marks.tag);
    } finally {
      await moved.stop();
    }
  });
});
