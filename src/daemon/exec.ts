// `docker exec`, for networking work only: the command is one of the host's
// programs, run with the container's network namespace and, in a private
// mount namespace, the container's resolv.conf and hosts over the host's —
// so `getent hosts db` asks the container's resolver, as it would inside
// the container. Nothing else of a container exists here (no image, no
// filesystem, no user, no cgroup). The argv is passed as a list from start
// to end and never parsed by a shell.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError, NotFoundError } from '../errors.js';
import { newId } from '../controller/ids.js';
import { errNotRunning, errPaused } from './errors.js';

const isDirectory = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/** dockerd's exec events, logged on the container (exec_create: cmd, exec_start: cmd, exec_die). */
export type ExecEventLog = (containerId: string, action: string, attrs: Record<string, string>) => void;

export interface ExecCreateRequest {
  Cmd?: string[] | null;
  Env?: string[] | null;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Tty?: boolean;
  User?: string;
  WorkingDir?: string;
  [k: string]: unknown;
}

export interface ExecRecord {
  id: string;
  containerId: string;
  cmd: string[];
  env: string[];
  /** WorkingDir: a directory of the host (the exec has no container filesystem). */
  cwd?: string;
  attachStdout: boolean;
  attachStderr: boolean;
  running: boolean;
  exitCode: number | null;
  pid: number;
  started: boolean;
}

/** What exec needs of a container: its namespace and its sandbox files. */
export interface ExecTarget {
  running: boolean;
  paused: boolean;
  sandboxKey: string;
  /** The sandbox directory with resolv.conf and hosts; empty for a host-mode container. */
  filesDir: string;
  hostname: string;
}

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Kept per daemon; the oldest finished ones go first beyond it. */
const MAX_EXECS = 1000;
/**
 * The only shell text: fixed, and the user's argv reaches it as positional
 * parameters that `exec "$@"` passes on as they are.
 */
// In its own mount and UTS namespaces: the container's resolv.conf and hosts
// over the host's, and its hostname (what `hostname` and uname(2) say).
const MOUNT_SCRIPT = 'printf %s "$3" > /proc/sys/kernel/hostname && mount --bind -- "$1" /etc/resolv.conf && mount --bind -- "$2" /etc/hosts && shift 3 && exec "$@"';

export class ExecManager {
  private readonly execs = new Map<string, ExecRecord>();
  /** Commands still running, for stopAll. */
  private readonly running = new Set<ChildProcess>();

  constructor(
    private readonly target: (containerTerm: string) => { id: string } & ExecTarget,
    private readonly log: ExecEventLog = () => {},
  ) {}

  create(containerTerm: string, req: ExecCreateRequest): ExecRecord {
    const t = this.target(containerTerm);
    if (!t.running) throw errNotRunning(t.id);
    if (t.paused) throw errPaused(t.id);
    const cmd = req.Cmd;
    if (!Array.isArray(cmd) || !cmd.length || cmd.some((a) => typeof a !== 'string')) throw new InvalidInputError('No exec command specified');
    if (req.AttachStdin) throw new InvalidInputError('nsnet exec does not take stdin (networking-only exec)');
    if (req.Tty) throw new InvalidInputError('nsnet exec has no TTY (networking-only exec)');
    for (const e of req.Env ?? []) if (typeof e !== 'string' || !e.includes('=')) throw new InvalidInputError(`invalid environment variable: ${String(e)}`);
    // Refused rather than ignored: the command would run as someone else than asked, elsewhere than asked.
    if (req.User && !/^(root|0)(:(root|0))?$/.test(req.User)) throw new InvalidInputError(`nsnet exec runs commands as root (networking-only exec): user "${req.User}" is not supported`);
    const cwd = req.WorkingDir || undefined;
    if (cwd !== undefined && (typeof cwd !== 'string' || !cwd.startsWith('/') || !isDirectory(cwd)))
      throw new InvalidInputError(`the working directory '${String(cwd)}' is invalid, it needs to be an absolute path to a directory on the host (networking-only exec)`);
    const rec: ExecRecord = {
      id: newId(), containerId: t.id, cmd: [...cmd], env: [...(req.Env ?? [])], ...(cwd ? { cwd } : {}),
      attachStdout: req.AttachStdout ?? false, attachStderr: req.AttachStderr ?? false,
      running: false, exitCode: null, pid: 0, started: false,
    };
    this.trim();
    this.execs.set(rec.id, rec);
    this.log(t.id, `exec_create: ${execLine(rec.cmd)}`, { execID: rec.id });
    return rec;
  }

  get(id: string): ExecRecord {
    const r = this.execs.get(id) ?? [...this.execs.values()].find((x) => x.id.startsWith(id) && id.length >= 12);
    if (!r) throw new NotFoundError(`No such exec instance: ${id}`);
    return r;
  }

  /** Starts the command; `done` runs once it has exited and its exit code is recorded. */
  start(id: string, done?: (code: number) => void): ChildProcess {
    const rec = this.get(id);
    if (rec.started) throw new InvalidInputError(`Exec command ${id} has already run`);
    const t = this.target(rec.containerId);
    if (!t.running) throw errNotRunning(rec.containerId);
    if (t.paused) throw errPaused(rec.containerId);
    const files = t.filesDir && existsSync(join(t.filesDir, 'resolv.conf')) && existsSync(join(t.filesDir, 'hosts'));
    const argv = files
      ? ['--', 'unshare', '--mount', '--uts', '--propagation', 'private', '--', '/bin/sh', '-c', MOUNT_SCRIPT, 'nsnet-exec',
        join(t.filesDir, 'resolv.conf'), join(t.filesDir, 'hosts'), t.hostname, ...rec.cmd]
      : ['--', ...rec.cmd];
    const env: Record<string, string> = { PATH, HOSTNAME: t.hostname };
    for (const e of rec.env) {
      const i = e.indexOf('=');
      env[e.slice(0, i)] = e.slice(i + 1);
    }
    rec.started = true;
    rec.running = true;
    const child = spawn('nsenter', [`--net=${t.sandboxKey}`, ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'], ...(rec.cwd ? { cwd: rec.cwd } : {}) });
    rec.pid = child.pid ?? 0;
    this.log(rec.containerId, `exec_start: ${execLine(rec.cmd)}`, { execID: rec.id });
    const finish = (code: number) => {
      if (!rec.running) return;
      rec.running = false;
      rec.exitCode = code;
      this.log(rec.containerId, 'exec_die', { execID: rec.id, exitCode: String(code) });
      done?.(code);
    };
    this.running.add(child);
    child.on('error', () => { this.running.delete(child); finish(126); });
    child.on('close', (code, signal) => { this.running.delete(child); finish(code ?? 128 + (signal ? constants.signals[signal] : 0)); });
    return child;
  }

  /**
   * The daemon is stopping: every running command gets SIGTERM, as a
   * container's processes do from dockerd without live restore (its
   * streams' connections close with the API), and none holds the daemon's
   * exit: one that ignores the signal runs on, detached.
   */
  stopAll(): void {
    for (const child of this.running) {
      child.kill('SIGTERM');
      child.stdout?.destroy();
      child.stderr?.destroy();
      child.unref();
    }
    this.running.clear();
  }

  private trim(): void {
    if (this.execs.size < MAX_EXECS) return;
    for (const [id, r] of this.execs) {
      if (!r.running) this.execs.delete(id);
      if (this.execs.size < MAX_EXECS / 2) break;
    }
  }
}

/** dockerd's "entrypoint args" of an exec event's action (a space after the entrypoint even without args). */
const execLine = (cmd: string[]): string => `${cmd[0]} ${cmd.slice(1).join(' ')}`;

/** Docker's stdcopy frame: [stream, 0, 0, 0, size (BE32)] then the payload; 1 = stdout, 2 = stderr. */
export function frame(stream: 1 | 2, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(data.length, 4);
  return Buffer.concat([h, data]);
}
