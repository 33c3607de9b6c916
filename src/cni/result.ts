// ADD's result in the cniVersion the configuration asked for, merged after a
// chained plugin's prevResult (its interfaces and IPs first, ours appended).
import { ipsCarryVersion } from './version.js';

export interface CniInterface { name: string; mac?: string; sandbox?: string; mtu?: number }
export interface CniIp { address: string; gateway?: string; interface?: number; version?: '4' | '6' }
export interface CniRoute { dst: string; gw?: string }
export interface CniResult {
  cniVersion: string;
  interfaces: CniInterface[];
  ips: CniIp[];
  routes: CniRoute[];
  dns: Record<string, unknown>;
}

/** What one attachment contributes, with interface indexes relative to its own list. */
export interface Attachment {
  interfaces: CniInterface[];
  ips: CniIp[];
  routes: CniRoute[];
  dns?: Record<string, unknown>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);

/** Adds or drops ips[].version so an IP entry matches the result's version. */
function shapeIp(ip: Obj, cniVersion: string): Obj {
  const { version: _drop, ...rest } = ip;
  if (!ipsCarryVersion(cniVersion)) return rest;
  const addr = typeof ip['address'] === 'string' ? ip['address'] : '';
  return { ...rest, version: addr.includes(':') ? '6' : '4' };
}

export function buildResult(cniVersion: string, ours: Attachment, prev?: Obj): CniResult {
  const prevIfs = list(prev?.['interfaces']) as unknown as CniInterface[];
  const offset = prevIfs.length;
  const ips = [
    ...list(prev?.['ips']).map((ip) => shapeIp(ip, cniVersion)),
    ...ours.ips.map((ip) => shapeIp({ ...ip, ...(ip.interface !== undefined ? { interface: ip.interface + offset } : {}) }, cniVersion)),
  ] as unknown as CniIp[];
  const prevDns = isObj(prev?.['dns']) ? (prev['dns'] as Obj) : undefined;
  return {
    cniVersion,
    interfaces: [...prevIfs, ...ours.interfaces],
    ips,
    routes: [...(list(prev?.['routes']) as unknown as CniRoute[]), ...ours.routes],
    dns: prevDns && Object.keys(prevDns).length ? prevDns : ours.dns ?? {},
  };
}
