// Chaos: concurrent API clients churn containers over user networks while
// the daemon is SIGKILLed at a seeded random moment, then restarted on the
// same data dir. After each restart the state the API reports, the kernel's
// objects and the store's rows must agree, with nothing duplicated or left.
// Reproduce a run with NSNET_CHAOS_SEED=<seed printed in the log>.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { ownershipFor } from '../src/driver-api/ownership.js';
import { releaseForwardingClaims } from '../src/firewall/firewall.js';
import { tableName } from '../src/firewall/ruleset.js';
import { cleanupDaemonLeftovers } from './api-support.js';
import {
  linksInGroups, namespacesWith, publishedElements, rng, startDaemonChild, stopDaemonChild, storeRows, vethsOn, type DaemonChild,
} from './chaos-support.js';
import { gate, ipJson, ipLink, tempDir, uniq } from './helpers.js';

const SEED = Number(process.env['NSNET_CHAOS_SEED'] ?? Date.now() % 1_000_000);
const ROUNDS = 4;
const WORKERS = 5;
const MAX_CONTAINERS = 14;

type Err = { statusCode?: number; message?: string };

describe.skipIf(!gate.ok)(`chaos: SIGKILL under concurrent clients ${gate.why}`, () => {
  const dir = tempDir('chaos');
  const socket = `${dir.path}/nsnet.sock`;
  const dataDir = `${dir.path}/data`;
  const defaultBridge = uniq('chd');
  const nets = [1, 2, 3].map((i) => ({ name: uniq(`cn${i}`), bridge: uniq(`cb${i}`), subnet: `10.48.${i}.0/24` }));
  const bridges = nets.map((n) => n.bridge);
  const args = ['--data-dir', dataDir, '--bridge-name', defaultBridge, '--bridge-subnet', '10.48.0.0/24'];
  const r = rng(SEED);
  const serverErrors: string[] = [];
  let daemon: DaemonChild | undefined;
  let tag = '';

  beforeAll(async () => {
    console.log(`chaos seed ${SEED}`);
    daemon = await startDaemonChild(args, socket);
    tag = String((await daemon.docker.info()).ID);
    for (const n of nets) {
      await daemon.docker.createNetwork({ Name: n.name, Options: { 'com.docker.network.bridge.name': n.bridge }, IPAM: { Config: [{ Subnet: n.subnet }] } });
    }
  });

  afterAll(async () => {
    if (daemon) await stopDaemonChild(daemon, 'SIGKILL');
    // Killed for good: what a restart would take back, taken back by hand.
    for (const ns of tag ? namespacesWith('/run/netns', `nsn${tag}-`) : []) spawnSync('ip', ['netns', 'del', ns]);
    for (const l of linksInGroups([ownershipFor(dataDir).live, ownershipFor(dataDir).dead])) spawnSync('ip', ['link', 'del', l]);
    cleanupDaemonLeftovers(dataDir, [defaultBridge, ...bridges]);
    await releaseForwardingClaims(ownershipFor(dataDir).tag);
    dir.remove();
  });

  /** One client: random operations on any container (its own or another's) until told to stop. */
  async function worker(docker: Docker, w: number, until: { done: boolean }): Promise<void> {
    let made = 0;
    const names = async () => (await docker.listContainers({ all: true })).map((c) => c.Names[0]!.slice(1));
    while (!until.done) {
      const op = r.pick(['create', 'create', 'start', 'start', 'start', 'connect', 'disconnect', 'stop', 'remove'] as const);
      try {
        const all = await names();
        const target = all.length ? r.pick(all) : undefined;
        const net = r.pick(nets).name;
        if (op === 'create' || !target) {
          if (all.length >= MAX_CONTAINERS) continue;
          const withPort = r.int(3) === 0;
          await docker.createContainer({
            name: `chaos-${w}-${made++}-${SEED}`, Image: 'none',
            HostConfig: { NetworkMode: net, ...(withPort ? { PortBindings: { '80/tcp': [{ HostPort: String(48000 + r.int(400)) }] } } : {}) },
            NetworkingConfig: { EndpointsConfig: { [net]: { Aliases: [`a${w}`] } } },
          });
        } else if (op === 'start') await docker.getContainer(target).start();
        else if (op === 'stop') await docker.getContainer(target).stop();
        else if (op === 'remove') await docker.getContainer(target).remove({ force: true });
        else if (op === 'connect') await docker.getNetwork(net).connect({ Container: target });
        else await docker.getNetwork(net).disconnect({ Container: target });
      } catch (e) {
        const err = e as Err;
        // Races between clients give Docker's 4xx; a killed daemon gives socket errors. A 5xx is a bug.
        if ((err.statusCode ?? 0) >= 500) serverErrors.push(`${op}: ${err.statusCode} ${err.message}`);
        if (err.statusCode === undefined) await new Promise((res) => setTimeout(res, 5));
      }
    }
  }

  async function settled<T>(read: () => T, ok: (v: T) => boolean): Promise<T> {
    let v = read();
    // Left links are deleted in batches a moment later; give the reaper its turn.
    for (let i = 0; i < 40 && !ok(v); i++) {
      await new Promise((res) => setTimeout(res, 50));
      v = read();
    }
    return v;
  }

  /** Everything the API reports agrees with itself, the kernel and the store. */
  async function check(docker: Docker, round: number): Promise<void> {
    const ctx = `round ${round} (seed ${SEED})`;
    const list = await docker.listContainers({ all: true });
    const infos = await Promise.all(list.map((c) => docker.getContainer(c.Id).inspect()));
    const running = infos.filter((i) => i.State.Running);

    // Addresses: one holder each, and the network's view matches the containers'.
    const seen = new Map<string, string>();
    for (const n of nets) {
      const ni = await docker.getNetwork(n.name).inspect() as { Id: string; Containers?: Record<string, { IPv4Address: string; EndpointID: string }> };
      const holders = Object.entries(ni.Containers ?? {});
      for (const [cid, e] of holders) {
        const ip = e.IPv4Address.split('/')[0]!;
        expect(seen.get(ip), `${ctx}: ${ip} held twice`).toBeUndefined();
        seen.set(ip, cid);
        const owner = infos.find((i) => i.Id === cid);
        expect(owner, `${ctx}: endpoint on ${n.name} for unknown container ${cid}`).toBeDefined();
        expect(owner!.State.Running, `${ctx}: endpoint on ${n.name} for stopped ${owner!.Name}`).toBe(true);
        expect(owner!.NetworkSettings.Networks[n.name]?.EndpointID, `${ctx}: ${owner!.Name} does not know its endpoint on ${n.name}`).toBe(e.EndpointID);
      }
      const expected = running.filter((i) => i.NetworkSettings.Networks[n.name]).map((i) => i.Id).sort();
      expect(holders.map(([cid]) => cid).sort(), `${ctx}: containers on ${n.name}`).toEqual(expected);
      for (const i of running.filter((x) => x.NetworkSettings.Networks[n.name])) {
        expect(i.NetworkSettings.Networks[n.name]!.IPAddress, `${ctx}: ${i.Name} has no address on ${n.name}`).toMatch(/^10\.48\./);
      }
      // Kernel: one host veth end per endpoint on the network's bridge.
      const veths = await settled(() => vethsOn([n.bridge]).get(n.bridge)!, (v) => v.length === holders.length);
      expect(veths.length, `${ctx}: veths on ${n.bridge}`).toBe(holders.length);
    }
    const epIds = running.flatMap((i) => Object.values(i.NetworkSettings.Networks).map((s) => s.EndpointID));
    expect(new Set(epIds).size, `${ctx}: endpoint IDs`).toBe(epIds.length);

    // No link in the controller's groups beyond the endpoints' host ends.
    const own = ownershipFor(dataDir);
    if (own.tag === tag) {
      const onBridges = [...vethsOn(bridges).values()].flat().sort();
      const grouped = await settled(() => linksInGroups([own.live, own.dead]).sort(), (v) => v.length === onBridges.length);
      expect(grouped, `${ctx}: links in nsnet's groups`).toEqual(onBridges);
    }
    // Namespaces: exactly the running containers' sandboxes.
    const keys = running.map((i) => i.NetworkSettings.SandboxKey.split('/').pop()!).sort();
    expect(namespacesWith('/run/netns', `nsn${tag}-`).sort(), `${ctx}: namespaces`).toEqual(keys);
    // Inside each running container: every listed address on an interface that is up, and the
    // default route via the gateway of the network libnetwork elects (no priorities here: the
    // name that sorts first), whatever moment a connect or disconnect was cut at.
    for (const i of running) {
      const ns = i.NetworkSettings.SandboxKey.split('/').pop()!;
      const ifaces = ipJson<{ ifname: string; flags: string[]; addr_info: { family: string; local: string }[] }[]>(['-n', ns, 'addr', 'show']);
      const attached = Object.entries(i.NetworkSettings.Networks);
      for (const [netName, s] of attached) {
        const holder = ifaces.find((x) => x.addr_info.some((a) => a.family === 'inet' && a.local === s.IPAddress));
        expect(holder, `${ctx}: ${i.Name}'s ${s.IPAddress} (${netName}) on no interface`).toBeDefined();
        expect(holder!.flags, `${ctx}: ${i.Name}'s interface for ${netName}`).toContain('UP');
      }
      if (!attached.length) continue;
      const elected = attached.map(([n]) => n).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))[0]!;
      const routes = ipJson<{ gateway?: string }[]>(['-n', ns, 'route', 'show', 'default']);
      expect(routes.map((r) => r.gateway), `${ctx}: ${i.Name}'s default route`).toEqual([i.NetworkSettings.Networks[elected]!.Gateway]);
    }
    // Published ports: one map element per published binding of a running container.
    const published = running.flatMap((i) => Object.values(i.NetworkSettings.Ports ?? {}).flatMap((b) => b ?? [])
      .map((b) => `${i.Name}:${b.HostPort} on ${Object.entries(i.NetworkSettings.Networks).map(([k, v]) => `${k}=${v.IPAddress}`).join('+') || 'no network'}`));
    const elements = publishedElements(tableName(tag));
    expect(elements.length, `${ctx}: nft port elements ${elements.join(' ')} for ${published.join(', ')}`).toBe(published.length);

    // Store rows: what the API reports, nothing more.
    const rows = storeRows(dataDir);
    const ids = (k: string) => (rows.get(k) ?? []).map((x) => x.id).sort();
    expect(ids('container'), `${ctx}: container rows`).toEqual(infos.map((i) => i.Id).sort());
    expect(ids('sandbox'), `${ctx}: sandbox rows`).toEqual(running.map((i) => i.NetworkSettings.SandboxID).sort());
    expect(ids('endpoint'), `${ctx}: endpoint rows`).toEqual([...epIds].sort());
    const netIds = (await docker.listNetworks()).map((n) => n.Id).sort();
    expect(ids('network'), `${ctx}: network rows`).toEqual(netIds);

    // Every container answers: inspect, and a stop/start (or start/stop) pair.
    for (const i of infos) {
      const c = docker.getContainer(i.Id);
      if (i.State.Running) {
        await c.stop();
        await c.start();
      } else {
        const started = await c.start().then(() => true, (e: Err) => {
          // A port another running container holds is Docker's 409, not a failure.
          if (e.statusCode !== 409) throw e;
          return false;
        });
        if (started) await c.stop();
      }
      expect((await c.inspect()).Id).toBe(i.Id);
    }
  }

  it(`${ROUNDS} rounds of ${WORKERS} clients, SIGKILL at a random moment, restart, full consistency check`, async () => {
    for (let round = 1; round <= ROUNDS; round++) {
      const until = { done: false };
      const workers = Array.from({ length: WORKERS }, (_, w) => worker(daemon!.docker, w, until));
      const at = 200 + r.int(1300);
      console.log(`chaos round ${round}: SIGKILL after ${at} ms`);
      await new Promise((res) => setTimeout(res, at));
      await stopDaemonChild(daemon!, 'SIGKILL');
      until.done = true;
      await Promise.all(workers);
      daemon = await startDaemonChild(args, socket);
      expect(String((await daemon.docker.info()).ID)).toBe(tag);
      await check(daemon.docker, round);
    }
    expect(serverErrors, `5xx answers (seed ${SEED})`).toEqual([]);

    // Everything goes, and nothing is left.
    const docker = daemon!.docker;
    for (const c of await docker.listContainers({ all: true })) await docker.getContainer(c.Id).remove({ force: true });
    for (const n of nets) await docker.getNetwork(n.name).remove();
    await stopDaemonChild(daemon!, 'SIGTERM');
    daemon = undefined;
    for (const b of bridges) expect(ipLink(b), `bridge ${b} left`).toBeUndefined();
    expect(namespacesWith('/run/netns', `nsn${tag}-`)).toEqual([]);
    const own = ownershipFor(dataDir);
    expect(await settled(() => linksInGroups([own.live, own.dead]), (v) => !v.length)).toEqual([]);
  }, 90_000);
});
