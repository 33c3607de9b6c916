// A real runtime on nsnet's CNI plugin: podman (CNI backend, runc) runs
// busybox containers on a network whose conflist names the `nsnet` plugin,
// backed by a real `nsnet daemon` on a temporary socket and data directory.
// Everything podman keeps lives in a temporary directory (test/podman-env.ts).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownershipFor } from '../src/driver-api/ownership.js';
import { releaseForwardingClaims } from '../src/firewall/firewall.js';
import { tableName } from '../src/firewall/ruleset.js';
import { apiJson, gate, ipJson, ipLink, ipLinks, ipNetnsList, tempDir, uniq } from './helpers.js';
import { IMAGE, podmanIn, podmanMissing, type Podman } from './podman-env.js';

const SHIM = 'build/Release/nsnet-cni';
const SUBNET = '10.49.200';

/** The exact reason podman cannot run here, found before the suite starts; '' when it can. */
function probe(): { why: string; pm?: Podman } {
  if (!gate.ok) return { why: gate.why };
  if (!existsSync(SHIM)) return { why: `${SHIM} not built (npm run build:native)` };
  if (!existsSync('dist/cli/main.js')) return { why: 'dist/ not built (npm run build)' };
  const missing = podmanMissing();
  if (missing) return { why: missing };
  const dir = tempDir('podman');
  let pm: Podman | undefined;
  try {
    pm = podmanIn(dir.path, SHIM);
    // The runtime itself, with no network: cgroups, rlimits, storage.
    const r = pm.run(['run', '--rm', '--pull=never', '--network', 'none', IMAGE, 'true']);
    if (r.code !== 0) throw new Error(`podman run --network none: exit ${r.code}: ${r.err.trim().split('\n').pop()}`);
    return { why: '', pm };
  } catch (e) {
    if (pm) pm.remove();
    else dir.remove();
    return { why: `podman cannot run here: ${(e as Error).message}` };
  }
}
const found = probe();

describe.skipIf(!!found.why)(`podman on the nsnet CNI plugin ${found.why}`, () => {
  // Collected even when skipped: nothing here may assume the probe succeeded.
  const pm = found.pm!;
  const dirPath = found.pm?.dir ?? '';
  const socket = join(dirPath, 's.sock');
  const dataDir = join(dirPath, 'data');
  const defaultBridge = uniq('pd');
  const bridge = uniq('pb');
  const network = uniq('pn');
  const containers: string[] = [];
  let daemon: ChildProcess | undefined;

  const api = (method: string, path: string) => apiJson(socket, method, path);
  const attached = async (): Promise<string[]> => {
    const r = await api('GET', `/networks/${network}`);
    expect(r.status).toBe(200);
    return Object.values((r.body as { Containers: Record<string, { Name: string }> }).Containers).map((c) => c.Name);
  };
  const nftRules = (): string => spawnSync('nft', ['list', 'table', 'inet', tableName(ownershipFor(dataDir).tag)], { encoding: 'utf8' }).stdout ?? '';
  /** Host ends plugged into the network's bridge. */
  const ports = (): string[] => ipLinks().filter((l) => l.master === bridge).map((l) => l.ifname);
  const hostAddrs = (): string[] => ipJson<{ addr_info: { local: string }[] }[]>(['addr', 'show'])
    .flatMap((l) => l.addr_info.map((a) => a.local)).filter((a) => a.startsWith(`${SUBNET}.`));

  function start(name: string, args: string[]): { ip: string; netns: string } {
    containers.push(name);
    pm.ok(['run', '-d', '--pull=never', '--name', name, '--network', network, ...args]);
    const ip = pm.ok(['inspect', name, '--format', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`]);
    const netns = pm.ok(['inspect', name, '--format', '{{.NetworkSettings.SandboxKey}}']);
    if (!ip || !netns) throw new Error(`container ${name} is not running: ${pm.run(['logs', name]).err}`);
    return { ip, netns };
  }

  async function freePort(): Promise<number> {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as { port: number }).port;
    await new Promise((r) => s.close(r));
    return port;
  }

  /** What a server on 127.0.0.1:port sends before it closes. */
  function readFrom(port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const c = connect({ host: '127.0.0.1', port }, () => c.end('hello\n'));
      let got = '';
      c.setTimeout(5000, () => c.destroy(new Error('timed out')));
      c.on('data', (d: Buffer) => { got += d.toString(); });
      c.on('close', () => resolve(got));
      c.on('error', reject);
    });
  }

  beforeAll(async () => {
    writeFileSync(join(pm.netDir, `${network}.conflist`), JSON.stringify({
      cniVersion: '1.0.0',
      name: network,
      plugins: [{
        type: 'nsnet', socket, bridge,
        ipam: { ranges: [[{ subnet: `${SUBNET}.0/24`, gateway: `${SUBNET}.1` }]], routes: [{ dst: '0.0.0.0/0' }] },
        capabilities: { portMappings: true, aliases: true },
      }],
    }));
    daemon = spawn(process.execPath, ['bin/nsnet.js', 'daemon', '--socket', socket, '--data-dir', dataDir,
      '--bridge-name', defaultBridge, '--bridge-subnet', '10.49.201.0/24'], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(socket)).toBe(true);
  });

  afterAll(async () => {
    for (const c of containers) pm.run(['rm', '-f', '-t', '0', c]);
    if (daemon && daemon.exitCode === null) {
      await api('DELETE', `/networks/${network}`).catch(() => undefined);
      const exited = new Promise((r) => daemon!.once('exit', r));
      daemon.kill('SIGTERM');
      await exited;
    }
    // A stopped daemon keeps its default bridge, rules and forwarding claim, as dockerd does.
    const owner = ownershipFor(dataDir).tag;
    spawnSync('nft', ['delete', 'table', 'inet', tableName(owner)]);
    await releaseForwardingClaims(owner);
    for (const b of [defaultBridge, bridge]) if (ipLink(b)) spawnSync('ip', ['link', 'del', b]);
    pm.remove();
  });

  it('two containers on the network exchange TCP, a published port answers on 127.0.0.1, rm -f leaves nothing', async () => {
    const srvName = uniq('srv');
    const srv = start(srvName, [IMAGE, 'nc', '-ll', '-p', '7000', '-e', 'sh', '-c', 'read l; echo "got:$l"']);
    expect(srv.ip).toMatch(new RegExp(`^${SUBNET.replace(/\./g, '\\.')}\\.\\d+$`));
    expect(existsSync(srv.netns)).toBe(true);

    // A second container talks to the first across nsnet's bridge.
    const cli = pm.run(['run', '--rm', '--pull=never', '--network', network, IMAGE, 'sh', '-c', `echo ping | nc ${srv.ip} 7000`]);
    expect(cli.err).toBe('');
    expect(cli.out.trim()).toBe('got:ping');

    // A published port, reached from the host through 127.0.0.1.
    const hostPort = await freePort();
    const webName = uniq('web');
    const web = start(webName, ['-p', `${hostPort}:8080`, IMAGE, 'nc', '-ll', '-p', '8080', '-e', 'echo', 'published']);
    let answer = '';
    for (let i = 0; i < 20 && !answer; i++) { // nc may not be listening yet
      answer = await readFrom(hostPort).catch(() => '');
      if (!answer) await new Promise((r) => setTimeout(r, 100));
    }
    expect(answer.trim()).toBe('published');
    expect(nftRules()).toContain(String(hostPort));

    const hostEnds = ports();
    expect(hostEnds).toHaveLength(2);
    expect((await attached()).length).toBe(2);
    expect(nftRules()).toContain(web.ip);

    pm.ok(['rm', '-f', '-t', '0', srvName, webName]);
    containers.length = 0;

    // The kernel: no host end, namespace, container address or rule left.
    // Host ends are deleted by the reaper, batched, shortly after the DEL
    // (the design: a DEL does not wait out the kernel's RCU grace period);
    // podman's own teardown usually outlasts that, but not always.
    const deadline = Date.now() + 3000;
    while (hostEnds.some((l) => ipLink(l)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const l of hostEnds) expect(ipLink(l)).toBeUndefined();
    expect(ports()).toEqual([]);
    for (const ns of [srv.netns, web.netns]) {
      expect(existsSync(ns)).toBe(false);
      expect(ipNetnsList()).not.toContain(ns.split('/').pop());
    }
    expect(hostAddrs()).toEqual([`${SUBNET}.1`]); // the bridge's gateway only
    const rules = nftRules();
    expect(rules).not.toContain(String(hostPort));
    expect(rules).not.toContain(srv.ip);
    expect(rules).not.toContain(web.ip);
    // The daemon: no attachment; the network stays usable for the next container.
    expect(await attached()).toEqual([]);
    const again = uniq('again');
    const next = start(again, [IMAGE, 'sleep', '30']);
    expect(next.ip.startsWith(`${SUBNET}.`)).toBe(true);
    pm.ok(['rm', '-f', '-t', '0', again]);
    containers.length = 0;
    expect(await attached()).toEqual([]);
    expect(ports()).toEqual([]);
  });
});
