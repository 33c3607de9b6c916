// A throwaway podman for tests: its configuration, storage, CNI directories
// and image all live in one temporary directory, so the machine's own podman
// and CNI setup is never read or changed. Facts it relies on (Debian's
// podman 4.3 on this machine kind): crun refuses the hybrid cgroup layout,
// so runc; rootful podman asks for ulimits setrlimit refuses here, so lower
// ones; the image is Debian's busybox-static imported offline.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const IMAGE = 'localhost/nsnet-busybox';
const BUSYBOX = '/bin/busybox';
const LOOPBACK = '/usr/lib/cni/loopback';

export interface Podman {
  dir: string;
  /** The CNI network configuration directory podman loads. */
  netDir: string;
  run(args: string[], opts?: { timeout?: number }): { code: number | null; out: string; err: string };
  /** As run, throwing with podman's stderr on a non-zero exit. */
  ok(args: string[]): string;
  /** Removes every container and image, then the directory. */
  remove(): void;
}

const onPath = (bin: string): boolean => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;

/** Why podman cannot be used at all here (no binaries), or '' — checked before anything is made. */
export function podmanMissing(): string {
  for (const bin of ['podman', 'runc', 'conmon']) if (!onPath(bin) && !existsSync(`/usr/libexec/podman/${bin}`)) return `${bin} is not installed (bash scripts/install.sh podman)`;
  if (!existsSync(BUSYBOX)) return `${BUSYBOX} is missing (Debian busybox-static)`;
  // The image holds busybox alone: a dynamically linked one (Debian's busybox) finds no libc in it.
  if (readFileSync(BUSYBOX).includes('/ld-linux')) return `${BUSYBOX} is dynamically linked (install Debian busybox-static)`;
  if (!existsSync(LOOPBACK)) return `${LOOPBACK} is missing (Debian containernetworking-plugins)`;
  return '';
}

/** Lays out the directories and configuration and imports the image; `shim` becomes the plugin `nsnet`. */
export function podmanIn(dir: string, shim: string): Podman {
  const d = (p: string) => join(dir, p);
  for (const p of ['bin', 'net', 'root', 'run', 'tmp', 'rootfs/bin']) mkdirSync(d(p), { recursive: true });
  symlinkSync(resolve(shim), d('bin/nsnet'));
  // podman runs loopback for every container besides the network's plugins.
  symlinkSync(LOOPBACK, d('bin/loopback'));
  writeFileSync(d('containers.conf'), [
    '[containers]',
    'default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]',
    '[network]',
    'network_backend = "cni"',
    `cni_plugin_dirs = ["${d('bin')}"]`,
    `network_config_dir = "${d('net')}"`,
    '[engine]',
    'runtime = "runc"',
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    `events_logfile_path = "${d('events.log')}"`,
    `tmp_dir = "${d('tmp')}"`,
    `volume_path = "${d('volumes')}"`,
    '',
  ].join('\n'));
  writeFileSync(d('storage.conf'), `[storage]\ndriver = "overlay"\ngraphroot = "${d('root')}"\nrunroot = "${d('run')}"\n`);
  const env = {
    ...process.env,
    CONTAINERS_CONF: d('containers.conf'),
    CONTAINERS_STORAGE_CONF: d('storage.conf'),
    CONTAINERS_REGISTRIES_CONF: '/dev/null',
  };
  const base = ['--root', d('root'), '--runroot', d('run'), '--tmpdir', d('tmp'), '--cgroup-manager', 'cgroupfs', '--events-backend', 'file'];
  const run: Podman['run'] = (args, opts = {}) => {
    const r = spawnSync('podman', [...base, ...args], { env, encoding: 'utf8', timeout: opts.timeout ?? 30_000 });
    return { code: r.status, out: r.stdout ?? '', err: r.stderr || (r.error?.message ?? '') };
  };
  const ok: Podman['ok'] = (args) => {
    const r = run(args);
    if (r.code !== 0) throw new Error(`podman ${args.join(' ')}: exit ${r.code}: ${r.err.trim()}`);
    return r.out.trim();
  };

  const remove = () => {
    // podman's own cleanup of an exited container runs after the podman that
    // started it has gone: these wait for it (storage locks) before the mounts go.
    run(['rm', '-a', '-f', '-t', '0']);
    run(['rmi', '-a', '-f']);
    removeDir(dir);
  };
  const pm = { dir, netDir: d('net'), run, ok, remove };
  try {
    // The image: a root filesystem holding busybox and the applets the tests use.
    copyFileSync(BUSYBOX, d('rootfs/bin/busybox'));
    for (const a of ['sh', 'nc', 'sleep', 'echo', 'cat', 'true']) symlinkSync('busybox', d(`rootfs/bin/${a}`));
    const tar = spawnSync('tar', ['-C', d('rootfs'), '-c', '.'], { maxBuffer: 64 << 20 });
    const imp = spawnSync('podman', [...base, 'import', '-', IMAGE], { env, input: tar.stdout, encoding: 'utf8' });
    if (imp.status !== 0) throw new Error(`podman import: ${imp.stderr.trim()}`);
  } catch (e) {
    remove();
    throw e;
  }
  return pm;
}

/** The directory and any mount podman left in it (its overlay driver bind-mounts a directory onto itself). */
function removeDir(dir: string): void {
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(`${dir}/`)).reverse();
  for (const m of mounts) spawnSync('umount', ['-l', m]);
  rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
}
