// A cluster on one machine: network namespaces as hosts on an underlay
// bridge the test made, a real etcd (Debian's etcd-server) in a namespace of
// its own with a temporary data dir, and nsnet daemons started inside the
// host namespaces (nsenter --net, argv only). Everything is removed by
// `remove()`, including what a SIGKILLed daemon left.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { apiJson, tempDir, uniq } from './helpers.js';

export const etcdBin = spawnSync('etcd', ['--version']).status === 0;

const ip = (...a: string[]) => execFileSync('ip', a, { encoding: 'utf8' });
/** Where a namespace's forwarding claims live (src/firewall/firewall.ts): a killed daemon's are removed with its host. */
const CLAIMS_ROOT = '/run/nsnet/sysctl';

export interface Host {
  name: string;
  ns: string;
  /** Underlay address (the advertise address). */
  ip: string;
}

/** `prefix` is the underlay's /24 without its last byte ("10.66.0"); .1 is the bridge (the test's own way in), .2 etcd, .11… the hosts. */
export class Underlay {
  readonly bridge = uniq('ul');
  readonly etcdNs = uniq('et');
  readonly etcdIp: string;
  readonly hosts: Host[] = [];
  private readonly veths: string[] = [];

  constructor(readonly prefix: string, count: number) {
    this.etcdIp = `${prefix}.2`;
    ip('link', 'add', this.bridge, 'type', 'bridge');
    ip('addr', 'add', `${prefix}.1/24`, 'dev', this.bridge);
    ip('link', 'set', this.bridge, 'up');
    this.attach(this.etcdNs, this.etcdIp);
    for (let i = 0; i < count; i++) {
      const h = { name: `h${i + 1}`, ns: uniq(`h${i + 1}`), ip: `${prefix}.${11 + i}` };
      this.attach(h.ns, h.ip);
      this.hosts.push(h);
    }
  }

  private attach(ns: string, addr: string): void {
    const veth = uniq('uv');
    ip('netns', 'add', ns);
    ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    ip('link', 'set', veth, 'master', this.bridge, 'up');
    ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    this.veths.push(veth);
  }

  /** Deletes the namespaces (their links, nft tables and routes go with them), the bridge and the hosts' forwarding claims. */
  remove(): void {
    for (const ns of [this.etcdNs, ...this.hosts.map((h) => h.ns)]) {
      const path = `/run/netns/${ns}`;
      if (existsSync(path)) rmSync(join(CLAIMS_ROOT, `netns-${statSync(path).ino}`), { recursive: true, force: true });
      spawnSync('ip', ['netns', 'del', ns]);
    }
    for (const v of this.veths) spawnSync('ip', ['link', 'del', v]);
    spawnSync('ip', ['link', 'del', this.bridge]);
  }
}

/** etcd 3.4 in the underlay's etcd namespace, data in a temporary directory; stop/start keep the data. */
export class Etcd {
  private proc: ChildProcess | undefined;
  readonly dir = tempDir('etcd');
  readonly url: string;

  constructor(private readonly ns: string, private readonly addr: string, private readonly port = 2379) {
    this.url = `etcd://${addr}:${port}`;
  }

  async start(): Promise<void> {
    this.proc = spawn('nsenter', [`--net=/run/netns/${this.ns}`, '--', 'etcd',
      '--name', 'nsnet-test', '--data-dir', join(this.dir.path, 'data'),
      '--listen-client-urls', `http://${this.addr}:${this.port}`, '--advertise-client-urls', `http://${this.addr}:${this.port}`,
      // The peer port only on the etcd namespace's loopback: a one-member cluster.
      '--listen-peer-urls', 'http://127.0.0.1:2380', '--initial-advertise-peer-urls', 'http://127.0.0.1:2380',
      '--initial-cluster', 'nsnet-test=http://127.0.0.1:2380', '--logger', 'zap', '--log-level', 'error'],
    { stdio: ['ignore', 'ignore', 'inherit'] });
    for (let i = 0; i < 200; i++) {
      if (await this.healthy()) return;
      if (this.proc.exitCode !== null) throw new Error(`etcd exited with ${this.proc.exitCode}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('etcd did not become healthy');
  }

  healthy(): Promise<boolean> {
    return new Promise((resolve) => {
      const req = request({ host: this.addr, port: this.port, path: '/health', timeout: 500 }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => { body += c.toString(); });
        res.on('end', () => resolve(res.statusCode === 200 && body.includes('true')));
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => { req.destroy(); resolve(false); });
      req.end();
    });
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null) return;
    p.kill('SIGTERM');
    await new Promise((r) => p.once('exit', r));
  }

  async remove(): Promise<void> {
    await this.stop();
    this.dir.remove();
  }
}

export interface ApiAnswer { status: number; body: unknown }

/** One JSON request to a daemon's socket, on API version 1.50. */
export const api = (socket: string, method: string, path: string, body?: unknown): Promise<ApiAnswer> =>
  apiJson(socket, method, `/v1.50${path}`, body);

/** An nsnet daemon inside a host's namespace (its own data dir, run dir and socket), a member of the cluster. */
export class HostDaemon {
  private proc: ChildProcess | undefined;
  readonly dir = tempDir('mh');
  readonly socket: string;
  readonly dataDir: string;
  readonly runDir: string;

  constructor(readonly host: Host, private readonly store: string, private readonly leaseTtl: number) {
    this.socket = join(this.dir.path, 'nsnet.sock');
    this.dataDir = join(this.dir.path, 'data');
    this.runDir = join(this.dir.path, 'run');
    mkdirSync(this.runDir);
  }

  async start(): Promise<void> {
    this.proc = spawn('nsenter', [`--net=/run/netns/${this.host.ns}`, '--', process.execPath, 'bin/nsnet.js', 'daemon',
      '--socket', this.socket, '--data-dir', this.dataDir, '--run-dir', this.runDir,
      '--bridge-name', 'nsnet0', '--bridge-subnet', '10.66.200.0/24',
      '--cluster-store', this.store, '--advertise-addr', this.host.ip, '--cluster-lease-ttl', String(this.leaseTtl),
      // Names no resolver here knows are forwarded to etcd's namespace, which the
      // test made and where nothing answers on port 53: never to the machine's resolvers.
      '--dns', new URL(this.store.replace(/^etcd:/, 'http:')).hostname],
    { stdio: ['ignore', 'ignore', 'inherit'] });
    for (let i = 0; i < 200; i++) {
      if (this.proc.exitCode !== null) throw new Error(`daemon on ${this.host.name} exited with ${this.proc.exitCode}`);
      const up = await api(this.socket, 'GET', '/_ping').then((r) => r.status === 200, () => false);
      if (up) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`daemon on ${this.host.name} did not answer`);
  }

  call(method: string, path: string, body?: unknown): Promise<ApiAnswer> {
    return api(this.socket, method, path, body);
  }

  /** SIGTERM: a clean stop (state kept, containers live on). */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  /** SIGKILL: the host "dies"; its kernel state stays until `remove`. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null) return;
    // nsenter execs the daemon: the child is the daemon itself.
    p.kill(sig);
    await new Promise((r) => p.once('exit', r));
  }

  /** Stops the daemon if it runs, unmounts and deletes the container namespaces it left, removes its directories. */
  async remove(): Promise<void> {
    await this.stop();
    for (const f of existsSync(this.runDir) ? readdirSync(this.runDir) : []) {
      spawnSync('umount', ['-l', join(this.runDir, f)]);
      rmSync(join(this.runDir, f), { force: true });
    }
    // The run directory is a mount of its own (made shared for the namespaces bound in it).
    spawnSync('umount', ['-l', this.runDir]);
    this.dir.remove();
  }
}

/**
 * A one-shot TCP echo between two container namespaces given by path
 * (a daemon's SandboxKey): python3 under `nsenter --net`, argv only.
 */
export async function tcpEchoAt(serverKey: string, serverIp: string, clientKey: string, payload: string, port = 7777): Promise<string> {
  const server = spawn('nsenter', [`--net=${serverKey}`, '--', 'python3', '-c', `
import socket, sys
s = socket.socket(socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1); print('ready', flush=True)
s.settimeout(15)
c, _ = s.accept(); d = c.recv(65536); c.sendall(b'echo:' + d); c.close()
`, serverIp, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    server.stdout!.once('data', () => resolve());
    server.once('exit', (code) => reject(new Error(`echo server exited ${code}`)));
  });
  try {
    return await new Promise<string>((resolve, reject) => {
      const client = spawn('nsenter', [`--net=${clientKey}`, '--', 'python3', '-c', `
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.sendall(sys.argv[3].encode()); print(s.recv(65536).decode(), end='')
`, serverIp, String(port), payload], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      client.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
      client.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
      client.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`client exited ${code}: ${err.trim()}`))));
    });
  } finally {
    server.kill();
  }
}
