// One test per observed API defect of issue 11, each turned into dockerd's
// behaviour: wrong JSON types, bad escapes, malformed filters, oversized
// bodies, leaked error text, swarm routes, network names, filters, and the
// endpoint settings SDKs read.
import { request, type ClientRequest, type Server } from 'node:http';
import { connect } from 'node:net';
import { availableParallelism, hostname, machine, totalmem } from 'node:os';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Router } from '../src/api/router.js';
import { MAX_BODY_BYTES, respond, TIMEOUTS } from '../src/api/server.js';
import { NO_SWARM, NOT_MANAGER } from '../src/api/swarm.js';
import { parseGoDuration, parseUntil } from '../src/daemon/until.js';
import { gate, rawRequest, uniq } from './helpers.js';
import { startTestDaemon, type TestDaemon } from './api-support.js';

const bridgeOpts = () => ({ 'com.docker.network.bridge.name': uniq('hb') });

describe('until: Go durations and dockerd timestamps', () => {
  const now = Date.UTC(2026, 0, 2, 12, 0, 0);
  it('durations: 1h30m, 10m, 90s, 1.5h, 300ms, -1h; "0" is a Unix time', () => {
    expect(parseGoDuration('1h30m')).toBe(5.4e6);
    expect(parseUntil('10m', now)).toBe(now - 6e5);
    expect(parseUntil('90s', now)).toBe(now - 9e4);
    expect(parseUntil('1.5h', now)).toBe(now - 5.4e6);
    expect(parseUntil('300ms', now)).toBe(now - 300);
    expect(parseUntil('-1h', now)).toBe(now + 3.6e6);
    expect(parseUntil('0', now)).toBe(0);
    expect(parseGoDuration('10')).toBeUndefined();
    expect(parseGoDuration('1d')).toBeUndefined();
  });
  it('timestamps: RFC 3339 with zone or fraction, Unix seconds with fraction, short date forms', () => {
    expect(parseUntil('2026-01-02T10:00:00Z', now)).toBe(Date.UTC(2026, 0, 2, 10));
    expect(parseUntil('2026-01-02T10:00:00.25+02:00', now)).toBe(Date.UTC(2026, 0, 2, 8) + 250);
    expect(parseUntil('1767355200', now)).toBe(1767355200000);
    expect(parseUntil('1767355200.5', now)).toBe(1767355200500);
    expect(parseUntil('2026-01-02', now)).toBe(new Date(2026, 0, 2).getTime());
    expect(parseUntil('2026-01-02T10', now)).toBe(new Date(2026, 0, 2, 10).getTime());
    expect(parseUntil('2026-01-02T10:30', now)).toBe(new Date(2026, 0, 2, 10, 30).getTime());
    expect(parseUntil('2026-01-02T10:30Z', now)).toBe(Date.UTC(2026, 0, 2, 10, 30));
    expect(() => parseUntil('yesterday', now)).toThrow('failed to parse value as time or duration: "yesterday"');
    expect(() => parseUntil('2026-13-02', now)).toThrow(/parsing time/);
  });
});

describe('respond: unexpected errors', () => {
  it('an unexpected internal error is a 500 with a generic message and an ID; the stack goes to stderr', async () => {
    const r = new Router().on('GET', '/boom', () => { throw new Error('secret detail /var/lib/x'); });
    const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const out = await respond(r, { method: 'GET', path: '/boom', query: new URLSearchParams(), body: undefined });
      expect(out.status).toBe(500);
      const msg = (out.body as { message: string }).message;
      expect(msg).toMatch(/^internal error \(id [0-9a-f]{12}\)$/);
      expect(JSON.stringify(out.body)).not.toContain('secret');
      const id = /id ([0-9a-f]+)/.exec(msg)![1]!;
      expect(String(log.mock.calls[0]?.[0])).toContain(id);
      expect(String(log.mock.calls[0]?.[1])).toMatch(/secret detail[\s\S]*at /);
    } finally {
      log.mockRestore();
    }
  });
});

describe.skipIf(!gate.ok)(`API hardening against an in-process daemon ${gate.why}`, () => {
  let t: TestDaemon;
  beforeAll(async () => { t = await startTestDaemon('hard', '10.46'); });
  afterAll(async () => { await t?.close(); });

  const msg = (o: { body?: unknown }) => (o.body as { message?: string } | undefined)?.message;
  const create = (body: Record<string, unknown>) => t.call('POST', '/v1.50/networks/create', body);

  it('container-wide MacAddress as moby\'s handleMACAddressBC; --link targets must exist; out-of-range HostPort, null endpoint config: 400', async () => {
    const inspect = async (id: string) => (await t.call('GET', `/containers/${id}/json`)).body as { Config: { MacAddress?: string }; NetworkSettings: { Networks: Record<string, { MacAddress: string }> } };
    // Below 1.44: the container-wide MAC goes to the network's endpoint, Config keeps it.
    const old = await t.call('POST', `/v1.41/containers/create?name=${uniq('m')}`, { Image: 'x', MacAddress: '02:42:ac:11:00:0a' });
    expect(old.status).toBe(201);
    const o = await inspect((old.body as { Id: string }).Id);
    expect([o.Config.MacAddress, o.NetworkSettings.Networks['bridge']!.MacAddress]).toEqual(['02:42:ac:11:00:0a', '02:42:ac:11:00:0a']);
    expect(msg(await t.call('POST', '/v1.41/containers/create', { Image: 'x', MacAddress: '02:42:ac:11:00:0a', HostConfig: { NetworkMode: 'host' } })))
      .toBe('conflicting options: mac-address and the network mode');
    // From 1.44: moved too, with dockerd's deprecation warning, and it must agree with the endpoint's.
    const now = await t.call('POST', `/containers/create?name=${uniq('m')}`, { Image: 'x', MacAddress: '02:42:ac:11:00:0b' });
    expect((now.body as { Warnings: string[] }).Warnings).toEqual(['The container-wide MacAddress field is now deprecated. It should be specified in EndpointsConfig instead.']);
    const n = await inspect((now.body as { Id: string }).Id);
    expect([n.Config.MacAddress, n.NetworkSettings.Networks['bridge']!.MacAddress]).toEqual([undefined, '02:42:ac:11:00:0b']);
    const clash = await t.call('POST', '/containers/create', { Image: 'x', MacAddress: '02:42:ac:11:00:0b', NetworkingConfig: { EndpointsConfig: { bridge: { MacAddress: '02:42:ac:11:00:0c' } } } });
    expect([clash.status, msg(clash)]).toEqual([400, 'the container-wide MAC address must match the endpoint-specific MAC address for the main network, or be left empty']);
    // Started, the endpoint has that MAC, and keeps it across a stop and a start.
    const started = (now.body as { Id: string }).Id;
    for (let i = 0; i < 2; i++) {
      expect((await t.call('POST', `/containers/${started}/start`)).status).toBe(204);
      expect((await inspect(started)).NetworkSettings.Networks['bridge']!.MacAddress).toBe('02:42:ac:11:00:0b');
      expect((await t.call('POST', `/containers/${started}/stop`)).status).toBe(204);
    }
    expect((await inspect(started)).NetworkSettings.Networks['bridge']).not.toHaveProperty('DesiredMacAddress');
    const link = await t.call('POST', '/containers/create', { Image: 'x', HostConfig: { Links: ['nosuchctr:db'] } });
    expect([link.status, msg(link)]).toEqual([400, 'could not get container for nosuchctr: No such container: nosuchctr']);
    // On a user network a link is only a resolver name: its target may come later, as with dockerd.
    const usr = (await create({ Name: uniq('ln'), Options: bridgeOpts(), IPAM: { Config: [{ Subnet: '10.46.8.0/24' }] } })).body as { Id: string };
    const usrName = t.d.controller.network(usr.Id).name;
    const later = await t.call('POST', '/containers/create', { Image: 'x', HostConfig: { NetworkMode: usrName, Links: ['notyet:db'] } });
    expect(later.status).toBe(201);
    await t.call('DELETE', `/containers/${(later.body as { Id: string }).Id}`);
    await t.call('DELETE', `/networks/${usr.Id}`);
    const port = await t.call('POST', '/containers/create', { Image: 'x', HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '99999' }] } } });
    expect([port.status, msg(port)]).toEqual([400, 'invalid port specification: "99999"']);
    const nil = await t.call('POST', '/containers/create', { Image: 'x', NetworkingConfig: { EndpointsConfig: { bridge: null } } });
    expect([nil.status, msg(nil)]).toEqual([400, 'invalid config for network bridge: EndpointsConfig is nil']);
    for (const id of [(old.body as { Id: string }).Id, (now.body as { Id: string }).Id]) await t.call('DELETE', `/containers/${id}`);
  });

  it('routes needing a process answer 501 for a container (404 if there is none); before/since as query parameters; connect to host is 400', async () => {
    const a = (await t.call('POST', `/containers/create?name=${uniq('p')}`, { Image: 'x' })).body as { Id: string };
    const b = (await t.call('POST', `/containers/create?name=${uniq('p')}`, { Image: 'x' })).body as { Id: string };
    for (const [method, what] of [['GET', 'stats'], ['GET', 'top'], ['GET', 'changes'], ['POST', 'update'], ['POST', 'attach']] as const) {
      expect([what, (await t.call(method, `/containers/${a.Id}/${what}`)).status]).toEqual([what, 501]);
      expect([what, (await t.call(method, `/containers/nosuchctr/${what}`)).status]).toEqual([what, 404]);
    }
    const ids = async (q: string) => ((await t.call('GET', `/containers/json?all=1&${q}`)).body as { Id: string }[]).map((x) => x.Id);
    expect(await ids(`before=${b.Id}`)).toContain(a.Id);
    expect(await ids(`before=${b.Id}`)).not.toContain(b.Id);
    expect(await ids(`since=${a.Id}`)).toEqual(expect.arrayContaining([b.Id]));
    expect(await ids(`since=${a.Id}`)).not.toContain(a.Id);
    expect((await t.call('GET', '/containers/json?before=nosuchctr')).status).toBe(404);
    expect((await t.call('GET', '/info')).body).toMatchObject({ Debug: false });
    const host = await t.call('POST', '/networks/host/connect', { Container: a.Id });
    expect([host.status, msg(host)]).toEqual([400, 'container cannot be disconnected from host network or connected to host network']);
    // A pattern a backtracking engine takes exponential time on answers at once (V8's linear engine takes over),
    // and RE2-only syntax is all there is: a backreference matches nothing, as dockerd's regexp would not compile it.
    const longName = `${'a'.repeat(40)}-x`;
    const c = (await t.call('POST', `/containers/create?name=${longName}`, { Image: 'x' })).body as { Id: string };
    const t0 = Date.now();
    const slow = await t.call('GET', `/containers/json?all=1&filters=${encodeURIComponent('{"name":["^(a+)+$"]}')}`);
    expect([slow.status, slow.body, Date.now() - t0 < 2000]).toEqual([200, [], true]);
    // What that engine does not take (the i flag, counted repeats) runs under a 100 ms budget: over it, refused, at once.
    for (const p of ['(?i)^(A+)+$', '^(a{1,9})+$']) {
      const t1 = Date.now();
      const over = await t.call('GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ name: [p] }))}`);
      expect([p, over.status, msg(over), Date.now() - t1 < 2000]).toEqual([p, 400, expect.stringContaining('takes more than 100 ms'), true]);
    }
    const names = async (p: string) => ((await t.call('GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ name: [p] }))}`)).body as { Names: string[] }[]).map((x) => x.Names[0]);
    expect(await names('^(a+)+-x$')).toEqual([`/${longName}`]);
    expect(await names('(?i)^A+-X$')).toEqual([`/${longName}`]);
    expect(await names('(a)\\1')).toEqual([]);
    for (const x of [a, b, c]) await t.call('DELETE', `/containers/${x.Id}`);
  });

  it('null struct fields are left unset, as Go decodes them (docker-py sends "IPRange": null for every unset pool field)', async () => {
    const name = uniq('h');
    const res = await create({
      Name: name, EnableIPv6: null, Internal: null, Labels: null, Options: bridgeOpts(),
      IPAM: { Driver: null, Config: [{ Subnet: '10.46.6.0/24', IPRange: null, Gateway: null, AuxiliaryAddresses: null }] },
    });
    expect(res.status).toBe(201);
    const info = await t.call('GET', `/networks/${name}`);
    expect(info.body).toMatchObject({ EnableIPv6: false, Internal: false, Labels: {}, IPAM: { Driver: 'default', Config: [{ Subnet: '10.46.6.0/24', Gateway: '10.46.6.1' }] } });
    expect((await t.call('DELETE', `/networks/${name}`)).status).toBe(204);
  });

  it('wrong JSON types are 400 with dockerd\'s wording, never taken as truthy', async () => {
    const before = t.d.controller.networks().length;
    const v6 = await create({ Name: uniq('h'), EnableIPv6: 'false', Options: bridgeOpts() });
    expect(v6.status).toBe(400);
    expect(msg(v6)).toBe('invalid JSON: json: cannot unmarshal string into Go struct field CreateRequest.EnableIPv6 of type bool');
    const cfg = await create({ Name: uniq('h'), IPAM: { Config: [null] } });
    expect([cfg.status, msg(cfg)]).toEqual([400, 'invalid JSON: json: cannot unmarshal null into Go struct field CreateRequest.IPAM.Config[0] of type network.IPAMConfig']);
    const labels = await create({ Name: uniq('h'), Labels: ['a'] });
    expect([labels.status, msg(labels)]).toEqual([400, 'invalid JSON: json: cannot unmarshal array into Go struct field CreateRequest.Labels of type map[string]string']);
    const root = await create(['x'] as unknown as Record<string, unknown>);
    expect([root.status, msg(root)]).toEqual([400, 'invalid JSON: json: cannot unmarshal array into Go value of type network.CreateRequest']);
    const internal = await create({ Name: uniq('h'), Internal: 1 });
    expect(internal.status).toBe(400);
    expect(t.d.controller.networks().length).toBe(before);
  });

  it('container create: non-object PortBindings, wrong Cmd, wrong EndpointsConfig are 400 and create nothing', async () => {
    const before = t.d.containers.size;
    const pb = await t.call('POST', `/containers/create?name=${uniq('c')}`, { HostConfig: { PortBindings: 'x' } });
    expect([pb.status, msg(pb)]).toEqual([400, 'invalid JSON: json: cannot unmarshal string into Go struct field CreateRequest.HostConfig.PortBindings of type nat.PortMap']);
    expect((await t.call('POST', '/containers/create', { HostConfig: { PortBindings: { '80/tcp': [{ HostPort: 80 }] } } })).status).toBe(400);
    expect((await t.call('POST', '/containers/create', { Cmd: [1] })).status).toBe(400);
    expect((await t.call('POST', '/containers/create', { NetworkingConfig: { EndpointsConfig: { bridge: { Aliases: 'a' } } } })).status).toBe(400);
    expect((await t.call('POST', '/containers/create', { HostConfig: { ExtraHosts: ['nocolon'] } })).status).toBe(400);
    const mac = await t.call('POST', '/containers/create', { NetworkingConfig: { EndpointsConfig: { bridge: { MacAddress: 'zz' } } } });
    expect([mac.status, msg(mac)]).toEqual([400, 'invalid MAC address zz']);
    expect(t.d.containers.size).toBe(before);
  });

  it('filters: malformed or null values are 400 "invalid filter"; unknown keys are "invalid filter \'x\'"', async () => {
    for (const f of ['{"name":null}', '{"name":"x"}', '{"name":{"x":"yes"}}', '[1]', 'nope', '{"name":[1]}']) {
      const out = await t.call('GET', `/networks?filters=${encodeURIComponent(f)}`);
      expect([f, out.status, msg(out)]).toEqual([f, 400, 'invalid filter']);
    }
    const unknown = await t.call('GET', `/networks?filters=${encodeURIComponent('{"x":{"a":true}}')}`);
    expect([unknown.status, msg(unknown)]).toEqual([400, "invalid filter 'x'"]);
    const badType = await t.call('GET', `/networks?filters=${encodeURIComponent('{"type":["nope"]}')}`);
    expect([badType.status, msg(badType)]).toEqual([400, "invalid filter 'type=nope'"]);
    const prune = await t.call('POST', `/networks/prune?filters=${encodeURIComponent('{"until":["soon"]}')}`);
    expect([prune.status, msg(prune)]).toEqual([400, 'failed to parse value as time or duration: "soon"']);
    const twice = await t.call('POST', `/networks/prune?filters=${encodeURIComponent('{"until":["1h","2h"]}')}`);
    expect([twice.status, msg(twice)]).toEqual([400, 'more than one until filter specified']);
    const psBad = await t.call('GET', `/containers/json?filters=${encodeURIComponent('{"pod":["x"]}')}`);
    expect([psBad.status, msg(psBad)]).toEqual([400, "invalid filter 'pod'"]);
    const health = await t.call('GET', `/containers/json?filters=${encodeURIComponent('{"health":["sick"]}')}`);
    expect([health.status, msg(health)]).toEqual([400, 'Unrecognised filter value for health: sick']);
  });

  it('API versions outside 1.24-1.50 are 400 with dockerd\'s words; /info reports the host as dockerd does', async () => {
    expect(await t.call('GET', '/v1.23/networks')).toMatchObject({ status: 400, body: { message: expect.stringContaining('client version 1.23 is too old') } });
    expect(await t.call('GET', '/v1.99/networks')).toMatchObject({ status: 400, body: { message: 'client version 1.99 is too new. Maximum supported API version is 1.50' } });
    expect((await t.call('GET', '/v1.50/networks')).status).toBe(200);
    const info = (await t.call('GET', '/info')).body as Record<string, unknown>;
    expect(info).toMatchObject({ Architecture: machine(), Name: hostname(), NCPU: availableParallelism(), MemTotal: totalmem() });
  });

  it('a bad percent escape in the path is 400, not a 500', async () => {
    const out = await t.call('GET', '/networks/%zz');
    expect([out.status, msg(out)]).toEqual([400, 'invalid URL escape "%zz"']);
    expect((await t.call('DELETE', '/v1.44/containers/%E0%A4%A')).status).toBe(400);
  });

  it('swarm routes answer as dockerd outside a swarm: 503 and its messages', async () => {
    const cases: [string, string, string][] = [
      ['GET', '/swarm', NOT_MANAGER], ['POST', '/swarm/leave', NO_SWARM], ['POST', '/swarm/init', NO_SWARM], ['POST', '/swarm/join', NO_SWARM],
      ['POST', '/swarm/update', NOT_MANAGER], ['POST', '/swarm/unlock', NOT_MANAGER], ['GET', '/swarm/unlockkey', NOT_MANAGER],
      ['GET', '/nodes', NOT_MANAGER], ['GET', '/nodes/abc', NOT_MANAGER], ['GET', '/v1.50/services', NOT_MANAGER], ['POST', '/services/create', NOT_MANAGER],
      ['DELETE', '/services/x', NOT_MANAGER], ['GET', '/tasks', NOT_MANAGER], ['GET', '/tasks/t1', NOT_MANAGER], ['GET', '/secrets', NOT_MANAGER],
      ['POST', '/secrets/create', NOT_MANAGER], ['GET', '/configs', NOT_MANAGER], ['DELETE', '/configs/c1', NOT_MANAGER],
    ];
    for (const [m, p, text] of cases) expect([m, p, (await t.call(m, p)).status, msg(await t.call(m, p))]).toEqual([m, p, 503, text]);
    expect(NOT_MANAGER).toBe('This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.');
  });

  it('network names follow Docker: a space is fine, blank is "invalid name", and the bridge is named from the ID', async () => {
    const name = `${uniq('sp')} with space/and\u00e9`;
    const out = await create({ Name: name });
    expect(out.status).toBe(201);
    const id = (out.body as { Id: string }).Id;
    const info = t.d.controller.network(id).info();
    expect(info.name).toBe(name);
    const inspect = await t.call('GET', `/networks/${encodeURIComponent(name)}`);
    expect((inspect.body as { Id: string }).Id).toBe(id);
    const { execFileSync } = await import('node:child_process');
    expect(execFileSync('ip', ['-br', 'link', 'show', `br-${id.slice(0, 12)}`], { encoding: 'utf8' })).toContain(`br-${id.slice(0, 12)}`);
    expect((await t.call('DELETE', `/networks/${encodeURIComponent(name)}`)).status).toBe(204);
    for (const bad of ['', '   ', '\t']) {
      const r = await create({ Name: bad });
      expect([r.status, msg(r)]).toEqual([400, `invalid name: ${bad}`]);
    }
    expect(msg(await create({}))).toBe('invalid name: ');
  });

  it('list filters: label (key, key=value), driver, id, name, scope, type, dangling', async () => {
    const a = await create({ Name: uniq('fa'), Labels: { app: 'web', tier: 'front' }, Options: bridgeOpts(), IPAM: { Config: [{ Subnet: '10.46.1.0/24' }] } });
    const b = await create({ Name: uniq('fb'), Labels: { app: 'db' }, Options: bridgeOpts(), IPAM: { Config: [{ Subnet: '10.46.2.0/24' }] } });
    const names = async (f: object) => ((await t.call('GET', `/networks?filters=${encodeURIComponent(JSON.stringify(f))}`)).body as { Id: string }[]).map((n) => n.Id);
    const [ia, ib] = [(a.body as { Id: string }).Id, (b.body as { Id: string }).Id];
    expect(await names({ label: { app: true } })).toEqual(expect.arrayContaining([ia, ib]));
    expect(await names({ label: ['app=web'] })).toEqual([ia]);
    expect(await names({ label: { 'app=web': true, tier: true } })).toEqual([ia]);
    expect(await names({ label: { 'app=web': true, 'tier=back': true } })).toEqual([]);
    expect(await names({ id: [ib.slice(0, 10)] })).toEqual([ib]);
    expect((await names({ type: ['custom'], driver: ['bridge'], scope: ['local'], dangling: ['true'] }))).toEqual(expect.arrayContaining([ia, ib]));
    expect(await names({ type: ['builtin'] })).not.toContain(ia);
    expect((await t.call('GET', `/networks?filters=${encodeURIComponent('{"dangling":["maybe"]}')}`)).status).toBe(400);
  });

  it('prune honours label, label! and until', async () => {
    const mk = async (labels: Record<string, string>, subnet: string) =>
      ((await create({ Name: uniq('pr'), Labels: labels, Options: bridgeOpts(), IPAM: { Config: [{ Subnet: subnet }] } })).body as { Id: string }).Id;
    const keep = await mk({ keep: '1' }, '10.46.3.0/24');
    const gone = await mk({ env: 'test' }, '10.46.4.0/24');
    const q = (f: object) => t.call('POST', `/networks/prune?filters=${encodeURIComponent(JSON.stringify(f))}`);
    const name = (id: string) => t.d.controller.network(id).name;
    const [keepName, goneName] = [name(keep), name(gone)];
    // until 1h: both were created just now, so neither is old enough.
    expect((await q({ until: ['1h'], label: ['env'] })).body).toEqual({ NetworksDeleted: [] });
    expect((await q({ label: ['env=other'] })).body).toEqual({ NetworksDeleted: [] });
    const r = await q({ 'label!': ['keep'], until: [`${Math.floor(Date.now() / 1000) + 5}.5`] });
    expect((r.body as { NetworksDeleted: string[] }).NetworksDeleted).toContain(goneName);
    expect((r.body as { NetworksDeleted: string[] }).NetworksDeleted).not.toContain(keepName);
    expect((await q({ label: { keep: true } })).body).toEqual({ NetworksDeleted: [keepName] });
  });

  it('containers keep NetworkSettings.Networks complete, as SDKs read it', async () => {
    const net = await create({ Name: uniq('ns'), Options: bridgeOpts(), EnableIPv6: true, IPAM: { Config: [{ Subnet: '10.46.5.0/24' }, { Subnet: 'fd46:5::/64' }] } });
    const netName = t.d.controller.network((net.body as { Id: string }).Id).name;
    const name = uniq('c');
    const c = await t.call('POST', `/containers/create?name=${name}`, {
      Image: 'x', HostConfig: { NetworkMode: netName },
      NetworkingConfig: { EndpointsConfig: { [netName]: { Aliases: ['web'], IPAMConfig: { IPv4Address: '10.46.5.9', IPv6Address: 'fd46:5::9' }, DriverOpts: { a: 'b' } } } },
    });
    expect(c.status).toBe(201);
    const keys = ['IPAMConfig', 'Links', 'Aliases', 'MacAddress', 'DriverOpts', 'GwPriority', 'NetworkID', 'EndpointID', 'Gateway', 'IPAddress',
      'IPPrefixLen', 'IPv6Gateway', 'GlobalIPv6Address', 'GlobalIPv6PrefixLen', 'DNSNames'].sort();
    const settings = async () => ((await t.call('GET', `/containers/${name}/json`)).body as { NetworkSettings: { Networks: Record<string, Record<string, unknown>> } }).NetworkSettings.Networks;
    expect(Object.keys((await settings())[netName]!).sort()).toEqual(keys);
    expect((await t.call('POST', `/containers/${name}/start`)).status).toBe(204);
    const s = (await settings())[netName]!;
    expect(Object.keys(s).sort()).toEqual(keys);
    expect(s).toMatchObject({
      Aliases: ['web'], Links: null, DriverOpts: { a: 'b' }, IPAddress: '10.46.5.9', IPPrefixLen: 24, Gateway: '10.46.5.1',
      GlobalIPv6Address: 'fd46:5::9', GlobalIPv6PrefixLen: 64, IPv6Gateway: 'fd46:5::1', IPAMConfig: { IPv4Address: '10.46.5.9', IPv6Address: 'fd46:5::9' },
    });
    expect(s['DNSNames']).toEqual(expect.arrayContaining([name, 'web']));
    expect(s['MacAddress']).toMatch(/^02:42:/);
    // Connect twice and disconnect a container that is not connected: both errors, as docker-py expects.
    const twice = await t.call('POST', `/networks/${netName}/connect`, { Container: name });
    expect(twice.status).toBe(403);
    expect((await t.call('POST', '/networks/bridge/disconnect', { Container: name })).status).toBe(403);
    const bridge = (await t.call('GET', '/networks/bridge')).body as { Driver: string; Scope: string; IPAM: { Driver: string } };
    expect([bridge.Driver, bridge.Scope, bridge.IPAM.Driver]).toEqual(['bridge', 'local', 'default']);
    expect((await t.call('DELETE', `/containers/${name}?force=1`)).status).toBe(204);
  });

  describe('over HTTP', () => {
    let socket: string;
    let server: Server;
    // The daemon's timeouts, shortened so the tests do not wait 10 and 30 s.
    const timeouts = { ...TIMEOUTS, headersTimeout: 1500, requestTimeout: 3000 };
    beforeAll(async () => {
      expect(TIMEOUTS).toEqual({ headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5_000 });
      const l = await t.listen(timeouts);
      socket = l.socket;
      server = l.server.server;
      expect([l.server.server.headersTimeout, l.server.server.requestTimeout, l.server.server.keepAliveTimeout])
        .toEqual([timeouts.headersTimeout, timeouts.requestTimeout, timeouts.keepAliveTimeout]);
    });

    it('a body over the limit is 413, by Content-Length or streamed, and nothing is created', async () => {
      const before = t.d.controller.networks().length;
      const big = JSON.stringify({ Name: uniq('big'), Labels: { x: 'y'.repeat(MAX_BODY_BYTES) } });
      const declared = await rawRequest(socket, 'POST', '/networks/create', big);
      expect(declared.status).toBe(413);
      expect(JSON.parse(declared.text)).toEqual({ message: `request body is too large: the limit is ${MAX_BODY_BYTES} bytes` });
      const streamed = await rawRequest(socket, 'POST', '/networks/create', big, { 'Transfer-Encoding': 'chunked' });
      expect(streamed.status).toBe(413);
      expect(t.d.controller.networks().length).toBe(before);
      // The daemon still serves.
      expect((await rawRequest(socket, 'GET', '/_ping')).text).toBe('OK');
    });

    it('malformed JSON is 400 "invalid JSON: ..."; a raw bad escape is 400', async () => {
      const bad = await rawRequest(socket, 'POST', '/networks/create', '{"Name":');
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.text).message).toMatch(/^invalid JSON: /);
      expect((await rawRequest(socket, 'GET', '/networks/%zz')).status).toBe(400);
    });

    it('long streams (events, wait): the head is sent at once, and a client that leaves holds nothing', async () => {
      const name = uniq('lw');
      expect((await t.call('POST', `/containers/create?name=${name}`, { Image: 'img', HostConfig: { NetworkMode: 'none' } })).status).toBe(201);
      expect((await t.call('POST', `/containers/${name}/start`)).status).toBe(204);
      const open = (method: string, path: string) => new Promise<{ status: number; type: string; req: ClientRequest }>((resolve, reject) => {
        const req = request({ socketPath: socket, method, path }, (res) => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), req }));
        req.on('error', reject);
        req.end();
      });
      const before = t.d.events.subscribers;
      const ev = await open('GET', '/events');
      const wt = await open('POST', `/containers/${name}/wait?condition=next-exit`);
      expect([ev.status, ev.type, wt.status, wt.type]).toEqual([200, 'application/json', 200, 'application/json']);
      expect(t.d.events.subscribers).toBe(before + 2);
      ev.req.destroy();
      wt.req.destroy();
      for (let i = 0; i < 50 && t.d.events.subscribers !== before; i++) await new Promise((r) => setTimeout(r, 20));
      expect(t.d.events.subscribers).toBe(before);
      // Refused before the head: a bad condition, an unknown container, bad times.
      expect((await rawRequest(socket, 'POST', `/containers/${name}/wait?condition=soon`)).status).toBe(400);
      expect((await rawRequest(socket, 'POST', '/containers/nope-x/wait')).status).toBe(404);
      expect((await rawRequest(socket, 'GET', '/events?since=20&until=10')).status).toBe(400);
      expect((await rawRequest(socket, 'GET', '/events?since=yesterday')).status).toBe(400);
      expect((await rawRequest(socket, 'POST', `/containers/${name}/kill?signal=99`)).status).toBe(400);
      // An until already past: the kept events in range, then the end of the stream.
      const past = await rawRequest(socket, 'GET', `/events?since=0&until=${Date.now() / 1000}&filters=${encodeURIComponent(JSON.stringify({ container: [name] }))}`);
      expect(past.text.trim().split('\n').map((l) => (JSON.parse(l) as { Action: string }).Action)).toEqual(['create', 'start']);
      expect(past.text).toMatch(/"timeNano":\d{19}}\n$/);
      expect((await t.call('DELETE', `/containers/${name}?force=1`)).status).toBe(204);
    });

    it('upgrade requests: an ordinary route answers as without the upgrade (and does its work once), a client gone early does not take the daemon down, a stalled body is cut off', async () => {
      const raw = (bytes: string, closeAfterMs?: number) => new Promise<string>((resolve) => {
        const s = connect(socket);
        let got = '';
        s.on('data', (c) => { got += c.toString(); });
        s.on('error', () => undefined);
        s.on('close', () => resolve(got));
        s.write(bytes);
        if (closeAfterMs !== undefined) setTimeout(() => s.destroy(), closeAfterMs);
      });
      const up = 'Connection: Upgrade\r\nUpgrade: tcp\r\n';
      const name = uniq('upn');
      const body = JSON.stringify({ Name: name });
      const created = await raw(`POST /networks/create HTTP/1.1\r\nHost: x\r\n${up}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      expect(created).toMatch(/^HTTP\/1\.1 201 /);
      expect(JSON.parse(created.slice(created.indexOf('\r\n\r\n') + 4)).Id).toMatch(/^[0-9a-f]{64}$/);
      expect(t.d.controller.networks().filter((n) => n.name === name)).toHaveLength(1);
      expect(await raw(`GET /_ping HTTP/1.1\r\nHost: x\r\n${up}\r\n`)).toMatch(/^HTTP\/1\.1 200 [^]*\r\n\r\nOK$/);
      // Clients that leave before their answer: the daemon must outlive every one of them.
      await Promise.all(Array.from({ length: 20 }, () => raw(`GET /_ping HTTP/1.1\r\nHost: x\r\n${up}Content-Length: 10\r\n\r\n`, 5)));
      await Promise.all(Array.from({ length: 20 }, () => raw(`GET /networks HTTP/1.1\r\nHost: x\r\n${up}\r\n`, 0)));
      await new Promise((r) => setTimeout(r, 100));
      expect((await rawRequest(socket, 'GET', '/_ping')).text).toBe('OK');
      // A body that never arrives in full: closed after requestTimeout, nothing run.
      const started = Date.now();
      const stalled = await raw(`POST /networks/create HTTP/1.1\r\nHost: x\r\n${up}Content-Length: 1000\r\n\r\n{`);
      expect(stalled).toBe('');
      expect(Date.now() - started).toBeGreaterThanOrEqual(timeouts.requestTimeout - 100);
      expect(Date.now() - started).toBeLessThan(timeouts.requestTimeout + 2500);
      // A request target that is no URL path: 400, upgraded or not.
      expect(await raw(`GET http://[/_ping HTTP/1.1\r\nHost: x\r\n\r\n`)).toMatch(/^HTTP\/1\.1 400 /);
      expect(await raw(`GET http://[/_ping HTTP/1.1\r\nHost: x\r\n${up}\r\n`)).toMatch(/^HTTP\/1\.1 400 /);
      expect((await t.call('DELETE', `/networks/${name}`)).status).toBe(204);
      // Every one of those connections is closed on the daemon's side too.
      const open = () => new Promise<number>((r) => server.getConnections((_e, n) => r(n)));
      for (let i = 0; i < 50 && (await open()) > 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(await open()).toBe(0);
    });

    it('a client that never finishes its headers is cut off after headersTimeout', async () => {
      const s = connect(socket);
      s.write('GET /_ping HTTP/1.1\r\nHost: x\r\n');
      const started = Date.now();
      const text = await new Promise<string>((resolve) => {
        let got = '';
        s.on('data', (c) => { got += c.toString(); });
        s.on('close', () => resolve(got));
      });
      const waited = Date.now() - started;
      expect(text).toMatch(/^HTTP\/1\.1 408/);
      expect(waited).toBeGreaterThanOrEqual(timeouts.headersTimeout - 100);
      expect(waited).toBeLessThan(timeouts.headersTimeout + 2500);
    });
  });
});
