// The nsnet command line on node:util's parseArgs. Every command declares its
// options, so a mistyped flag is an error (as in Docker) rather than ignored.
// Pure: no I/O, so it is tested without a daemon. Keep this file (and what it
// imports) light: every CLI run loads it.
import { parseArgs } from 'node:util';
import { daemonConfig } from '../daemon/config.js';
import type { PoolSpec } from '../ipam/index.js';

/** Exit codes: Docker's 125 for a bad flag; 2 for any other usage error. */
export const EXIT = { failed: 1, usage: 2, flag: 125 } as const;

export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT.failed) {
    super(message);
  }
}

interface Option {
  type: 'string' | 'boolean';
  short?: string;
  /** Every occurrence counts; otherwise the last one wins. */
  multiple?: boolean;
  /** The value's name in help. */
  arg?: string;
  help: string;
}
type Options = Record<string, Option>;

interface Command {
  usage: string;
  summary: string;
  options?: Options;
  /** How many positional arguments: [min, max]. */
  args: [number, number];
  aliases?: string[];
  /** Options stop at the first argument: what follows is the container's command line. */
  interspersed?: false;
  /** Requires `-- COMMAND...`, passed through untouched. */
  command?: true;
}

const DEFAULTS = daemonConfig();
const HELP: Option = { type: 'boolean', short: 'h', help: 'Print usage' };

const DAEMON: Options = {
  'bridge-name': { type: 'string', arg: 'NAME', help: `Device of the default bridge network (default ${DEFAULTS.bridge.name})` },
  'bridge-subnet': { type: 'string', arg: 'CIDR', help: 'Subnet of the default bridge network (default: the first free pool)' },
  'data-dir': { type: 'string', arg: 'DIR', help: `State directory (default ${DEFAULTS.dataDir})` },
  'default-address-pool': { type: 'string', multiple: true, arg: 'base=CIDR,size=N', help: "Pool networks without a subnet are carved from (dockerd's flag; default Docker's pools)" },
  'run-dir': { type: 'string', arg: 'DIR', help: `Directory of the network namespace files (default ${DEFAULTS.runDir})` },
  dns: { type: 'string', multiple: true, arg: 'IP', help: 'Upstream of the embedded DNS resolver (repeatable; default: the host\'s resolv.conf nameservers)' },
  'cluster-store': { type: 'string', arg: 'etcd://HOST:PORT', help: 'etcd holding the global (overlay) networks of a multi-host cluster' },
  'advertise-addr': { type: 'string', arg: 'IP', help: "This host's underlay IPv4 address, reached by the others (overlay VTEP); needed with --cluster-store" },
  'host-gateway-ip': { type: 'string', multiple: true, arg: 'IP', help: "What --add-host NAME:host-gateway stands for (one IPv4 and one IPv6 at most; default: the default bridge's gateway)" },
  'cluster-lease-ttl': { type: 'string', arg: 'SECONDS', help: "How long a dead host's endpoints outlive it in the cluster (default 15)" },
};
const SOCKET: Options = {
  host: { type: 'string', short: 'H', arg: 'unix://PATH', help: `Daemon socket (default unix://${DEFAULTS.socket}; env NSNET_HOST)` },
  socket: { type: 'string', arg: 'PATH', help: 'Daemon socket path, as -H (env NSNET_SOCKET)' },
};

/** Accepted before the command and after it. */
const GLOBAL: Options = {
  ...SOCKET,
  local: { type: 'boolean', help: 'Run a daemon in-process (daemon options apply) instead of connecting to one' },
  ...DAEMON,
  format: { type: 'string', arg: 'json|table', help: 'Output format (default table)' },
  help: HELP,
};

const GROUPS: Record<string, string> = { network: 'Manage networks', container: 'Manage containers', cni: 'Manage the CNI plugin' };

const COMMANDS: Record<string, Command> = {
  daemon: {
    usage: '[OPTIONS]', summary: 'Run the nsnet daemon in the foreground (SIGTERM/SIGINT stop it, state is kept)',
    options: { ...SOCKET, ...DAEMON }, args: [0, 0],
  },
  'network connect': {
    usage: '[OPTIONS] NETWORK CONTAINER', summary: 'Connect a container to a network', args: [2, 2],
    options: {
      alias: { type: 'string', multiple: true, arg: 'NAME', help: 'Network-scoped alias for the container' },
      ip: { type: 'string', arg: 'IP', help: 'IPv4 address' },
      ip6: { type: 'string', arg: 'IP', help: 'IPv6 address' },
    },
  },
  'network create': {
    usage: '[OPTIONS] NETWORK', summary: 'Create a network', args: [1, 1],
    options: {
      attachable: { type: 'boolean', help: 'Enable manual container attachment' },
      'aux-address': { type: 'string', multiple: true, arg: 'name=IP', help: 'Address the IPAM driver must not assign' },
      driver: { type: 'string', short: 'd', arg: 'DRIVER', help: 'Driver to manage the network (default bridge)' },
      gateway: { type: 'string', multiple: true, arg: 'IP', help: 'Gateway of the subnet at the same position' },
      internal: { type: 'boolean', help: 'Restrict external access to the network' },
      'ip-range': { type: 'string', multiple: true, arg: 'CIDR', help: 'Allocate container IPs from a sub-range of the subnet at the same position' },
      ipv4: { type: 'boolean', help: 'Enable IPv4 (default true; --ipv4=false disables it)' },
      ipv6: { type: 'boolean', help: 'Enable IPv6' },
      label: { type: 'string', multiple: true, arg: 'key=value', help: 'Metadata on the network' },
      opt: { type: 'string', short: 'o', multiple: true, arg: 'key=value', help: 'Driver option' },
      subnet: { type: 'string', multiple: true, arg: 'CIDR', help: 'Subnet' },
    },
  },
  'network disconnect': {
    usage: '[OPTIONS] NETWORK CONTAINER', summary: 'Disconnect a container from a network', args: [2, 2],
    options: { force: { type: 'boolean', short: 'f', help: 'Force the container to disconnect' } },
  },
  'network inspect': { usage: 'NETWORK [NETWORK...]', summary: 'Display detailed information on networks, as JSON', args: [1, Infinity] },
  'network ls': {
    usage: '[OPTIONS]', summary: 'List networks', args: [0, 0], aliases: ['network list'],
    options: {
      filter: { type: 'string', short: 'f', multiple: true, arg: 'key=value', help: 'Filter (dangling, driver, id, label, name, scope, type)' },
      'no-trunc': { type: 'boolean', help: 'Do not truncate the output' },
      quiet: { type: 'boolean', short: 'q', help: 'Only display network IDs' },
    },
  },
  'network prune': {
    usage: '[OPTIONS]', summary: 'Remove all unused networks', args: [0, 0],
    options: {
      filter: { type: 'string', multiple: true, arg: 'key=value', help: 'Filter (label, until)' },
      force: { type: 'boolean', short: 'f', help: 'Do not prompt for confirmation (nsnet never does)' },
    },
  },
  'network rm': { usage: 'NETWORK [NETWORK...]', summary: 'Remove one or more networks', args: [1, Infinity], aliases: ['network remove'] },
  'container create': {
    usage: '[OPTIONS] [IMAGE [COMMAND [ARG...]]]', summary: 'Create a container (networking only: the image is not run)',
    args: [0, Infinity], interspersed: false,
    options: {
      dns: { type: 'string', multiple: true, arg: 'IP', help: 'DNS server' },
      hostname: { type: 'string', arg: 'NAME', help: 'Container host name' },
      ip: { type: 'string', arg: 'IP', help: 'IPv4 address on --network' },
      name: { type: 'string', arg: 'NAME', help: 'Name of the container' },
      net: { type: 'string', arg: 'NETWORK', help: 'Same as --network' },
      network: { type: 'string', arg: 'NETWORK', help: 'Network: default, bridge, host, none, container:ID or a network name' },
    },
  },
  'container inspect': { usage: 'CONTAINER [CONTAINER...]', summary: 'Display detailed information on containers, as JSON', args: [1, Infinity] },
  'container ls': {
    usage: '[OPTIONS]', summary: 'List containers', args: [0, 0], aliases: ['container ps', 'container list', 'ps'],
    options: {
      all: { type: 'boolean', short: 'a', help: 'Show all containers (default: only running ones)' },
      'no-trunc': { type: 'boolean', help: 'Do not truncate the output' },
      quiet: { type: 'boolean', short: 'q', help: 'Only display container IDs' },
    },
  },
  'container restart': { usage: 'CONTAINER [CONTAINER...]', summary: 'Restart one or more containers', args: [1, Infinity] },
  'container rm': {
    usage: '[OPTIONS] CONTAINER [CONTAINER...]', summary: 'Remove one or more containers', args: [1, Infinity], aliases: ['container remove'],
    options: { force: { type: 'boolean', short: 'f', help: 'Remove a running container too' } },
  },
  'container start': { usage: 'CONTAINER [CONTAINER...]', summary: 'Start one or more containers', args: [1, Infinity] },
  'container stop': { usage: 'CONTAINER [CONTAINER...]', summary: 'Stop one or more containers', args: [1, Infinity] },
  'cni install': {
    usage: '[OPTIONS]', summary: 'Install the CNI plugin (build/Release/nsnet-cni) as DIR/nsnet, a link to it unless --copy', args: [0, 0],
    options: {
      'bin-dir': { type: 'string', arg: 'DIR', help: 'CNI plugin directory (default /opt/cni/bin)' },
      copy: { type: 'boolean', help: 'Copy the binary instead of linking to it' },
    },
  },
  exec: {
    usage: '[OPTIONS] CONTAINER -- COMMAND [ARG...]', summary: "Run a command in a running container's network namespace",
    args: [1, 1], command: true,
  },
};

const ALIASES = new Map(Object.entries(COMMANDS).flatMap(([path, c]) => (c.aliases ?? []).map((a) => [a, path] as const)));

/** dockerd's `--default-address-pool base=10.10.0.0/16,size=24`. */
export function parseAddressPool(value: string): PoolSpec {
  const f = new Map(value.split(',').map((kv) => {
    const i = kv.indexOf('=');
    return [i < 0 ? kv : kv.slice(0, i), i < 0 ? '' : kv.slice(i + 1)] as const;
  }));
  const base = f.get('base');
  const size = Number(f.get('size'));
  if (!base || !Number.isInteger(size) || f.size !== 2)
    throw new CliError(`invalid default address pool '${value}': expected base=CIDR,size=N`, EXIT.flag);
  return { base, size };
}

/** Option values in command-line order. */
export class Flags {
  private readonly values = new Map<string, string[]>();
  add(name: string, value: string): void {
    this.values.set(name, [...(this.values.get(name) ?? []), value]);
  }
  string(name: string): string | undefined {
    return this.values.get(name)?.at(-1);
  }
  list(name: string): string[] {
    return [...(this.values.get(name) ?? [])];
  }
  bool(name: string): boolean {
    return this.string(name) === 'true';
  }
}

export type CommandLine =
  | { kind: 'help'; text: string; exitCode: number }
  | {
    kind: 'run';
    /** The canonical path: 'daemon', 'network create', 'container ls' (also for `ps`), 'exec'. */
    command: string;
    args: string[];
    /** exec's command line, after `--`. */
    rest: string[];
    flags: Flags;
    socket: string;
    local: boolean;
    json: boolean;
  };
export type Run = Extract<CommandLine, { kind: 'run' }>;
type Env = Readonly<Record<string, string | undefined>>;

const flagError = (message: string, cmd: string) => new CliError(`${message}\nSee '${cmd} --help'.`, EXIT.flag);

/** Takes the options out of args into flags; `rest` is what follows a `--`. */
function scan(args: readonly string[], options: Options, flags: Flags, cmd: string, interspersed = true): { args: string[]; rest?: string[] } {
  const { tokens } = parseArgs({ args: [...args], options, strict: false, allowPositionals: true, tokens: true });
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'option-terminator') return { args: positionals, rest: args.slice(t.index + 1) };
    if (t.kind === 'positional') {
      if (!interspersed) return { args: args.slice(t.index) };
      positionals.push(t.value);
      continue;
    }
    // Docker's wording; a short flag may sit in a group such as -qa.
    const long = t.rawName.startsWith('--');
    const shown = long ? t.rawName : `'${t.rawName.slice(1)}' in ${args[t.index]}`;
    const o = Object.hasOwn(options, t.name) ? options[t.name] : undefined;
    if (!o) throw flagError(long ? `unknown flag: ${t.rawName}` : `unknown shorthand flag: ${shown}`, cmd);
    if (o.type === 'string') {
      if (t.value === undefined) throw flagError(`flag needs an argument: ${shown}`, cmd);
      flags.add(t.name, t.value);
    } else {
      const v = t.value ?? 'true';
      if (v !== 'true' && v !== 'false') throw flagError(`invalid argument "${v}" for "${t.rawName}" flag: expected true or false`, cmd);
      flags.add(t.name, v);
    }
  }
  return { args: positionals };
}

/** `unix://PATH` or a bare path: nsnet only listens on unix sockets. */
function unixPath(host: string, from: string): string {
  const path = host.startsWith('unix://') ? host.slice('unix://'.length) : host.includes('://') ? '' : host;
  if (!path) throw new CliError(`invalid ${from} '${host}': expected unix://PATH or a path`, EXIT.flag);
  return path;
}

/** -H/--host, then --socket, then $NSNET_HOST, then $NSNET_SOCKET, then the daemon's default. */
function socketFrom(flags: Flags, env: Env): string {
  const host = flags.string('host');
  if (host !== undefined) return unixPath(host, '--host');
  const socket = flags.string('socket');
  if (socket) return socket;
  if (env['NSNET_HOST']) return unixPath(env['NSNET_HOST'], 'NSNET_HOST');
  return env['NSNET_SOCKET'] || DEFAULTS.socket;
}

/** The argv of `nsnet` (without node and the script) as a command to run or help to print. */
export function parseCommandLine(argv: readonly string[], env: Env = {}): CommandLine {
  const flags = new Flags();
  // Global options come before the command, as in Docker; the first word ends them.
  let words = joined(scan(argv, GLOBAL, flags, 'nsnet', false));
  const usage = (text: string): CommandLine => ({ kind: 'help', text, exitCode: flags.bool('help') ? 0 : EXIT.usage });
  if (words[0] === undefined) return usage(topHelp());
  let path = words[0];
  const group = Object.hasOwn(GROUPS, path) ? path : undefined;
  if (group) {
    words = joined(scan(words.slice(1), GLOBAL, flags, `nsnet ${group}`, false));
    if (words[0] === undefined) return usage(groupHelp(group));
    path = `${group} ${words[0]}`;
  } else if (path.includes(' ')) {
    path = ''; // 'network create' as one argument is no command
  }
  const command = Object.hasOwn(COMMANDS, path) ? path : ALIASES.get(path);
  const spec = command === undefined ? undefined : COMMANDS[command];
  if (command === undefined || !spec) {
    const where = group ? `nsnet ${group}` : 'nsnet';
    throw new CliError(`${where}: '${words[0]}' is not an ${where} command.\nSee '${where} --help'.`, EXIT.usage);
  }

  const cmd = `nsnet ${command}`;
  const parsed = scan(words.slice(1), { ...GLOBAL, ...spec.options }, flags, cmd, spec.interspersed);
  if (flags.bool('help')) return { kind: 'help', text: commandHelp(command), exitCode: 0 };
  const args = spec.command ? parsed.args : joined(parsed);
  const rest = spec.command ? parsed.rest ?? [] : [];
  const wrong = argumentsError(spec, args.length, rest.length);
  if (wrong) throw new CliError(`"${cmd}" ${wrong}.\nSee '${cmd} --help'.\n\nUsage:  ${cmd} ${spec.usage}\n\n${spec.summary}`, EXIT.usage);
  const format = flags.string('format') ?? 'table';
  if (format !== 'json' && format !== 'table') throw flagError(`invalid argument "${format}" for "--format" flag: expected json or table`, cmd);
  return { kind: 'run', command, args, rest, flags, socket: socketFrom(flags, env), local: flags.bool('local'), json: format === 'json' };
}

/** Arguments before and after a `--` alike (only exec tells them apart). */
const joined = (s: { args: string[]; rest?: string[] }): string[] => [...s.args, ...(s.rest ?? [])];

/** Docker's wording for a wrong number of arguments, or '' when the count fits. */
function argumentsError(spec: Command, n: number, rest: number): string {
  const [min, max] = spec.args;
  const count = (k: number) => `${k} argument${k === 1 ? '' : 's'}`;
  if (spec.command && (n !== min || !rest)) return `requires exactly ${count(min)} and a command after '--'`;
  if (n > max) return max === 0 ? 'accepts no arguments' : `requires exactly ${count(max)}`;
  if (n < min) return min === max ? `requires exactly ${count(min)}` : `requires at least ${count(min)}`;
  return '';
}

function columns(rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, r]) => `  ${l.padEnd(width)}   ${r}`);
}

function optionLines(options: Options): string[] {
  return columns(Object.entries(options).map(([name, o]) => [
    `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.arg ?? 'string'}` : ''}`,
    `${o.help}${o.multiple ? ' (repeatable)' : ''}`,
  ]));
}

function summaryOf(name: string): string {
  const target = ALIASES.get(name);
  return GROUPS[name] ?? COMMANDS[name]?.summary ?? `${COMMANDS[target ?? '']?.summary} (same as nsnet ${target})`;
}

function topHelp(): string {
  return [
    'Usage:  nsnet [OPTIONS] COMMAND', '', "Container networking on Docker's libnetwork model", '',
    'Commands:', ...columns(['daemon', 'network', 'container', 'cni', 'exec', 'ps'].map((c) => [c, summaryOf(c)])), '',
    'Global Options:', ...optionLines(GLOBAL), '',
    "Run 'nsnet COMMAND --help' for more information on a command.",
  ].join('\n');
}

function groupHelp(group: string): string {
  const subs = Object.keys(COMMANDS).filter((p) => p.startsWith(`${group} `));
  return [
    `Usage:  nsnet ${group} COMMAND`, '', GROUPS[group] ?? '', '',
    'Commands:', ...columns(subs.map((p) => [p.slice(group.length + 1), summaryOf(p)])), '',
    `Run 'nsnet ${group} COMMAND --help' for more information on a command.`,
  ].join('\n');
}

function commandHelp(command: string): string {
  const c = COMMANDS[command];
  if (!c) throw new Error(`no command ${command}`);
  return [
    `Usage:  nsnet ${command} ${c.usage}`, '', c.summary,
    ...(c.aliases ? ['', 'Aliases:', `  ${[command, ...c.aliases].map((a) => `nsnet ${a}`).join(', ')}`] : []),
    '', 'Options:', ...optionLines({ ...c.options, help: HELP }),
    ...(command === 'daemon' ? [] : ['', "Global options (-H, --socket, --local, --format…) are accepted too: see 'nsnet --help'."]),
  ].join('\n');
}
