// The nsnet command line. Talks to `nsnet daemon` over its socket, or runs
// a daemon in-process with --local (only when no daemon uses that data dir).
import { spawnSync } from 'node:child_process';
import { serve } from '../api/server.js';
import { daemonConfig, type DaemonConfig } from '../daemon/config.js';
import { Daemon } from '../daemon/daemon.js';
import { flag, flags, has, parseArgs, type Parsed } from './args.js';
import { localClient, socketClient, type Client } from './client.js';
import { shortId, table } from './format.js';

const BOOLEANS = new Set(['local', 'internal', 'ipv6', 'ipv4', 'attachable', 'force', 'f', 'all', 'a', 'help', 'h', 'quiet', 'q', 'no-trunc']);

const USAGE = `Usage: nsnet [--socket PATH | --local [--data-dir DIR]] [--format json] COMMAND

Commands:
  daemon [--socket PATH] [--data-dir DIR] [--run-dir DIR] [--bridge-name NAME] [--bridge-subnet CIDR]
  network create [--driver D] [--subnet S] [--ip-range R] [--gateway G] [--aux-address n=ip]
                 [--internal] [--ipv6] [-o k=v] [--label k=v] NAME
  network ls [--filter k=v]        network inspect NET...      network rm NET...
  network connect [--ip IP] [--ip6 IP] [--alias A] NET CONTAINER
  network disconnect [--force] NET CONTAINER                   network prune
  container create [--name N] [--network NET] [--ip IP] [--hostname H] [--dns IP] IMAGE
  container start|stop|restart CONTAINER...   container rm [--force] CONTAINER...
  container ls [--all]             container inspect CONTAINER...
  exec CONTAINER -- COMMAND...     run a command inside the container's network namespace`;

class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

function configFrom(p: Parsed): DaemonConfig {
  const bridge: Partial<DaemonConfig['bridge']> = {};
  const bn = flag(p, 'bridge-name');
  if (bn) bridge.name = bn;
  const bs = flag(p, 'bridge-subnet');
  if (bs) bridge.subnet = bs;
  const socket = flag(p, 'socket') ?? process.env['NSNET_SOCKET'] ?? flag(p, 'host')?.replace(/^unix:\/\//, '');
  return daemonConfig({
    ...(flag(p, 'data-dir') ? { dataDir: flag(p, 'data-dir')! } : {}),
    ...(flag(p, 'run-dir') ? { runDir: flag(p, 'run-dir')! } : {}),
    ...(socket ? { socket } : {}),
    bridge,
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
  if (i < 0) throw new CliError(`invalid ${what} '${x}': expected key=value`);
  return [x.slice(0, i), x.slice(i + 1)];
}));

function filtersParam(p: Parsed): string {
  const f: Record<string, Record<string, boolean>> = {};
  for (const x of flags(p, 'filter', 'f')) {
    const i = x.indexOf('=');
    if (i < 0) throw new CliError(`bad format of filter (expected name=value): ${x}`);
    (f[x.slice(0, i)] ??= {})[x.slice(i + 1)] = true;
  }
  return Object.keys(f).length ? `?filters=${encodeURIComponent(JSON.stringify(f))}` : '';
}

async function network(client: Client, sub: string | undefined, p: Parsed, json: boolean): Promise<void> {
  const args = p.positional.slice(2);
  const enc = encodeURIComponent;
  switch (sub) {
    case 'create': {
      const name = args[0];
      if (!name) throw new CliError('network create: a name is required');
      const subnets = flags(p, 'subnet');
      const ranges = flags(p, 'ip-range');
      const gws = flags(p, 'gateway');
      const aux = kv(flags(p, 'aux-address'), 'aux-address');
      const config = subnets.map((s, i) => ({
        Subnet: s,
        ...(ranges[i] ? { IPRange: ranges[i] } : {}),
        ...(gws[i] ? { Gateway: gws[i] } : {}),
        ...(i === 0 && Object.keys(aux).length ? { AuxiliaryAddresses: aux } : {}),
      }));
      const res = await ok<{ Id: string }>(client, 'POST', '/networks/create', {
        Name: name, Driver: flag(p, 'driver', 'd') ?? '', Internal: has(p, 'internal'), EnableIPv6: has(p, 'ipv6'),
        Attachable: has(p, 'attachable'), IPAM: { Driver: 'default', Config: config },
        Options: kv(flags(p, 'opt', 'o'), 'option'), Labels: kv(flags(p, 'label'), 'label'),
      });
      console.log(json ? JSON.stringify(res) : res.Id);
      return;
    }
    case 'ls':
    case 'list': {
      const list = await ok<{ Id: string; Name: string; Driver: string; Scope: string }[]>(client, 'GET', `/networks${filtersParam(p)}`);
      if (json) console.log(JSON.stringify(list, null, 2));
      else if (has(p, 'quiet', 'q')) console.log(list.map((n) => shortId(n.Id)).join('\n'));
      else console.log(table(['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'], list.map((n) => [shortId(n.Id), n.Name, n.Driver, n.Scope])));
      return;
    }
    case 'inspect': {
      const out = [];
      for (const a of args) out.push(await ok(client, 'GET', `/networks/${enc(a)}`));
      console.log(JSON.stringify(out, null, 4));
      return;
    }
    case 'rm':
    case 'remove': {
      let failed = false;
      for (const a of args) {
        try { await ok(client, 'DELETE', `/networks/${enc(a)}`); console.log(a); } catch (e) { console.error((e as Error).message); failed = true; }
      }
      if (failed) throw new CliError('', 1);
      return;
    }
    case 'connect': {
      const [net, ctr] = args;
      if (!net || !ctr) throw new CliError('network connect: NETWORK and CONTAINER are required');
      const ipam: Record<string, string> = {};
      if (flag(p, 'ip')) ipam['IPv4Address'] = flag(p, 'ip')!;
      if (flag(p, 'ip6')) ipam['IPv6Address'] = flag(p, 'ip6')!;
      await ok(client, 'POST', `/networks/${enc(net)}/connect`, {
        Container: ctr, EndpointConfig: { IPAMConfig: Object.keys(ipam).length ? ipam : null, Aliases: flags(p, 'alias') },
      });
      return;
    }
    case 'disconnect': {
      const [net, ctr] = args;
      if (!net || !ctr) throw new CliError('network disconnect: NETWORK and CONTAINER are required');
      await ok(client, 'POST', `/networks/${enc(net)}/disconnect`, { Container: ctr, Force: has(p, 'force', 'f') });
      return;
    }
    case 'prune': {
      const res = await ok<{ NetworksDeleted: string[] }>(client, 'POST', `/networks/prune${filtersParam(p)}`);
      if (json) console.log(JSON.stringify(res));
      else if (res.NetworksDeleted.length) console.log(`Deleted Networks:\n${res.NetworksDeleted.join('\n')}`);
      return;
    }
    default:
      throw new CliError(`unknown network command '${sub ?? ''}'\n\n${USAGE}`, 2);
  }
}

async function container(client: Client, sub: string | undefined, p: Parsed, json: boolean): Promise<void> {
  const args = p.positional.slice(2);
  const enc = encodeURIComponent;
  const each = async (fn: (a: string) => Promise<void>) => {
    let failed = false;
    for (const a of args) {
      try { await fn(a); console.log(a); } catch (e) { console.error((e as Error).message); failed = true; }
    }
    if (failed) throw new CliError('', 1);
  };
  switch (sub) {
    case 'create': {
      const image = args[0] ?? 'scratch';
      const net = flag(p, 'network', 'net') ?? 'default';
      const ip = flag(p, 'ip');
      const name = flag(p, 'name');
      const res = await ok<{ Id: string }>(client, 'POST', `/containers/create${name ? `?name=${enc(name)}` : ''}`, {
        Image: image, Cmd: args.slice(1), Hostname: flag(p, 'hostname') ?? '',
        HostConfig: { NetworkMode: net, Dns: flags(p, 'dns') },
        NetworkingConfig: ip && !['default', 'host', 'none'].includes(net) && !net.startsWith('container:')
          ? { EndpointsConfig: { [net]: { IPAMConfig: { IPv4Address: ip } } } } : {},
      });
      console.log(json ? JSON.stringify(res) : res.Id);
      return;
    }
    case 'start': return each((a) => ok(client, 'POST', `/containers/${enc(a)}/start`).then(() => undefined));
    case 'stop': return each((a) => ok(client, 'POST', `/containers/${enc(a)}/stop`).then(() => undefined));
    case 'restart': return each((a) => ok(client, 'POST', `/containers/${enc(a)}/restart`).then(() => undefined));
    case 'rm':
    case 'remove':
      return each((a) => ok(client, 'DELETE', `/containers/${enc(a)}${has(p, 'force', 'f') ? '?force=1' : ''}`).then(() => undefined));
    case 'ls':
    case 'ps': {
      const list = await ok<{ Id: string; Names: string[]; Image: string; Status: string; HostConfig: { NetworkMode: string }; NetworkSettings: { Networks: Record<string, { IPAddress: string }> } }[]>(
        client, 'GET', `/containers/json${has(p, 'all', 'a') ? '?all=1' : ''}`);
      if (json) console.log(JSON.stringify(list, null, 2));
      else console.log(table(['CONTAINER ID', 'IMAGE', 'STATUS', 'NETWORKS', 'IP ADDRESSES', 'NAMES'], list.map((c) => [
        shortId(c.Id), c.Image, c.Status, Object.keys(c.NetworkSettings.Networks).join(','),
        Object.values(c.NetworkSettings.Networks).map((n) => n.IPAddress).filter(Boolean).join(','), c.Names[0]!.slice(1),
      ])));
      return;
    }
    case 'inspect': {
      const out = [];
      for (const a of args) out.push(await ok(client, 'GET', `/containers/${enc(a)}/json`));
      console.log(JSON.stringify(out, null, 4));
      return;
    }
    default:
      throw new CliError(`unknown container command '${sub ?? ''}'\n\n${USAGE}`, 2);
  }
}

async function exec(client: Client, p: Parsed): Promise<number> {
  const name = p.positional[1];
  if (!name || !p.rest.length) throw new CliError('usage: nsnet exec CONTAINER -- COMMAND...', 2);
  const info = await ok<{ State: { Running: boolean }; NetworkSettings: { SandboxKey: string } }>(client, 'GET', `/containers/${encodeURIComponent(name)}/json`);
  if (!info.State.Running || !info.NetworkSettings.SandboxKey) throw new CliError(`Error response from daemon: container ${name} is not running`);
  // An argv array, never a shell string: the command is the user's, verbatim.
  const r = spawnSync('nsenter', [`--net=${info.NetworkSettings.SandboxKey}`, '--', ...p.rest], { stdio: 'inherit' });
  if (r.error) throw new CliError(`exec: ${r.error.message}`);
  return r.status ?? 1;
}

async function daemon(p: Parsed): Promise<void> {
  const config = configFrom(p);
  const d = await Daemon.start(config);
  const api = await serve(d, config.socket);
  console.error(`nsnet daemon: data ${config.dataDir}, listening on unix://${config.socket}, default bridge ${config.bridge.name}`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  console.error('nsnet daemon: shutting down (state kept)');
  await api.close();
  await d.stop();
}

export async function main(argv: string[]): Promise<number> {
  const p = parseArgs(argv, BOOLEANS);
  const [cmd, sub] = p.positional;
  if (!cmd || has(p, 'help', 'h')) {
    console.log(USAGE);
    return cmd ? 0 : 2;
  }
  if (cmd === 'daemon') {
    await daemon(p);
    return 0;
  }
  const json = flag(p, 'format') === 'json';
  const config = configFrom(p);
  const client = has(p, 'local') ? await localClient(config) : socketClient(config.socket);
  try {
    switch (cmd) {
      case 'network': await network(client, sub, p, json); return 0;
      case 'container': await container(client, sub, p, json); return 0;
      case 'ps': await container(client, 'ls', { ...p, positional: ['container', 'ls'] }, json); return 0;
      case 'exec': return await exec(client, p);
      default: throw new CliError(`unknown command '${cmd}'\n\n${USAGE}`, 2);
    }
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
