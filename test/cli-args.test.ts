// The nsnet command line, parsed without running anything: no daemon, no kernel.
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { CliError, parseAddressPool, parseCommandLine, type CommandLine, type Run } from '../src/cli/args.js';
import { main } from '../src/cli/main.js';

const run = (argv: string[], env: Record<string, string> = {}): Run => {
  const cl = parseCommandLine(argv, env);
  if (cl.kind !== 'run') throw new Error(`expected a command, got help:\n${cl.text}`);
  return cl;
};
const help = (argv: string[]): Extract<CommandLine, { kind: 'help' }> => {
  const cl = parseCommandLine(argv);
  if (cl.kind !== 'help') throw new Error(`expected help, got ${cl.command}`);
  return cl;
};
const failure = (argv: string[], env: Record<string, string> = {}): CliError => {
  try {
    parseCommandLine(argv, env);
  } catch (e) {
    if (e instanceof CliError) return e;
    throw e;
  }
  throw new Error(`expected a CliError for ${argv.join(' ')}`);
};

const COMMANDS = [
  'daemon', 'exec',
  'network create', 'network ls', 'network inspect', 'network rm', 'network connect', 'network disconnect', 'network prune',
  'container create', 'container start', 'container stop', 'container restart', 'container rm', 'container ls', 'container inspect',
];

describe('flags', () => {
  it('an unknown flag is an error with exit code 125 and a hint, as in Docker', () => {
    const e = failure(['network', 'create', '--foo', 'n']);
    expect(e.message).toBe("unknown flag: --foo\nSee 'nsnet network create --help'.");
    expect(e.exitCode).toBe(125);
    expect(failure(['--foo', 'network', 'ls']).message).toBe("unknown flag: --foo\nSee 'nsnet --help'.");
    expect(failure(['network', 'ls', '-qx'])).toMatchObject({ message: "unknown shorthand flag: 'x' in -qx\nSee 'nsnet network ls --help'.", exitCode: 125 });
    // Another command's flag is unknown here.
    expect(failure(['network', 'ls', '--subnet', '10.0.0.0/24']).message).toMatch(/^unknown flag: --subnet\n/);
  });

  it('a flag without its value, a bad boolean or a bad --format are flag errors too', () => {
    expect(failure(['container', 'create', '--name'])).toMatchObject({ message: "flag needs an argument: --name\nSee 'nsnet container create --help'.", exitCode: 125 });
    expect(failure(['network', 'create', '-o'])).toMatchObject({ message: "flag needs an argument: 'o' in -o\nSee 'nsnet network create --help'.", exitCode: 125 });
    expect(failure(['network', 'create', '--internal=maybe', 'n']).exitCode).toBe(125);
    expect(failure(['--format', 'yaml', 'network', 'ls']).exitCode).toBe(125);
  });

  it('repeated flags keep every value in order; a single-valued flag keeps the last', () => {
    const cl = run(['network', 'create', '-o', 'a=1', '-o', 'b=2', '--opt=c=3', '--subnet', '10.1.0.0/24', '--subnet', '10.2.0.0/24', '-d', 'x', '--driver', 'bridge', 'n']);
    expect(cl.command).toBe('network create');
    expect(cl.args).toEqual(['n']);
    expect(cl.flags.list('opt')).toEqual(['a=1', 'b=2', 'c=3']);
    expect(cl.flags.list('subnet')).toEqual(['10.1.0.0/24', '10.2.0.0/24']);
    expect(cl.flags.string('driver')).toBe('bridge');
  });

  it('booleans: short groups, --flag=false, and absent', () => {
    const cl = run(['container', 'ls', '-aq']);
    expect([cl.flags.bool('all'), cl.flags.bool('quiet'), cl.flags.bool('no-trunc')]).toEqual([true, true, false]);
    const v4 = run(['network', 'create', '--ipv4=false', '--internal', 'n']);
    expect([v4.flags.string('ipv4'), v4.flags.bool('ipv4'), v4.flags.bool('internal')]).toEqual(['false', false, true]);
    expect(run(['network', 'create', 'n']).flags.string('ipv4')).toBeUndefined();
  });

  it('global options go before the command, or after it', () => {
    const before = run(['--local', '--data-dir', '/tmp/d', '--bridge-name', 'br0', '--format', 'json', 'network', 'ls']);
    expect(before).toMatchObject({ command: 'network ls', local: true, json: true });
    expect(before.flags.string('data-dir')).toBe('/tmp/d');
    expect(before.flags.string('bridge-name')).toBe('br0');
    expect(run(['network', 'ls', '--format', 'json', '--local'])).toMatchObject({ json: true, local: true });
    expect(run(['network', 'ls'])).toMatchObject({ json: false, local: false });
  });
});

describe('socket', () => {
  it('-H unix://PATH, -H PATH, --socket, NSNET_HOST, NSNET_SOCKET, then the default, in that order', () => {
    const env = { NSNET_HOST: 'unix:///env/host.sock', NSNET_SOCKET: '/env/socket.sock' };
    expect(run(['-H', 'unix:///x', '--socket', '/s', 'network', 'ls'], env).socket).toBe('/x');
    expect(run(['--host', '/bare.sock', 'network', 'ls'], env).socket).toBe('/bare.sock');
    expect(run(['network', 'ls', '-H', 'unix:///after'], env).socket).toBe('/after');
    expect(run(['--socket', '/s', 'network', 'ls'], env).socket).toBe('/s');
    expect(run(['network', 'ls'], env).socket).toBe('/env/host.sock');
    expect(run(['network', 'ls'], { NSNET_HOST: '/env/bare.sock' }).socket).toBe('/env/bare.sock');
    expect(run(['network', 'ls'], { NSNET_SOCKET: '/env/socket.sock' }).socket).toBe('/env/socket.sock');
    expect(run(['network', 'ls']).socket).toBe('/run/nsnet.sock');
  });

  it('the daemon takes the same socket options', () => {
    expect(run(['daemon', '-H', 'unix:///d.sock', '--data-dir', '/d', '--bridge-subnet', '10.9.0.0/24']).socket).toBe('/d.sock');
    expect(run(['daemon', '--socket', '/d.sock']).socket).toBe('/d.sock');
  });

  it('the daemon\'s cluster flags: --cluster-store, --advertise-addr, --cluster-lease-ttl', () => {
    const cl = run(['daemon', '--cluster-store', 'etcd://10.0.0.5:2379', '--advertise-addr', '10.0.0.11', '--cluster-lease-ttl', '5']);
    expect([cl.flags.string('cluster-store'), cl.flags.string('advertise-addr'), cl.flags.string('cluster-lease-ttl')]).toEqual(['etcd://10.0.0.5:2379', '10.0.0.11', '5']);
    expect(help(['daemon', '--help']).text).toContain('--cluster-store etcd://HOST:PORT');
  });

  it('--default-address-pool: dockerd\'s base=CIDR,size=N, repeatable, malformed values refused as flag errors', () => {
    const cl = run(['daemon', '--default-address-pool', 'base=10.49.0.0/16,size=24', '--default-address-pool', 'size=26,base=fd49::/48']);
    expect(cl.flags.list('default-address-pool').map(parseAddressPool)).toEqual([{ base: '10.49.0.0/16', size: 24 }, { base: 'fd49::/48', size: 26 }]);
    for (const bad of ['10.49.0.0/16', 'base=10.49.0.0/16', 'base=10.49.0.0/16,size=x', 'base=10.49.0.0/16,size=24,extra=1']) {
      expect(() => parseAddressPool(bad)).toThrow(expect.objectContaining({ exitCode: 125, message: expect.stringContaining('invalid default address pool') }));
    }
  });

  it('a host that is not a unix socket is refused', () => {
    expect(failure(['-H', 'tcp://1.2.3.4:2375', 'network', 'ls']).exitCode).toBe(125);
    expect(failure(['network', 'ls'], { NSNET_HOST: 'tcp://x' }).message).toMatch(/NSNET_HOST/);
  });
});

describe('commands and arguments', () => {
  it('exec passes everything after -- through untouched', () => {
    const cl = run(['--socket', '/s', 'exec', 'c', '--', 'ip', '-br', 'addr', '--help', '--', 'x']);
    expect(cl).toMatchObject({ command: 'exec', args: ['c'], rest: ['ip', '-br', 'addr', '--help', '--', 'x'] });
    expect(run(['exec', 'c', '--', 'ip', 'addr']).rest).toEqual(['ip', 'addr']);
    expect(failure(['exec', 'c']).exitCode).toBe(2);
    expect(failure(['exec', 'c', 'ip', 'addr']).message).toMatch(/^"nsnet exec" requires exactly 1 argument and a command after '--'\./);
    expect(failure(['exec', '--', 'ip']).exitCode).toBe(2);
  });

  it("container create: options end at the image, the rest is the container's command", () => {
    const cl = run(['container', 'create', '--name', 'c', '--network', 'n', 'img', 'sh', '-c', 'echo --name']);
    expect(cl.args).toEqual(['img', 'sh', '-c', 'echo --name']);
    expect(cl.flags.string('name')).toBe('c');
    expect(run(['container', 'create']).args).toEqual([]);
  });

  it('a dash-led name after -- is an argument', () => {
    expect(run(['network', 'rm', 'a', '--', '-odd']).args).toEqual(['a', '-odd']);
  });

  it('aliases resolve to the canonical command', () => {
    expect(run(['ps', '-a']).command).toBe('container ls');
    expect(run(['container', 'ps']).command).toBe('container ls');
    expect(run(['network', 'list']).command).toBe('network ls');
    expect(run(['network', 'remove', 'n']).command).toBe('network rm');
    expect(run(['container', 'remove', '-f', 'c']).flags.bool('force')).toBe(true);
  });

  it('unknown commands and wrong argument counts are usage errors (exit 2)', () => {
    expect(failure(['bogus'])).toMatchObject({ message: "nsnet: 'bogus' is not an nsnet command.\nSee 'nsnet --help'.", exitCode: 2 });
    expect(failure(['network', 'bogus'])).toMatchObject({ message: "nsnet network: 'bogus' is not an nsnet network command.\nSee 'nsnet network --help'.", exitCode: 2 });
    expect(failure(['network create', 'n']).exitCode).toBe(2);
    expect(failure(['constructor']).exitCode).toBe(2);
    const e = failure(['network', 'create']);
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(/^"nsnet network create" requires exactly 1 argument\.\nSee 'nsnet network create --help'\.\n\nUsage: {2}nsnet network create \[OPTIONS\] NETWORK\n/);
    expect(failure(['network', 'connect', 'n']).message).toMatch(/requires exactly 2 arguments/);
    expect(failure(['network', 'ls', 'extra']).message).toMatch(/"nsnet network ls" accepts no arguments/);
    expect(failure(['container', 'start']).message).toMatch(/requires at least 1 argument/);
  });
});

describe('help', () => {
  it.each(COMMANDS)('nsnet %s --help prints its usage, summary and options, exit 0', (command) => {
    for (const flag of ['--help', '-h']) {
      const h = help([...command.split(' '), flag]);
      expect(h.exitCode).toBe(0);
      expect(h.text).toMatch(new RegExp(`^Usage: {2}nsnet ${command} .+\n\n\\S.+\n`));
      expect(h.text).toContain('\nOptions:\n');
      expect(h.text).toContain('-h, --help');
    }
  });

  it('per-command help lists that command\'s own options', () => {
    const h = help(['network', 'create', '--help']).text;
    expect(h).toMatch(/^ {2}-o, --opt key=value +Driver option \(repeatable\)$/m);
    expect(h).toMatch(/^ {6}--subnet CIDR +/m);
    expect(help(['ps', '--help']).text).toMatch(/^Usage: {2}nsnet container ls \[OPTIONS\]\n[^]*Aliases:[^]*nsnet ps/);
    expect(help(['daemon', '--help']).text).toContain('--bridge-subnet CIDR');
    // Help wins over missing arguments.
    expect(help(['network', 'connect', '-h']).exitCode).toBe(0);
  });

  it('nsnet --help lists the commands and global options; bare nsnet prints it with exit 2', () => {
    const h = help(['--help']);
    expect(h.exitCode).toBe(0);
    expect(h.text).toMatch(/^Usage: {2}nsnet \[OPTIONS\] COMMAND\n/);
    for (const c of ['daemon', 'network', 'container', 'exec', 'ps']) expect(h.text).toMatch(new RegExp(`^ {2}${c} +\\S`, 'm'));
    for (const o of ['-H, --host unix://PATH', '--socket PATH', '--local', '--data-dir DIR', '--format json|table']) expect(h.text).toContain(o);
    expect(help([])).toMatchObject({ exitCode: 2, text: h.text });
  });

  it('nsnet network --help lists the network subcommands', () => {
    for (const argv of [['network', '--help'], ['--help', 'network'], ['network', '-h']]) {
      const h = help(argv);
      expect(h.exitCode).toBe(0);
      expect(h.text).toMatch(/^Usage: {2}nsnet network COMMAND\n/);
      for (const c of ['create', 'ls', 'inspect', 'rm', 'connect', 'disconnect', 'prune']) expect(h.text).toMatch(new RegExp(`^ {2}${c} +\\S`, 'm'));
    }
    expect(help(['container', '--help']).text).toMatch(/^ {2}restart +\S/m);
    expect(help(['network']).exitCode).toBe(2);
  });
});

describe('main', () => {
  it('prints help on stdout and returns its exit code; a bad flag rejects before any connection', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      expect(await main(['network', 'create', '--help'], {})).toBe(0);
      expect(log).toHaveBeenCalledWith(expect.stringMatching(/^Usage: {2}nsnet network create /));
      expect(await main([], {})).toBe(2);
    } finally {
      log.mockRestore();
    }
    await expect(main(['--socket', '/nonexistent/nsnet.sock', 'network', 'ls', '--foo'], {})).rejects.toMatchObject({ exitCode: 125 });
  });
});

describe('startup cost', () => {
  // Follows static (non-type) imports: what every client run loads before it
  // can send a request. The daemon, the API server, sqlite and the addon must
  // come in only through `await import(...)`.
  it('the client path imports only src/cli, src/daemon/config.ts and node: builtins', () => {
    const root = join(dirname(fileURLToPath(import.meta.url)), '..');
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, 'utf8');
      for (const [, spec] of source.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^'"]*?\sfrom\s+)?'([^']+)'/gm)) {
        if (spec!.startsWith('.')) visit(join(dirname(file), spec!.replace(/\.js$/, '.ts')));
        else seen.add(spec!);
      }
    };
    visit(join(root, 'src/cli/main.ts'));
    const loaded = [...seen].map((f) => (f.startsWith('/') ? relative(root, f) : f)).sort();
    expect(loaded).toEqual(['node:net', 'node:util', 'src/cli/args.ts', 'src/cli/client.ts', 'src/cli/format.ts', 'src/cli/http1.ts', 'src/cli/main.ts', 'src/daemon/config.ts']);
  });
});

describe('the CLI\'s HTTP/1.1 reader', () => {
  it('reads Content-Length and chunked bodies, and refuses a malformed answer', async () => {
    const { parse } = await import('../src/cli/http1.js');
    const cl = parse(Buffer.from('HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"message":"x"}'));
    expect([cl.status, cl.headers['content-type'], cl.body.toString()]).toEqual([404, 'application/json', '{"message":"x"}']);
    const ch = parse(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n'));
    expect([ch.status, ch.body.toString()]).toEqual([200, 'abcde']);
    expect(() => parse(Buffer.from('garbage'))).toThrow(/malformed/);
    expect(() => parse(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab'))).toThrow();
  });
});
