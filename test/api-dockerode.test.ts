// The Node SDK view: dockerode against a real `nsnet daemon` process on a
// temporary socket, doing what an application using Docker's API does.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownershipFor } from '../src/driver-api/ownership.js';
import { releaseForwardingClaims } from '../src/firewall/firewall.js';
import { cleanupDaemonLeftovers } from './api-support.js';
import { gate, ipAddrs, nsName, tempDir, uniq } from './helpers.js';

describe.skipIf(!gate.ok)(`dockerode against nsnet daemon ${gate.why}`, () => {
  const dir = tempDir('dockerode');
  const socket = `${dir.path}/nsnet.sock`;
  const dataDir = `${dir.path}/data`;
  const bridge = uniq('do');
  let daemon: ChildProcess;
  let docker: Docker;
  const opt = () => ({ 'com.docker.network.bridge.name': uniq('ob') });

  beforeAll(async () => {
    daemon = spawn(process.execPath, ['bin/nsnet.js', 'daemon', '--socket', socket, '--data-dir', dataDir, '--bridge-name', bridge, '--bridge-subnet', '10.44.0.0/24'], { stdio: ['ignore', 'ignore', 'inherit'] });
    for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 100));
    docker = new Docker({ socketPath: socket });
    expect(await docker.ping()).toBeTruthy();
  });

  afterAll(async () => {
    if (docker) {
      for (const c of await docker.listContainers({ all: true }).catch(() => [])) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
      await docker.pruneNetworks().catch(() => undefined);
    }
    if (daemon && daemon.exitCode === null) {
      daemon.kill('SIGTERM');
      await new Promise((r) => daemon.once('exit', r));
    }
    // A stopped daemon keeps its default bridge, nft table and forwarding claim, as dockerd keeps docker0's.
    cleanupDaemonLeftovers(dataDir, [bridge]);
    await releaseForwardingClaims(ownershipFor(dataDir).tag);
    dir.remove();
  });

  it('version and info', async () => {
    const v = await docker.version();
    expect(v.ApiVersion).toBe('1.50');
    expect((await docker.info()).Swarm.LocalNodeState).toBe('inactive');
  });

  it('network create/inspect/list with IPAM, IPv6, labels, internal; prune by label', async () => {
    const name = uniq('dn');
    const net = await docker.createNetwork({
      Name: name, EnableIPv6: true, Internal: true, Labels: { app: 'sdk' }, Options: opt(),
      IPAM: { Driver: 'default', Config: [{ Subnet: '10.44.1.0/24', Gateway: '10.44.1.254', IPRange: '10.44.1.128/25' }, { Subnet: 'fd44:1::/64' }] },
    });
    const info = await net.inspect();
    expect(info).toMatchObject({ Name: name, Driver: 'bridge', Scope: 'local', EnableIPv6: true, Internal: true, Labels: { app: 'sdk' } });
    expect(info.IPAM?.Driver).toBe('default');
    expect(info.IPAM?.Config).toEqual([{ Subnet: '10.44.1.0/24', Gateway: '10.44.1.254', IPRange: '10.44.1.128/25' }, { Subnet: 'fd44:1::/64', Gateway: 'fd44:1::1' }]);
    const listed = await docker.listNetworks({ filters: { label: ['app=sdk'] } });
    expect(listed.map((n) => n.Name)).toEqual([name]);
    expect((await docker.listNetworks({ filters: { name: [name], driver: ['bridge'] } })).map((n) => n.Id)).toEqual([info.Id]);
    await expect(docker.listNetworks({ filters: { nosuch: ['x'] } })).rejects.toMatchObject({ statusCode: 400, json: { message: "invalid filter 'nosuch'" } });
    const other = await docker.createNetwork({ Name: uniq('dn'), Labels: { keep: '1' }, Options: opt(), IPAM: { Config: [{ Subnet: '10.44.2.0/24' }] } });
    const pruned = await docker.pruneNetworks({ filters: { 'label!': ['keep'] } });
    expect(pruned.NetworksDeleted).toContain(name);
    expect(pruned.NetworksDeleted).not.toContain((await other.inspect()).Name);
    await other.remove();
    await expect(net.inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('containers: create on a network with aliases and fixed addresses, start, inspect, connect, disconnect, remove', async () => {
    const a = await docker.createNetwork({ Name: uniq('da'), EnableIPv6: true, Options: opt(), IPAM: { Config: [{ Subnet: '10.44.3.0/24' }, { Subnet: 'fd44:3::/64' }] } });
    const b = await docker.createNetwork({ Name: uniq('db'), Options: opt(), IPAM: { Config: [{ Subnet: '10.44.4.0/24' }] } });
    const [aName, bName] = [(await a.inspect()).Name, (await b.inspect()).Name];
    const name = uniq('dc');
    const c = await docker.createContainer({
      name, Image: 'busybox', Cmd: ['sleep', '1'], HostConfig: { NetworkMode: aName },
      NetworkingConfig: { EndpointsConfig: { [aName]: { Aliases: ['web'], IPAMConfig: { IPv4Address: '10.44.3.10', IPv6Address: 'fd44:3::10' } } } },
    });
    await c.start();
    const info = await c.inspect();
    expect(info.State.Running).toBe(true);
    const s = info.NetworkSettings.Networks[aName]!;
    expect(s).toMatchObject({ IPAddress: '10.44.3.10', IPPrefixLen: 24, Gateway: '10.44.3.1', GlobalIPv6Address: 'fd44:3::10', GlobalIPv6PrefixLen: 64, Aliases: ['web'], NetworkID: (await a.inspect()).Id });
    expect((s as { DNSNames?: string[] }).DNSNames).toEqual(expect.arrayContaining([name, 'web']));
    expect(ipAddrs(nsName(info.NetworkSettings.SandboxKey), 'eth0')).toEqual(expect.arrayContaining(['10.44.3.10/24', 'fd44:3::10/64']));

    await b.connect({ Container: name, EndpointConfig: { Aliases: ['db'], IPAMConfig: { IPv4Address: '10.44.4.20' } } });
    const both = (await c.inspect()).NetworkSettings.Networks;
    expect(both[bName]).toMatchObject({ IPAddress: '10.44.4.20', Aliases: ['db'] });
    expect((await b.inspect()).Containers).toHaveProperty(info.Id);
    // Twice is an error, as docker-py and dockerode users expect.
    await expect(b.connect({ Container: name })).rejects.toMatchObject({ statusCode: 403 });
    await b.disconnect({ Container: name });
    await expect(b.disconnect({ Container: name })).rejects.toMatchObject({ statusCode: 403 });
    expect(Object.keys((await c.inspect()).NetworkSettings.Networks)).toEqual([aName]);

    const list = await docker.listContainers({ filters: { name: [name] } });
    expect(list.map((x) => x.Id)).toEqual([info.Id]);
    await c.stop();
    await c.remove();
    await expect(c.inspect()).rejects.toMatchObject({ statusCode: 404 });
    await a.remove();
    await b.remove();
  });

  it('errors reach the SDK with Docker statuses and messages; swarm calls get the 503 dockerd gives', async () => {
    await expect(docker.createNetwork({ Name: uniq('x'), EnableIPv6: 'false' as unknown as boolean })).rejects.toMatchObject({ statusCode: 400 });
    await expect(docker.listServices()).rejects.toMatchObject({ statusCode: 503 });
    await expect(docker.swarmInspect()).rejects.toMatchObject({ statusCode: 503, json: { message: expect.stringContaining('not a swarm manager') } });
    await expect(docker.swarmLeave({})).rejects.toMatchObject({ statusCode: 503, json: { message: 'This node is not part of a swarm' } });
  });
});
