// Property tests: random and mutated payloads, query strings and paths at
// every route of an in-process daemon. Never a 500; a 4xx changes nothing:
// not the store, not what the API lists, not the kernel's links and
// namespaces, not the nft table.
//
// Safety: every string the fuzzer invents contains a space, so it can never
// be an interface name, an address or a prefix; valid payloads use bridge
// names from uniq() and subnets inside 10.45/16, the daemon's own range.
import { execFileSync, spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { internals } from '../src/controller/internals.js';
import { tableName } from '../src/firewall/ruleset.js';
import type { Kind } from '../src/store/store.js';
import { gate, uniq } from './helpers.js';
import { startTestDaemon, type TestDaemon } from './api-support.js';

const KINDS: Kind[] = ['network', 'endpoint', 'sandbox', 'cursor', 'container', 'meta'];
const OURS = /^(nt|nsn|br-)/;
const TIME_LIMIT_MS = 35_000;

describe.skipIf(!gate.ok)(`API fuzzing: never a 500, and a 4xx changes nothing ${gate.why}`, () => {
  let t: TestDaemon;
  let netName = '';
  const names = { running: uniq('fr'), stopped: uniq('fs') };

  beforeAll(async () => {
    t = await startTestDaemon('fuzz', '10.45');
    const n = await t.call('POST', '/networks/create', {
      Name: uniq('fn'), EnableIPv6: true, Options: { 'com.docker.network.bridge.name': uniq('fb') },
      IPAM: { Config: [{ Subnet: '10.45.1.0/24' }, { Subnet: 'fd45:1::/64' }] },
    });
    expect(n.status).toBe(201);
    netName = t.d.controller.network((n.body as { Id: string }).Id).name;
    expect((await t.call('POST', `/containers/create?name=${names.running}`, { HostConfig: { NetworkMode: netName } })).status).toBe(201);
    expect((await t.call('POST', `/containers/${names.running}/start`)).status).toBe(204);
    expect((await t.call('POST', `/containers/create?name=${names.stopped}`, {})).status).toBe(201);
  });
  afterAll(async () => { await t?.close(); });

  function snapshot(): string {
    const store = internals(t.d.controller).store;
    const rows = KINDS.map((k) => store.all<unknown>(k).map((r) => JSON.stringify(r)).sort());
    const listed = [t.d.controller.networks().map((n) => JSON.stringify(n.info())).sort(), [...t.d.containers.values()].map((c) => JSON.stringify(c)).sort()];
    const links = (JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as { ifname: string; master?: string }[])
      .filter((l) => OURS.test(l.ifname)).map((l) => `${l.ifname}@${l.master ?? ''}`).sort();
    const netns = (JSON.parse(execFileSync('ip', ['-j', 'netns', 'list'], { encoding: 'utf8' }) || '[]') as { name: string }[]).map((n) => n.name).sort();
    const nft = spawnSync('nft', ['list', 'table', 'inet', tableName(t.d.controller.marks().tag)], { encoding: 'utf8' }).stdout;
    return JSON.stringify({ rows, listed, links, netns, nft });
  }

  // ---- arbitraries ----------------------------------------------------------
  const spaced = fc.string({ maxLength: 12 }).map((s) => `${s} x`);
  const wrong: fc.Arbitrary<unknown> = fc.oneof(
    fc.constant(null), fc.integer(), fc.double({ noNaN: true }), fc.boolean(), spaced,
    fc.array(fc.oneof(fc.constant(null), fc.integer(), spaced), { maxLength: 3 }),
    fc.dictionary(spaced, fc.oneof(fc.constant(null), fc.integer(), fc.boolean(), spaced), { maxKeys: 3 }),
  );
  const bridgeName = fc.constant(null).map(() => uniq('fx'));
  const octet = fc.integer({ min: 2, max: 120 });
  const networkTerm = fc.oneof(fc.constant(null).map(() => netName), fc.constantFrom('bridge', 'host', 'none', 'default'), spaced);
  const containerTerm = fc.oneof(fc.constantFrom(names.running, names.stopped), spaced);

  const networkBody = fc.record({
    Name: fc.oneof(fc.constant(null).map(() => uniq('fz')), spaced, fc.constantFrom('bridge', 'none', '')),
    Driver: fc.constantFrom('bridge', '', 'null', 'nosuch'),
    EnableIPv6: fc.boolean(),
    Internal: fc.boolean(),
    Labels: fc.dictionary(fc.constantFrom('a', 'b', 'app'), fc.constantFrom('1', 'x')),
    Options: fc.record({ 'com.docker.network.bridge.name': bridgeName, 'com.docker.network.bridge.enable_icc': fc.constantFrom('true', 'false') }),
    IPAM: fc.record({
      Config: fc.array(fc.record({ Subnet: octet.map((o) => `10.45.${o}.0/24`), Gateway: octet.map((o) => `10.45.${o}.1`) }, { requiredKeys: ['Subnet'] }), { maxLength: 2 }),
    }),
  }, { requiredKeys: ['Name'] });

  const endpointConfig = fc.record({
    Aliases: fc.array(fc.constantFrom('web', 'db'), { maxLength: 2 }),
    IPAMConfig: fc.record({ IPv4Address: fc.integer({ min: 2, max: 250 }).map((o) => `10.45.1.${o}`), IPv6Address: fc.constant('fd45:1::99') }, { requiredKeys: [] }),
    MacAddress: fc.constantFrom('02:42:0a:2d:01:63', 'zz'),
    DriverOpts: fc.dictionary(fc.constantFrom('k'), fc.constantFrom('v')),
  }, { requiredKeys: [] });

  const containerBody = fc.record({
    Image: fc.constant('img'),
    Cmd: fc.oneof(fc.constant(['sh']), fc.constant('sh'), fc.constant(null)),
    Labels: fc.dictionary(fc.constantFrom('a', 'b'), fc.constantFrom('1')),
    HostConfig: fc.record({
      NetworkMode: fc.oneof(fc.constant(null).map(() => netName), fc.constantFrom('bridge', 'none', 'host', 'default', `container:${names.running}`)),
      PortBindings: fc.dictionary(fc.constantFrom('80/tcp', '53/udp', '81'), fc.array(fc.record({ HostIp: fc.constant('127.0.0.1'), HostPort: fc.integer({ min: 40000, max: 40050 }).map(String) }), { maxLength: 1 })),
      ExtraHosts: fc.array(fc.constantFrom('h:10.1.2.3', 'nocolon'), { maxLength: 1 }),
      Dns: fc.array(fc.constant('10.45.0.1'), { maxLength: 1 }),
    }, { requiredKeys: [] }),
    NetworkingConfig: fc.record({ EndpointsConfig: fc.dictionary(fc.constant(null).map(() => netName), endpointConfig, { maxKeys: 1 }) }),
  }, { requiredKeys: [] });

  /** Replaces one value somewhere in `v` (or `v` itself) with a wrong one. */
  function mutate(v: unknown, pick: number, replacement: unknown): unknown {
    const paths: (string | number)[][] = [[]];
    const walk = (x: unknown, p: (string | number)[]) => {
      if (x && typeof x === 'object') for (const [k, c] of Object.entries(x)) { const q = [...p, Array.isArray(x) ? Number(k) : k]; paths.push(q); walk(c, q); }
    };
    walk(v, []);
    const path = paths[pick % paths.length]!;
    if (!path.length) return replacement;
    const copy = structuredClone(v) as Record<string | number, unknown>;
    let at = copy;
    for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
    at[path[path.length - 1]!] = replacement;
    return copy;
  }
  const mutated = <T>(valid: fc.Arbitrary<T>) => fc.oneof(
    { weight: 1, arbitrary: valid as fc.Arbitrary<unknown> },
    { weight: 3, arbitrary: fc.tuple(valid, fc.nat(), wrong).map(([v, n, w]) => mutate(v, n, w)) },
    { weight: 1, arbitrary: wrong },
  );

  const filterValue = fc.oneof(
    fc.dictionary(fc.constantFrom('name', 'label', 'label!', 'until', 'id', 'driver', 'type', 'dangling', 'scope', 'status', 'network', 'bogus'),
      fc.oneof(fc.array(fc.constantFrom('a', 'app=1', '1h', '0', 'true', 'custom', 'running', '2026-01-01T00:00:00Z'), { maxLength: 2 }),
        fc.dictionary(fc.constantFrom('a', 'app', '10m'), fc.boolean()), wrong), { maxKeys: 2 }).map((o) => JSON.stringify(o)),
    spaced,
  );
  const query = fc.dictionary(fc.constantFrom('filters', 'all', 'force', 'name', 't', 'limit', 'signal', 'v', 'since', 'until', 'condition'),
    fc.oneof(filterValue, fc.constantFrom('1', 'true', 'no', '-3', '10', names.stopped), spaced), { maxKeys: 3 })
    .map((q) => new URLSearchParams(q as Record<string, string>).toString());
  const segment = fc.oneof(spaced.map(encodeURIComponent), fc.constantFrom('%zz', '%', '%E0%A4%A', '..', 'x'.repeat(300)));
  const version = fc.constantFrom('', '/v1.50', '/v1.24', '/v1.12', '/v9.99');

  type Req = { method: string; path: string; body?: unknown };
  const enc = encodeURIComponent;
  const request: fc.Arbitrary<Req> = fc.oneof(
    fc.tuple(query).map(([q]) => ({ method: 'GET', path: `/networks?${q}` })),
    fc.tuple(networkTerm).map(([n]) => ({ method: 'GET', path: `/networks/${enc(n)}` })),
    fc.tuple(mutated(networkBody)).map(([b]) => ({ method: 'POST', path: '/networks/create', body: b })),
    fc.tuple(networkTerm).map(([n]) => ({ method: 'DELETE', path: `/networks/${enc(n)}` })),
    fc.tuple(networkTerm, mutated(fc.record({ Container: containerTerm, EndpointConfig: endpointConfig }, { requiredKeys: ['Container'] })))
      .map(([n, b]) => ({ method: 'POST', path: `/networks/${enc(n)}/connect`, body: b })),
    fc.tuple(networkTerm, mutated(fc.record({ Container: containerTerm, Force: fc.boolean() }, { requiredKeys: ['Container'] })))
      .map(([n, b]) => ({ method: 'POST', path: `/networks/${enc(n)}/disconnect`, body: b })),
    fc.tuple(query).map(([q]) => ({ method: 'POST', path: `/networks/prune?${q}` })),
    fc.tuple(query, mutated(containerBody)).map(([q, b]) => ({ method: 'POST', path: `/containers/create?${q}`, body: b })),
    fc.tuple(query).map(([q]) => ({ method: 'GET', path: `/containers/json?${q}` })),
    fc.tuple(query).map(([q]) => ({ method: 'GET', path: `/events?${q}` })),
    fc.tuple(containerTerm, fc.constantFrom('json', 'start', 'stop', 'restart', 'kill', 'wait'), query)
      .map(([c, a, q]) => ({ method: a === 'json' ? 'GET' : 'POST', path: `/containers/${enc(c)}/${a}?${q}` })),
    fc.tuple(containerTerm, query).map(([c, q]) => ({ method: 'DELETE', path: `/containers/${enc(c)}?${q}` })),
    fc.tuple(fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'HEAD'), fc.constantFrom('/networks', '/containers', '/swarm', '/nodes', '/services', '/secrets', '/images', '/_ping', '/info', '/version', ''),
      fc.array(segment, { maxLength: 3 }), wrong).map(([m, p, segs, b]) => ({ method: m, path: [p, ...segs].join('/') || '/', body: b })),
  ).chain((r) => version.map((v) => ({ ...r, path: `${v}${r.path}` })));

  it('random and mutated requests at every route', async () => {
    let baseline = snapshot();
    const seen = new Map<number, number>();
    await fc.assert(fc.asyncProperty(request, async (r) => {
      const out = await t.call(r.method, r.path, r.body);
      seen.set(out.status, (seen.get(out.status) ?? 0) + 1);
      expect(out.status, `${r.method} ${r.path} ${JSON.stringify(r.body)} -> ${JSON.stringify(out.body)}`).not.toBe(500);
      if (out.status >= 400 && out.status < 500) {
        expect(snapshot(), `${r.method} ${r.path} ${JSON.stringify(r.body)} -> ${out.status} changed state`).toBe(baseline);
      } else {
        await t.d.controller.flush();
        baseline = snapshot();
      }
    }), { numRuns: 1500, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false });
    // The run reached both sides: refusals and requests that changed something.
    expect([...seen.keys()].some((s) => s >= 400 && s < 500)).toBe(true);
    expect([...seen.keys()].some((s) => s < 300)).toBe(true);
  }, TIME_LIMIT_MS + 30_000);
});
