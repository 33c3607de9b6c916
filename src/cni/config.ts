// The request as the shim forwards it (the CNI_* environment plus the
// network configuration), checked field by field before anything changes:
// a configuration the spec or nsnet cannot use is refused with the spec's
// code and nothing is touched.
import { BridgeOption } from '../driver-api/options.js';
import { CniCode, CniError } from './errors.js';
import { checkCommandVersion, checkVersion, type CniVersion } from './version.js';

export const COMMANDS = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION'] as const;
export type Command = (typeof COMMANDS)[number];

export interface IpamRange { subnet?: string; rangeStart?: string; rangeEnd?: string; gateway?: string; ipRange?: string }
export interface RouteConf { dst: string; gw?: string }
export interface PortMappingConf { hostPort: number; containerPort: number; protocol?: string; hostIP?: string }

export interface NetConf {
  cniVersion: CniVersion;
  name: string;
  type?: string;
  bridge?: string;
  mtu?: number;
  ipMasq?: boolean;
  isGateway?: boolean;
  /** Docker's network option names, for what CNI's bridge keys do not say. */
  options?: Record<string, string>;
  /** Each inner list is one range set (host-local's `ranges`); the inline form becomes one set. */
  ranges: IpamRange[][];
  routes: RouteConf[];
  dns?: Record<string, unknown>;
  runtime: { portMappings: PortMappingConf[]; ips: string[]; mac?: string; aliases: string[] };
  prevResult?: Record<string, unknown>;
  validAttachments?: { containerID: string; ifname: string }[];
}

export interface CniRequest {
  command: Command;
  containerId: string;
  netns: string;
  ifname: string;
  /** CNI_ARGS, parsed. */
  args: Record<string, string>;
  conf: NetConf;
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
// SPEC.md: container IDs are alphanumeric plus hyphen, underscore and period.
const CONTAINER_ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
// CNI_ARGS keys nsnet reads, and those runtimes send that it may ignore.
const KNOWN_ARGS = new Set(['IP', 'MAC', 'IgnoreUnknown', 'K8S_POD_NAME', 'K8S_POD_NAMESPACE', 'K8S_POD_INFRA_CONTAINER_ID', 'K8S_POD_UID']);
const DOCKER_OPTIONS = new Set<string>(Object.values(BridgeOption));

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const bad = (msg: string): CniError => new CniError(CniCode.InvalidConfig, msg);

function str(o: Obj, k: string, where: string): string | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw bad(`${where}${k} must be a string`);
  return v;
}
function numOf(o: Obj, k: string, where: string): number | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw bad(`${where}${k} must be a non-negative integer`);
  return v;
}
function boolOf(o: Obj, k: string, where: string): boolean | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw bad(`${where}${k} must be true or false`);
  return v;
}
function objOf(o: Obj, k: string, where: string): Obj | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw bad(`${where}${k} must be an object`);
  return v;
}
function listOf(o: Obj, k: string, where: string): unknown[] {
  const v = o[k];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw bad(`${where}${k} must be a list`);
  return v;
}

/** The cniVersion to answer errors in: the configuration's, when it has one. */
export function versionOf(body: unknown): string {
  const c = isObj(body) && isObj(body['config']) ? body['config'] : undefined;
  return typeof c?.['cniVersion'] === 'string' ? c['cniVersion'] : '1.1.0';
}

export function parseArgs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const pair of text.split(';')) {
    if (!pair) continue;
    const i = pair.indexOf('=');
    if (i <= 0) throw new CniError(CniCode.InvalidEnvironment, `CNI_ARGS: invalid pair "${pair}" (expected KEY=VALUE)`);
    out[pair.slice(0, i)] = pair.slice(i + 1);
  }
  const ignore = /^(1|true)$/i.test(out['IgnoreUnknown'] ?? '');
  const unknown = Object.keys(out).filter((k) => !KNOWN_ARGS.has(k));
  if (unknown.length && !ignore) throw new CniError(CniCode.InvalidEnvironment, `CNI_ARGS: unknown args ${unknown.join(', ')} (set IgnoreUnknown=1 to ignore them)`);
  return out;
}

function parseRanges(ipam: Obj): IpamRange[][] {
  const where = 'ipam.';
  const range = (r: unknown, at: string): IpamRange => {
    if (!isObj(r)) throw bad(`${at} must be an object`);
    const out: IpamRange = {};
    for (const k of ['subnet', 'rangeStart', 'rangeEnd', 'gateway'] as const) {
      const v = str(r, k, `${at}.`);
      if (v !== undefined) out[k] = v;
    }
    return out;
  };
  const sets = listOf(ipam, 'ranges', where).map((set, i) => {
    if (!Array.isArray(set) || !set.length) throw bad(`ipam.ranges[${i}] must be a non-empty list of ranges`);
    return set.map((r, j) => range(r, `ipam.ranges[${i}][${j}]`));
  });
  const inline = range(ipam, 'ipam');
  const ipRange = str(ipam, 'ipRange', where);
  if (inline.subnet || inline.rangeStart || inline.rangeEnd || inline.gateway || ipRange) {
    if (sets.length) throw bad('ipam: give either ranges or subnet/rangeStart/rangeEnd/gateway, not both');
    const r: IpamRange = { ...inline };
    if (ipRange) r.ipRange = ipRange;
    sets.push([r]);
  }
  return sets;
}

function parseRuntime(rc: Obj | undefined, name: string): NetConf['runtime'] {
  const out: NetConf['runtime'] = { portMappings: [], ips: [], aliases: [] };
  if (!rc) return out;
  const where = 'runtimeConfig.';
  out.portMappings = listOf(rc, 'portMappings', where).map((p, i) => {
    if (!isObj(p)) throw bad(`runtimeConfig.portMappings[${i}] must be an object`);
    const at = `runtimeConfig.portMappings[${i}].`;
    const hostPort = numOf(p, 'hostPort', at);
    const containerPort = numOf(p, 'containerPort', at);
    // As the portmap plugin: no host port is not "any port" here (nothing would report which).
    if (!containerPort || !hostPort || containerPort > 65535 || hostPort > 65535) throw bad(`${at.slice(0, -1)}: hostPort and containerPort must be 1-65535`);
    const protocol = (str(p, 'protocol', at) ?? 'tcp').toLowerCase();
    if (protocol !== 'tcp' && protocol !== 'udp')
      throw new CniError(CniCode.UnsupportedField, `${at}protocol "${protocol}" is not supported (tcp, udp)`);
    const hostIP = str(p, 'hostIP', at);
    return { hostPort, containerPort, protocol, ...(hostIP ? { hostIP } : {}) };
  });
  out.ips = listOf(rc, 'ips', where).map((ip, i) => {
    if (typeof ip !== 'string') throw bad(`runtimeConfig.ips[${i}] must be a string`);
    return ip;
  });
  const mac = str(rc, 'mac', where);
  if (mac) out.mac = mac;
  // podman sends {network: [names]}; a plain list is accepted too.
  const aliases = rc['aliases'];
  const list = Array.isArray(aliases) ? aliases : isObj(aliases) ? aliases[name] : undefined;
  if (Array.isArray(list)) out.aliases = list.filter((a): a is string => typeof a === 'string');
  return out;
}

/** The network configuration: every field nsnet reads, typed; unknown keys are left alone, as the spec wants. */
export function parseConf(c: unknown, command: Command): NetConf {
  if (!isObj(c)) throw new CniError(CniCode.DecodingFailure, 'the network configuration must be a JSON object');
  if (c['cniVersion'] === undefined) throw bad('cniVersion is required');
  const cniVersion = checkVersion(str(c, 'cniVersion', '')!);
  checkCommandVersion(command, cniVersion);
  const name = str(c, 'name', '');
  if (!name) throw bad('name is required');
  if (!NAME_RE.test(name)) throw bad(`invalid network name "${name}": it must match ${NAME_RE.source}`);
  const conf: NetConf = { cniVersion, name, ranges: [], routes: [], runtime: parseRuntime(objOf(c, 'runtimeConfig', ''), name) };
  const type = str(c, 'type', '');
  if (type !== undefined) conf.type = type;
  const bridge = str(c, 'bridge', '');
  if (bridge !== undefined) conf.bridge = bridge;
  const mtu = numOf(c, 'mtu', '');
  if (mtu !== undefined) conf.mtu = mtu;
  const ipMasq = boolOf(c, 'ipMasq', '');
  if (ipMasq !== undefined) conf.ipMasq = ipMasq;
  const isGateway = boolOf(c, 'isGateway', '');
  if (isGateway !== undefined) conf.isGateway = isGateway;
  const options = objOf(c, 'options', '');
  if (options) {
    conf.options = {};
    for (const [k, v] of Object.entries(options)) {
      if (!DOCKER_OPTIONS.has(k)) throw new CniError(CniCode.UnsupportedField, `options: unknown network option ${k}=${JSON.stringify(v)}`);
      if (typeof v !== 'string') throw bad(`options.${k} must be a string`);
      conf.options[k] = v;
    }
  }
  const ipam = objOf(c, 'ipam', '');
  if (ipam) {
    const it = str(ipam, 'type', 'ipam.');
    if (it !== undefined && it !== 'nsnet' && it !== 'host-local')
      throw new CniError(CniCode.UnsupportedField, `ipam.type "${it}" is not supported: nsnet allocates addresses itself (omit it, or use "host-local" style fields)`);
    conf.ranges = parseRanges(ipam);
    conf.routes = listOf(ipam, 'routes', 'ipam.').map((r, i) => {
      if (!isObj(r)) throw bad(`ipam.routes[${i}] must be an object`);
      const dst = str(r, 'dst', `ipam.routes[${i}].`);
      if (!dst) throw bad(`ipam.routes[${i}].dst is required`);
      const gw = str(r, 'gw', `ipam.routes[${i}].`);
      return { dst, ...(gw ? { gw } : {}) };
    });
  }
  const dns = objOf(c, 'dns', '');
  if (dns) conf.dns = dns;
  const prev = objOf(c, 'prevResult', '');
  if (prev) conf.prevResult = prev;
  if (command === 'GC') {
    // libcni sends the list under both names (the 1.1 text first said
    // "cni.dev/attachments"); null is an empty list (Go's nil slice). With
    // neither, a GC would remove every attachment of the network: refused.
    const key = c['cni.dev/valid-attachments'] !== undefined ? 'cni.dev/valid-attachments' : 'cni.dev/attachments';
    const valid = c[key] ?? (key in c ? [] : undefined);
    if (valid === undefined) throw bad('GC needs cni.dev/valid-attachments: the attachments to keep');
    if (!Array.isArray(valid)) throw bad(`${key} must be a list`);
    conf.validAttachments = valid.map((a, i) => {
      if (!isObj(a) || typeof a['containerID'] !== 'string' || typeof a['ifname'] !== 'string')
        throw bad(`${key}[${i}] must be {containerID, ifname}`);
      return { containerID: a['containerID'], ifname: a['ifname'] };
    });
  }
  return conf;
}

/** The envelope: environment checked per command, then the configuration. */
export function parseRequest(body: unknown): CniRequest {
  if (!isObj(body)) throw new CniError(CniCode.DecodingFailure, 'the request must be a JSON object');
  const env = (k: string): string => (typeof body[k] === 'string' ? (body[k] as string) : '');
  const command = env('command') as Command;
  if (!COMMANDS.includes(command)) throw new CniError(CniCode.InvalidEnvironment, `unknown CNI_COMMAND "${env('command')}"`);
  const conf = parseConf(body['config'], command);
  const req: CniRequest = { command, containerId: env('containerId'), netns: env('netns'), ifname: env('ifname'), args: {}, conf };
  const needs = { ADD: ['containerId', 'netns', 'ifname'], CHECK: ['containerId', 'netns', 'ifname'], DEL: ['containerId', 'ifname'] } as const;
  const envName = { containerId: 'CNI_CONTAINERID', netns: 'CNI_NETNS', ifname: 'CNI_IFNAME' } as const;
  for (const k of (needs as Record<string, readonly ('containerId' | 'netns' | 'ifname')[]>)[command] ?? []) {
    if (!req[k]) throw new CniError(CniCode.InvalidEnvironment, `${envName[k]} is required for ${command}`);
  }
  if (req.netns && !req.netns.startsWith('/'))
    throw new CniError(CniCode.InvalidEnvironment, `CNI_NETNS must be an absolute path, not "${req.netns}"`);
  if (req.containerId && !CONTAINER_ID_RE.test(req.containerId))
    throw new CniError(CniCode.InvalidEnvironment, `invalid CNI_CONTAINERID "${req.containerId}": alphanumeric, hyphen, underscore and period only`);
  if (command === 'ADD' || command === 'CHECK') req.args = parseArgs(env('args'));
  return req;
}
