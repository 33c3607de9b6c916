// The main job: in a temporary data directory, create a user bridge network
// and two containers, send real TCP traffic between them, show what was made
// and how long it took, and remove everything.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { daemonConfig } from './daemon/config.js';
import { Daemon } from './daemon/daemon.js';

const ms = (t0: bigint) => (Number(process.hrtime.bigint() - t0) / 1e6).toFixed(2);
const step = (s: string) => console.log(`\n== ${s}`);

// A tiny TCP echo written for node, run inside a namespace with nsenter.
const SERVER = `const s=require('net').createServer(c=>c.on('data',d=>{c.end('echo: '+d)}));
s.listen(7000,process.argv[1],()=>console.log('listening'));setTimeout(()=>process.exit(0),15000);`;
const CLIENT = `const c=require('net').connect(7000,process.argv[1],()=>c.write(process.argv[2]));
c.on('data',d=>{process.stdout.write(String(d));c.destroy()});c.on('error',e=>{console.error(e.message);process.exit(1)});`;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the demo needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN)');
  const dir = mkdtempSync(join(tmpdir(), 'nsnet-demo-'));
  const config = daemonConfig({ dataDir: dir, bridge: { name: 'nsdemo-dflt0' } });
  let d: Daemon | undefined;
  try {
    step(`starting nsnet (data dir ${dir})`);
    let t = process.hrtime.bigint();
    d = await Daemon.start(config);
    console.log(`controller up in ${ms(t)} ms; predefined networks: ${d.controller.networks().map((n) => `${n.name} (${n.type})`).join(', ')}`);

    step('network create demo-net --subnet 10.123.0.0/24');
    t = process.hrtime.bigint();
    const net = await d.controller.newNetwork({ name: 'demo-net', options: { 'com.docker.network.bridge.name': 'nsdemo0' }, ipam: { config: [{ Subnet: '10.123.0.0/24' }] } });
    console.log(`network ${net.id.slice(0, 12)} on bridge ${String(net.info().driverState['bridge'])} with gateway ${net.info().pools4[0]!.gateway} in ${ms(t)} ms`);

    step('two containers on demo-net');
    const timings: string[] = [];
    for (const name of ['alice', 'bob']) {
      d.createContainer(name, { Image: 'demo', Hostname: name, HostConfig: { NetworkMode: 'demo-net' } });
      t = process.hrtime.bigint();
      const rec = await d.startContainer(name);
      timings.push(ms(t));
      const s = rec.NetworkSettings.Networks['demo-net']!;
      console.log(`${name}: ${s.IPAddress}/${s.IPPrefixLen} mac ${s.MacAddress} gateway ${s.Gateway} sandbox ${rec.NetworkSettings.SandboxKey}`);
    }
    console.log(`start (sandbox + endpoint create + join): ${timings.join(' ms, ')} ms`);

    // Finer timings straight from the controller: endpoint create + join into an existing sandbox.
    const sb = await d.controller.newSandbox('demo-timing');
    const joins: number[] = [];
    for (let i = 0; i < 20; i++) {
      t = process.hrtime.bigint();
      const ep = net.createEndpoint(`t${i}`);
      await ep.join(sb);
      joins.push(Number(process.hrtime.bigint() - t) / 1e6);
      await ep.leave(sb);
      await ep.delete();
    }
    await sb.destroy();
    joins.sort((a, b) => a - b);
    console.log(`endpoint create+join, 20 runs: median ${joins[10]!.toFixed(2)} ms, best ${joins[0]!.toFixed(2)} ms`);

    step('real traffic: bob runs a TCP echo server, alice connects');
    const alice = d.container('alice');
    const bob = d.container('bob');
    const bobIp = bob.NetworkSettings.Networks['demo-net']!.IPAddress;
    const server = spawn('nsenter', [`--net=${bob.NetworkSettings.SandboxKey}`, '--', process.execPath, '-e', SERVER, bobIp], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      server.stdout.once('data', () => resolve());
      server.once('exit', (code) => reject(new Error(`echo server exited ${code}`)));
    });
    const r = spawnSync('nsenter', [`--net=${alice.NetworkSettings.SandboxKey}`, '--', process.execPath, '-e', CLIENT, bobIp, 'hello from alice'], { encoding: 'utf8' });
    server.kill();
    if (r.status !== 0) throw new Error(`client failed: ${r.stderr}`);
    console.log(`alice -> ${bobIp}:7000 answered: "${r.stdout.trim()}"`);
    const ip = spawnSync('ip', ['-n', alice.NetworkSettings.SandboxKey.split('/').pop()!, '-br', 'addr'], { encoding: 'utf8' });
    console.log(`inside alice's namespace:\n${ip.stdout.trimEnd()}`);

    step('cleaning up');
    for (const name of ['alice', 'bob']) {
      t = process.hrtime.bigint();
      await d.stopContainer(name);
      console.log(`stop ${name}: ${ms(t)} ms (link destruction deferred, batched)`);
      await d.removeContainer(name);
    }
    await net.delete();
  } finally {
    if (d) {
      // Whatever happened above, take down everything the demo made.
      for (const c of [...d.containers.values()]) await d.removeContainer(c.Id, true).catch(() => undefined);
      for (const s of d.controller.sandboxes()) await s.destroy().catch(() => undefined);
      for (const n of d.controller.networks()) if (n.type === 'bridge') await n.delete().catch(() => undefined);
      await d.stop();
    }
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('\nremoved everything: no network, namespace or link of the demo is left.');
}

main().catch((e: unknown) => {
  console.error(`demo failed: ${(e as Error).message}`);
  process.exitCode = 1;
});
