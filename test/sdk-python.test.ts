// The Docker SDK for Python's network integration cases (docker-py 5.0.3,
// ported under test/sdk/python) run with pytest against a real `nsnet daemon`.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownershipFor } from '../src/driver-api/ownership.js';
import { releaseForwardingClaims } from '../src/firewall/firewall.js';
import { cleanupDaemonLeftovers } from './api-support.js';
import { startDaemonChild, stopDaemonChild, type DaemonChild } from './chaos-support.js';
import { gate, tempDir, uniq } from './helpers.js';

/** A Python with Debian's python3-docker and python3-pytest (pyenv shims may shadow /usr/bin/python3). */
function findPython(): string | undefined {
  for (const py of [process.env['NSNET_PYTHON'], '/usr/bin/python3', 'python3']) {
    if (py && spawnSync(py, ['-c', 'import docker, pytest'], { stdio: 'ignore' }).status === 0) return py;
  }
  return undefined;
}

const python = findPython();
const why = !gate.ok ? gate.why : python ? '' : '(needs python3-docker and python3-pytest: apt-get install python3-docker python3-pytest)';

describe.skipIf(!gate.ok || !python)(`docker-py network suite against nsnet daemon ${why}`, () => {
  const dir = tempDir('sdk-py');
  const socket = `${dir.path}/nsnet.sock`;
  const dataDir = `${dir.path}/data`;
  const bridge = uniq('py');
  let daemon: DaemonChild | undefined;

  beforeAll(async () => {
    // Networks created without a subnet get one from 10.51/16; the suite's own subnets are 10.49/16, 10.50/16, fd49:389::/64.
    daemon = await startDaemonChild(['--data-dir', dataDir, '--bridge-name', bridge, '--bridge-subnet', '10.52.0.0/24', '--default-address-pool', 'base=10.51.0.0/16,size=24'], socket);
  });

  afterAll(async () => {
    if (daemon) await stopDaemonChild(daemon, 'SIGTERM');
    cleanupDaemonLeftovers(dataDir, [bridge]);
    await releaseForwardingClaims(ownershipFor(dataDir).tag);
    dir.remove();
  });

  it('tests/integration/api_network_test.py: 21 passed, 4 skipped (exec, swarm), none failed; nothing left on the daemon', async () => {
    const r = spawnSync(python!, ['-m', 'pytest', '-p', 'no:cacheprovider', '-q', '-rs', '-W', 'ignore::DeprecationWarning', 'test_api_network.py'], {
      cwd: 'test/sdk/python', encoding: 'utf8', timeout: 50_000,
      env: { ...process.env, DOCKER_HOST: `unix://${socket}`, PYTHONDONTWRITEBYTECODE: '1' },
    });
    const summary = r.stdout.trim().split('\n').pop() ?? '';
    const count = (what: string) => Number(new RegExp(`(\\d+) ${what}`).exec(summary)?.[1] ?? 0);
    expect({ failed: count('failed'), errors: count('error'), passed: count('passed'), skipped: count('skipped') }, r.stdout + r.stderr)
      .toEqual({ failed: 0, errors: 0, passed: 21, skipped: 4 });
    // The suite's teardowns removed what it made.
    const docker = daemon!.docker;
    expect(await docker.listContainers({ all: true })).toEqual([]);
    expect((await docker.listNetworks()).map((n) => n.Name).sort()).toEqual(['bridge', 'host', 'none']);
  });
});
