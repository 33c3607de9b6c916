// The nsnet command line. Talks to `nsnet daemon` over its socket, or runs
// a daemon in-process with --local (only when no daemon uses that data dir).
// The daemon, the API server and even child_process are imported on demand:
// a client run must start about as fast as node itself.
import { daemonConfig, type BridgeConfig, type DaemonConfig } from '../daemon/config.js';
import { CliError, EXIT, parseAddressPool, parseCommandLine, type Run } from './args.js';
import { socketClient, type Client } from './client.js';
import { shortId, table } from './format.js';

function configFrom(cl: Run): DaemonConfig {
  const f = cl.flags;
  const bridge: Partial<BridgeConfig> = {};
  const name = f.string('bridge-name');
  if (name) bridge.name = name;
  const subnet = f.string('bridge-subnet');
  if (subnet) bridge.subnet = subnet;
  const pools = f.list('default-address-pool').map(parseAddressPool);
  const ttl = f.string('cluster-lease-ttl');
  if (ttl !== undefined && !/^\d{1,4}$/.test(ttl)) throw new CliError(`invalid argument "${ttl}" for "--cluster-lease-ttl" flag: whole seconds`, EXIT.flag);
  return daemonConfig({
    dataDir: f.string('data-dir'), runDir: f.string('run-dir'), socket: cl.socket, bridge, dns: f.list('dns'),
    ...(pools.length ? { defaultPools: pools } : {}),
    clusterStore: f.string('cluster-store'), advertiseAddress: f.string('advertise-addr'),
    ...(ttl !== undefined ? { clusterLeaseTtl: Number(ttl) } : {}),
    hostGatewayIps: f.list('host-gateway-ip'),
  });
}

async function ok<T = unknown>(client: Client, method: string, path: string, body?: unknown): Promise<T> {
  // Progress for long work (a prune of many networks, a daemon busy restoring).
  const slow = process.stderr.isTTY ? setTimeout(() => process.stderr.write(`waiting for the daemon: ${method} ${path.split('?')[0]}…\n`), 1000) : undefined;
  const res = await client.call(method, path, body).finally(() => clearTimeout(slow));
  if (res.status >= 400) {
    const msg = (res.body as { message?: string } | undefined)?.message ?? res.text ?? `HTTP ${res.status}`;
    throw new CliError(`Error response from daemon: ${msg}`);
  }
  return res.body as T;
}

const kv = (list: string[], what: string): Record<string, string> => Object.fromEntries(list.map((x) => {
  const i = x.indexOf('=');
  if (i < 0) throw new CliError(`invalid ${what} '${x}': expected key=value`, EXIT.flag);
  return [x.slice(0, i), x.slice(i + 1)];
}));

function filtersParam(cl: Run): string {
  const f: Record<string, Record<string, boolean>> = {};
  for (const x of cl.flags.list('filter')) {
    const i = x.indexOf('=');
    if (i < 0) throw new CliError(`bad format of filter (expected name=value): ${x}`, EXIT.flag);
    (f[x.slice(0, i)] ??= {})[x.slice(i + 1)] = true;
  }
  return Object.keys(f).length ? `?filters=${encodeURIComponent(JSON.stringify(f))}` : '';
}

/** One request per argument, Docker-style: print each that worked, report each that failed, fail at the end. */
async function each(args: string[], fn: (a: string) => Promise<unknown>): Promise<void> {
  let failed = false;
  for (const a of args) {
    try { await fn(a); console.log(a); } catch (e) { console.error((e as Error).message); failed = true; }
  }
  if (failed) throw new CliError('', EXIT.failed);
}

const enc = encodeURIComponent;

async function network(client: Client, cl: Run): Promise<void> {
  const { args, flags: f, json } = cl;
  switch (cl.command) {
    case 'network create': {
      const subnets = f.list('subnet');
      const ranges = f.list('ip-range');
      const gws = f.list('gateway');
      const aux = kv(f.list('aux-address'), 'aux-address');
      const config = subnets.map((s, i) => ({
        Subnet: s,
        ...(ranges[i] ? { IPRange: ranges[i] } : {}),
        ...(gws[i] ? { Gateway: gws[i] } : {}),
        ...(i === 0 && Object.keys(aux).length ? { AuxiliaryAddresses: aux } : {}),
      }));
      const res = await ok<{ Id: string }>(client, 'POST', '/networks/create', {
        Name: args[0], Driver: f.string('driver') ?? '', Internal: f.bool('internal'), EnableIPv6: f.bool('ipv6'),
        ...(f.string('ipv4') !== undefined ? { EnableIPv4: f.bool('ipv4') } : {}),
        Attachable: f.bool('attachable'), IPAM: { Driver: 'default', Config: config },
        Options: kv(f.list('opt'), 'option'), Labels: kv(f.list('label'), 'label'),
      });
      console.log(json ? JSON.stringify(res) : res.Id);
      return;
    }
    case 'network ls': {
      const list = await ok<{ Id: string; Name: string; Driver: string; Scope: string }[]>(client, 'GET', `/networks${filtersParam(cl)}`);
      const id = f.bool('no-trunc') ? (x: string) => x : shortId;
      if (json) console.log(JSON.stringify(list, null, 2));
      else if (f.bool('quiet')) console.log(list.map((n) => id(n.Id)).join('\n'));
      else console.log(table(['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'], list.map((n) => [id(n.Id), n.Name, n.Driver, n.Scope])));
      return;
    }
    case 'network inspect': {
      const out = [];
      for (const a of args) out.push(await ok(client, 'GET', `/networks/${enc(a)}`));
      console.log(JSON.stringify(out, null, 4));
      return;
    }
    case 'network rm':
      return each(args, (a) => ok(client, 'DELETE', `/networks/${enc(a)}`));
    case 'network connect': {
      const [net, ctr] = args as [string, string];
      const ipam: Record<string, string> = {};
      const ip = f.string('ip');
      if (ip) ipam['IPv4Address'] = ip;
      const ip6 = f.string('ip6');
      if (ip6) ipam['IPv6Address'] = ip6;
      await ok(client, 'POST', `/networks/${enc(net)}/connect`, {
        Container: ctr, EndpointConfig: { IPAMConfig: Object.keys(ipam).length ? ipam : null, Aliases: f.list('alias') },
      });
      return;
    }
    case 'network disconnect': {
      const [net, ctr] = args as [string, string];
      await ok(client, 'POST', `/networks/${enc(net)}/disconnect`, { Container: ctr, Force: f.bool('force') });
      return;
    }
    case 'network prune': {
      const res = await ok<{ NetworksDeleted: string[] }>(client, 'POST', `/networks/prune${filtersParam(cl)}`);
      if (json) console.log(JSON.stringify(res));
      else if (res.NetworksDeleted.length) console.log(`Deleted Networks:\n${res.NetworksDeleted.join('\n')}`);
      return;
    }
  }
}

async function container(client: Client, cl: Run): Promise<void> {
  const { args, flags: f, json } = cl;
  switch (cl.command) {
    case 'container create': {
      const net = f.string('network') ?? f.string('net') ?? 'default';
      const ip = f.string('ip');
      const name = f.string('name');
      const res = await ok<{ Id: string }>(client, 'POST', `/containers/create${name ? `?name=${enc(name)}` : ''}`, {
        Image: args[0] ?? 'scratch', Cmd: args.slice(1), Hostname: f.string('hostname') ?? '',
        HostConfig: { NetworkMode: net, Dns: f.list('dns') },
        NetworkingConfig: ip && !['default', 'host', 'none'].includes(net) && !net.startsWith('container:')
          ? { EndpointsConfig: { [net]: { IPAMConfig: { IPv4Address: ip } } } } : {},
      });
      console.log(json ? JSON.stringify(res) : res.Id);
      return;
    }
    case 'container start': return each(args, (a) => ok(client, 'POST', `/containers/${enc(a)}/start`));
    case 'container stop': return each(args, (a) => ok(client, 'POST', `/containers/${enc(a)}/stop`));
    case 'container restart': return each(args, (a) => ok(client, 'POST', `/containers/${enc(a)}/restart`));
    case 'container rm': return each(args, (a) => ok(client, 'DELETE', `/containers/${enc(a)}${f.bool('force') ? '?force=1' : ''}`));
    case 'container ls': {
      const list = await ok<{ Id: string; Names: string[]; Image: string; Status: string; HostConfig: { NetworkMode: string }; NetworkSettings: { Networks: Record<string, { IPAddress: string }> } }[]>(
        client, 'GET', `/containers/json${f.bool('all') ? '?all=1' : ''}`);
      const id = f.bool('no-trunc') ? (x: string) => x : shortId;
      if (json) console.log(JSON.stringify(list, null, 2));
      else if (f.bool('quiet')) console.log(list.map((c) => id(c.Id)).join('\n'));
      else console.log(table(['CONTAINER ID', 'IMAGE', 'STATUS', 'NETWORKS', 'IP ADDRESSES', 'NAMES'], list.map((c) => [
        id(c.Id), c.Image, c.Status, Object.keys(c.NetworkSettings.Networks).join(','),
        Object.values(c.NetworkSettings.Networks).map((n) => n.IPAddress).filter(Boolean).join(','), c.Names[0]!.slice(1),
      ])));
      return;
    }
    case 'container inspect': {
      const out = [];
      for (const a of args) out.push(await ok(client, 'GET', `/containers/${enc(a)}/json`));
      console.log(JSON.stringify(out, null, 4));
      return;
    }
  }
}

async function exec(client: Client, cl: Run): Promise<number> {
  const name = cl.args[0]!;
  const info = await ok<{ State: { Running: boolean }; NetworkSettings: { SandboxKey: string } }>(client, 'GET', `/containers/${enc(name)}/json`);
  if (!info.State.Running || !info.NetworkSettings.SandboxKey) throw new CliError(`Error response from daemon: container ${name} is not running`);
  const { spawnSync } = await import('node:child_process');
  // An argv array, never a shell string: the command is the user's, verbatim.
  const r = spawnSync('nsenter', [`--net=${info.NetworkSettings.SandboxKey}`, '--', ...cl.rest], { stdio: 'inherit' });
  if (r.error) throw new CliError(`exec: ${r.error.message}`);
  return r.status ?? 1;
}

async function daemon(cl: Run): Promise<void> {
  const config = configFrom(cl);
  const [{ Daemon }, { serve }, { assertSocketFree }] = await Promise.all([
    import('../daemon/daemon.js'), import('../api/server.js'), import('../api/socket.js'),
  ]);
  // Before the controller touches the kernel: a live daemon on the path is not ours to replace.
  await assertSocketFree(config.socket);
  const d = await Daemon.start(config);
  let api;
  try {
    api = await serve(d, config.socket);
  } catch (e) {
    await d.stop();
    throw e;
  }
  console.error(`nsnet daemon: data ${config.dataDir}, listening on unix://${config.socket}, default bridge ${config.bridge.name}${
    config.clusterStore ? `, cluster store ${config.clusterStore} as ${config.advertiseAddress}` : ''}`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  console.error('nsnet daemon: shutting down (state kept)');
  await api.close();
  await d.stop();
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const cl = parseCommandLine(argv, env);
  if (cl.kind === 'help') {
    console.log(cl.text);
    return cl.exitCode;
  }
  if (cl.command === 'daemon') {
    await daemon(cl);
    return 0;
  }
  if (cl.command === 'cni install') {
    const { installCni, DEFAULT_BIN_DIR } = await import('./cni-install.js');
    console.log(installCni(cl.flags.string('bin-dir') ?? DEFAULT_BIN_DIR, { copy: cl.flags.bool('copy') }));
    return 0;
  }
  const client = cl.local ? await (await import('./local-client.js')).localClient(configFrom(cl)) : socketClient(cl.socket);
  try {
    if (cl.command === 'exec') return await exec(client, cl);
    await (cl.command.startsWith('network ') ? network(client, cl) : container(client, cl));
    return 0;
  } finally {
    await client.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.env['NSNET_CLI_MAIN'] === '1') {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
    if (e instanceof CliError) {
      if (e.message) console.error(e.message);
      process.exitCode = e.exitCode;
    } else {
      console.error((e as Error).message ?? e);
      process.exitCode = 1;
    }
  });
}
