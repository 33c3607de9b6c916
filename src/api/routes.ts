// The Docker Engine API subset nsnet serves: system, networks, and the
// networking part of containers.
import { availableParallelism, hostname, machine, release, totalmem } from 'node:os';
import { compareCreated, type Daemon, type ContainerCreateRequest } from '../daemon/daemon.js';
import { WAIT_CONDITIONS, type WaitCondition } from '../daemon/daemon.js';
import { EVENT_FILTERS, eventLine, parseEventTime } from '../daemon/events.js';
import { filterNetworks, NETWORK_FILTERS, PRUNE_FILTERS, type NetworkCreateRequest } from '../daemon/networks.js';
import { parseFilters } from '../daemon/filters.js';
import { CONTAINER_FILTERS, filterContainers } from '../daemon/containers-filter.js';
import type { EndpointSettings } from '../daemon/types.js';
import { InvalidInputError, NotFoundError } from '../errors.js';
import { API_VERSION, MIN_API_VERSION, Router, type ApiRequest } from './router.js';
import { containerCreate, execCreate, execStart, networkConnect, networkCreate, networkDisconnect } from './schemas.js';
import { frame, type ExecCreateRequest } from '../daemon/exec.js';
import { swarmRoutes } from './swarm.js';
import { bodyValidator, boolQuery as bool, intQuery } from './validate.js';
import { containerJson, containerSummary, networkResource } from './views.js';

export const VERSION = '0.1.0';

// Compiled once: the schemas are fixed.
const checks = {
  networkCreate: { body: bodyValidator(networkCreate) },
  networkConnect: { body: bodyValidator(networkConnect) },
  networkDisconnect: { body: bodyValidator(networkDisconnect) },
  containerCreate: { body: bodyValidator(containerCreate) },
  execCreate: { body: bodyValidator(execCreate) },
  execStart: { body: bodyValidator(execStart) },
};

/** The body after its route's check: an object of the schema's shape. */
const body = <T>(req: ApiRequest): T => req.body as T;

export function buildRouter(d: Daemon): Router {
  const r = new Router();
  const c = d.controller;
  const owner = (sandboxId: string) => {
    const sb = c.sandbox(sandboxId);
    const rec = sb ? d.containers.get(sb.containerId) : undefined;
    return rec ? { id: rec.Id, name: rec.Name.slice(1) } : sb ? { id: sb.containerId, name: sb.containerId } : undefined;
  };

  r.on('GET', '/_ping', () => ({ status: 200, text: 'OK', headers: { 'Cache-Control': 'no-cache, no-store, must-revalidate', Pragma: 'no-cache' } }));
  r.on('GET', '/version', () => ({
    status: 200,
    body: {
      Platform: { Name: 'nsnet' },
      Components: [{ Name: 'nsnet', Version: VERSION, Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION } }],
      Version: VERSION, ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, GitCommit: '', GoVersion: process.version,
      Os: 'linux', Arch: process.arch === 'x64' ? 'amd64' : process.arch, KernelVersion: release(), BuildTime: '',
    },
  }));
  r.on('GET', '/info', () => ({
    status: 200,
    body: {
      ID: c.marks().tag, Containers: d.containers.size,
      ContainersRunning: [...d.containers.values()].filter((x) => x.State.Running && !x.State.Paused).length,
      ContainersPaused: [...d.containers.values()].filter((x) => x.State.Paused).length, ContainersStopped: [...d.containers.values()].filter((x) => !x.State.Running).length,
      // As dockerd reports them: uname's machine, the CPUs and memory of the host, its hostname.
      Images: 0, Driver: 'nsnet', Name: hostname(), ServerVersion: VERSION, OperatingSystem: 'linux', OSType: 'linux',
      Architecture: machine(), KernelVersion: release(), NCPU: availableParallelism(), MemTotal: totalmem(), DockerRootDir: d.config.dataDir,
      Plugins: { Network: [...c.driverTypes()], Volume: [], Authorization: null, Log: [] }, Swarm: { LocalNodeState: 'inactive' },
      SecurityOptions: [], Warnings: null, Debug: false,
      // The pre-swarm cluster fields (dockerd's --cluster-store / --cluster-advertise).
      ClusterStore: d.config.clusterStore ?? '', ClusterAdvertise: d.config.advertiseAddress ?? '',
    },
  }));

  // ---- networks ----
  r.on('GET', '/networks', (req) => {
    const f = parseFilters(req.query.get('filters'), NETWORK_FILTERS);
    return { status: 200, body: filterNetworks(c, f).map((n) => networkResource(c, n, undefined)) };
  });
  r.on('GET', '/networks/{id}', (_req, [id]) => {
    const info = c.network(id!).info();
    return { status: 200, body: networkResource(c, info, owner, d.cluster?.peersOf(info.id)) };
  });
  r.on('POST', '/networks/create', async (req) => {
    const n = await d.createNetwork(body<NetworkCreateRequest>(req));
    return { status: 201, body: { Id: n.id, Warning: '' } };
  }, checks.networkCreate);
  r.on('DELETE', '/networks/{id}', async (_req, [id]) => {
    await d.removeNetwork(id!);
    return { status: 204 };
  });
  r.on('POST', '/networks/{id}/connect', async (req, [id]) => {
    const b = body<{ Container?: string; EndpointConfig?: Partial<EndpointSettings> | null }>(req);
    if (!b.Container) throw new InvalidInputError('container is required');
    await d.connect(id!, b.Container, b.EndpointConfig ?? {});
    return { status: 200 };
  }, checks.networkConnect);
  r.on('POST', '/networks/{id}/disconnect', async (req, [id]) => {
    const b = body<{ Container?: string; Force?: boolean }>(req);
    if (!b.Container) throw new InvalidInputError('container is required');
    await d.disconnect(id!, b.Container, !!b.Force);
    return { status: 200 };
  }, checks.networkDisconnect);
  r.on('POST', '/networks/prune', async (req) => {
    const f = parseFilters(req.query.get('filters'), PRUNE_FILTERS);
    const deleted = await d.pruneNetworks(f);
    return { status: 200, body: { NetworksDeleted: deleted } };
  });

  // ---- containers (networking only) ----
  r.on('POST', '/containers/create', (req) => {
    const warnings: string[] = [];
    const rec = d.createContainer(req.query.get('name') || undefined, body<ContainerCreateRequest>(req), { version: req.version, warnings });
    return { status: 201, body: { Id: rec.Id, Warnings: warnings } };
  }, checks.containerCreate);
  r.on('GET', '/containers/json', (req) => {
    const f = parseFilters(req.query.get('filters'), CONTAINER_FILTERS);
    // The query's own before/since (ListOptions.Before/Since, what docker-py sends) as their filters.
    for (const k of ['before', 'since'] as const) {
      const v = req.query.get(k);
      if (v && !f.get(k)?.length) f.set(k, [v]);
    }
    const limit = intQuery(req.query, 'limit');
    const list = filterContainers([...d.containers.values()], f, bool(req.query, 'all') || (limit ?? 0) > 0)
      .sort((a, b) => compareCreated(b, a));
    return { status: 200, body: (limit !== undefined && limit > 0 ? list.slice(0, limit) : list).map(containerSummary) };
  });
  r.on('GET', '/containers/{id}/json', (_req, [id]) => ({ status: 200, body: containerJson(d, d.container(id!)) }));
  // What needs a process or a filesystem: the container is found (404 if not), then 501, so a client
  // does not read a missing route (404) as a missing container.
  for (const [method, what] of [['GET', 'stats'], ['GET', 'top'], ['GET', 'changes'], ['GET', 'export'], ['POST', 'update'], ['POST', 'attach'],
    ['GET', 'attach/ws'], ['POST', 'resize'], ['GET', 'archive'], ['PUT', 'archive']] as const) {
    r.on(method, `/containers/{id}/${what}`, (_req, [id]) => {
      d.container(id!);
      return { status: 501, body: { message: `nsnet containers are network sandboxes without a process or filesystem: ${what} is not supported` } };
    });
  }
  r.on('POST', '/containers/{id}/start', async (_req, [id]) => {
    const was = d.container(id!).State.Running;
    await d.startContainer(id!);
    return { status: was ? 304 : 204 };
  });
  r.on('POST', '/containers/{id}/stop', async (req, [id]) => {
    intQuery(req.query, 't'); // no process to wait for, but a malformed timeout is still the client's error
    return { status: (await d.stopContainer(id!)) ? 204 : 304 };
  });
  r.on('POST', '/containers/{id}/restart', async (req, [id]) => {
    intQuery(req.query, 't');
    await d.restartContainer(id!);
    return { status: 204 };
  });
  r.on('POST', '/containers/{id}/kill', async (req, [id]) => {
    await d.killContainer(id!, req.query.get('signal') ?? '');
    return { status: 204 };
  });
  r.on('POST', '/containers/{id}/pause', async (_req, [id]) => {
    await d.pauseContainer(id!, true);
    return { status: 204 };
  });
  r.on('POST', '/containers/{id}/unpause', async (_req, [id]) => {
    await d.pauseContainer(id!, false);
    return { status: 204 };
  });
  r.on('POST', '/containers/{id}/wait', (req, [id]) => {
    const condition = req.query.get('condition') || 'not-running';
    if (!(WAIT_CONDITIONS as readonly string[]).includes(condition)) throw new InvalidInputError(`invalid condition: "${condition}"`);
    const w = d.waitContainer(id!, condition as WaitCondition);
    // As dockerd: the head goes at once (the client knows the wait has begun), the body when the condition is met.
    return {
      status: 200,
      attach: {
        contentType: 'application/json',
        run: (write, end) => {
          void w.done.then((code) => { write(Buffer.from(`${JSON.stringify({ StatusCode: code })}\n`)); end(); });
          return w.cancel;
        },
      },
    };
  });
  // A container's output: there is no process of nsnet's, so there is none; `follow` holds the stream until the container stops.
  r.on('GET', '/containers/{id}/logs', (req, [id]) => {
    if (!bool(req.query, 'stdout') && !bool(req.query, 'stderr')) throw new InvalidInputError('Bad parameters: you must choose at least one stream');
    const w = bool(req.query, 'follow') ? d.waitContainer(id!, 'not-running') : undefined;
    if (!w) d.container(id!);
    return {
      status: 200,
      attach: {
        contentType: 'application/vnd.docker.multiplexed-stream',
        run: (_write, end) => {
          if (!w) return end();
          void w.done.then(end);
          return w.cancel;
        },
      },
    };
  });
  r.on('POST', '/containers/prune', async (req) => {
    const f = parseFilters(req.query.get('filters'), PRUNE_FILTERS);
    const deleted = await d.pruneContainers(f);
    return { status: 200, body: { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: 0 } };
  });
  r.on('POST', '/containers/{id}/rename', async (req, [id]) => {
    await d.renameContainer(id!, req.query.get('name') ?? '');
    return { status: 204 };
  });
  r.on('DELETE', '/containers/{id}', async (req, [id]) => {
    if (bool(req.query, 'link')) await d.removeLink(id!);
    else await d.removeContainer(id!, bool(req.query, 'force'));
    return { status: 204 };
  });
  // A link name (`docker rm --link /parent/alias`): the path holds its slashes.
  r.on('DELETE', '/containers/(.+/.+)', async (req, [name]) => {
    if (!bool(req.query, 'link')) throw new NotFoundError(`No such container: ${name}`);
    await d.removeLink(name!);
    return { status: 204 };
  });

  // ---- exec (networking-only: a host program in the container's network namespace; src/daemon/exec.ts) ----
  r.on('POST', '/containers/{id}/exec', (req, [id]) => {
    const x = d.execs.create(id!, body<ExecCreateRequest>(req));
    return { status: 201, body: { Id: x.id } };
  }, checks.execCreate);
  r.on('POST', '/exec/{id}/start', (req, [id]) => {
    const b = body<{ Detach?: boolean; Tty?: boolean }>(req);
    if (b.Tty) throw new InvalidInputError('nsnet exec has no TTY (networking-only exec)');
    const x = d.execs.get(id!);
    if (b.Detach) {
      const child = d.execs.start(x.id);
      child.stdout?.resume();
      child.stderr?.resume();
      return { status: 200 };
    }
    // Started before the head is sent, so a command that cannot start is an error response, not a broken stream.
    let end = () => {};
    let exited = false;
    const child = d.execs.start(x.id, () => { exited = true; end(); });
    return {
      status: 200,
      attach: {
        contentType: 'application/vnd.docker.multiplexed-stream',
        hijack: true,
        run: (write, close) => {
          end = close;
          child.stdout?.on('data', (c: Buffer) => { if (x.attachStdout) write(frame(1, c)); });
          child.stderr?.on('data', (c: Buffer) => { if (x.attachStderr) write(frame(2, c)); });
          if (exited) close();
        },
      },
    };
  }, checks.execStart);
  r.on('GET', '/exec/{id}/json', (_req, [id]) => {
    const x = d.execs.get(id!);
    return {
      status: 200,
      body: {
        ID: x.id, ContainerID: x.containerId, Running: x.running, ExitCode: x.exitCode, Pid: x.pid,
        OpenStdin: false, OpenStdout: x.attachStdout, OpenStderr: x.attachStderr, CanRemove: false, DetachKeys: '',
        ProcessConfig: { tty: false, entrypoint: x.cmd[0], arguments: x.cmd.slice(1), privileged: false, user: '' },
      },
    };
  });
  r.on('POST', '/exec/{id}/resize', () => ({ status: 200 }));
  // ---- events: the kept ones since `since`, then live ones until `until` or the client leaves ----
  r.on('GET', '/events', (req) => {
    const since = parseEventTime(req.query.get('since'), 'since');
    const until = parseEventTime(req.query.get('until'), 'until');
    if (since !== undefined && until !== undefined && until < since)
      throw new InvalidInputError(`\`since\` time (${req.query.get('since')}) cannot be after \`until\` time (${req.query.get('until')})`);
    const f = parseFilters(req.query.get('filters'), EVENT_FILTERS);
    return {
      status: 200,
      attach: {
        contentType: 'application/json',
        run: (write, end) => {
          const sub = d.events.subscribe(f, since, until, (e) => write(Buffer.from(eventLine(e))));
          for (const e of sub.past) write(Buffer.from(eventLine(e)));
          const left = until === undefined ? Infinity : until - Date.now();
          let timer: NodeJS.Timeout | undefined;
          const stop = () => { sub.unsubscribe(); clearTimeout(timer); };
          if (left <= 0) { stop(); end(); } else if (left !== Infinity) timer = setTimeout(() => { stop(); end(); }, Math.min(left, 2 ** 31 - 1));
          return stop;
        },
      },
    };
  });
  r.on('GET', '/images/{name}/json', (_req, [name]) => {
    throw new NotFoundError(`No such image: ${name}`);
  });
  swarmRoutes(r);
  return r;
}
