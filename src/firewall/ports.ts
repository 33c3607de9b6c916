// Published ports: Docker's PortBindings parsed into single-port mappings,
// conflicts refused, host port 0 resolved from the local port range.
import { readFileSync } from 'node:fs';
import { ConflictError, InvalidInputError } from '../errors.js';
import { parseIP } from '../ip/addr.js';
import type { PortMapping } from './ruleset.js';

/** One binding as an API caller gives it: "8080" or "8000-8010" or "" / "0" (any free port). */
export interface PortBinding {
  proto: 'tcp' | 'udp';
  containerPort: number;
  /** Last port of a container range (inclusive). */
  containerPortEnd?: number;
  hostIp?: string;
  hostPort?: string | number;
}

const port = (s: string, what: string): number => {
  const n = Number(s);
  if (!/^\d+$/.test(s) || n > 65535) throw new InvalidInputError(`invalid ${what} '${s}'`);
  return n;
};

function range(spec: string, what: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(spec);
  if (!m) throw new InvalidInputError(`invalid ${what} '${spec}'`);
  const a = port(m[1]!, what);
  const b = m[2] ? port(m[2], what) : a;
  if (b < a) throw new InvalidInputError(`invalid ${what} '${spec}'`);
  return [a, b];
}

/** Docker's {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]} (keys may be ranges: "80-90/udp"). */
export function fromDockerPortBindings(pb: Record<string, { HostIp?: string; HostPort?: string }[] | null> | undefined): PortBinding[] {
  const out: PortBinding[] = [];
  for (const [key, list] of Object.entries(pb ?? {})) {
    const [p, proto = 'tcp'] = key.split('/');
    if (proto !== 'tcp' && proto !== 'udp') throw new InvalidInputError(`unsupported protocol '${proto}' in ${key}`);
    const [a, b] = range(p!, 'container port');
    for (const h of list ?? [{}]) {
      // nat.ParsePortRange's rule, in dockerd's words: empty, a port, or a range.
      if (h.HostPort) {
        try {
          range(h.HostPort, 'host port');
        } catch {
          throw new InvalidInputError(`invalid port specification: "${h.HostPort}"`);
        }
      }
      out.push({ proto, containerPort: a, ...(b !== a ? { containerPortEnd: b } : {}), hostIp: h.HostIp ?? '', hostPort: h.HostPort ?? '' });
    }
  }
  return out;
}

const anyIp = (ip: string) => ip === '' || ip === '0.0.0.0' || ip === '::';
/** A key's proto and port: "tcp/10.0.0.1/80" (or the any-address key) -> "tcp/80". */
const portOf = (k: string): string => `${k.slice(0, k.indexOf('/'))}${k.slice(k.lastIndexOf('/'))}`;

/** The kernel's local port range, where host port 0 is taken from. */
function localPortRange(): [number, number] {
  try {
    const [a, b] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (a && b) return [a, b];
  } catch { /* defaults */ }
  return [32768, 60999];
}

export class PortRegistry {
  private readonly taken = new Map<string, string>(); // key -> owner
  /**
   * How many keys each proto/port has, over every host IP: a binding on all
   * addresses clashes with any of them, and is checked in constant time
   * (a range of thousands of ports is thousands of checks, on the thread
   * that also answers the API and DNS).
   */
  private readonly perPort = new Map<string, number>();
  private cursor = 0;

  private key(proto: string, hostIp: string, p: number): string {
    return `${proto}/${anyIp(hostIp) ? '*' : hostIp}/${p}`;
  }

  private take(k: string, owner: string): void {
    if (!this.taken.has(k)) {
      const pp = portOf(k);
      this.perPort.set(pp, (this.perPort.get(pp) ?? 0) + 1);
    }
    this.taken.set(k, owner);
  }

  private free(k: string): void {
    if (!this.taken.delete(k)) return;
    const pp = portOf(k);
    const n = (this.perPort.get(pp) ?? 1) - 1;
    if (n > 0) this.perPort.set(pp, n);
    else this.perPort.delete(pp);
  }

  private clash(proto: string, hostIp: string, p: number): boolean {
    if (anyIp(hostIp)) return this.perPort.has(`${proto}/${p}`);
    return this.taken.has(this.key(proto, hostIp, p)) || this.taken.has(this.key(proto, '', p));
  }

  private ephemeral(proto: string, hostIp: string, [lo, hi]: [number, number]): number {
    const n = hi - lo + 1;
    for (let i = 0; i < n; i++) {
      const p = lo + ((this.cursor + i) % n);
      if (!this.clash(proto, hostIp, p)) {
        this.cursor = (this.cursor + i + 1) % n;
        return p;
      }
    }
    throw new ConflictError(`no free host port in ${lo}-${hi}`, 'EPORTINUSE');
  }

  /**
   * Resolves bindings for one endpoint and reserves them (all or nothing).
   * A binding on all addresses maps the host port for each family the
   * container has; one on a given host IP only for that IP's family.
   */
  reserve(owner: string, containerIps: { v4?: string; v6?: string }, bindings: readonly PortBinding[]): PortMapping[] {
    const out: PortMapping[] = [];
    const keys: string[] = [];
    let local: [number, number] | undefined;
    try {
      for (const b of bindings) {
        const hostIp = b.hostIp ?? '';
        if (!anyIp(hostIp)) parseIP(hostIp);
        const cEnd = b.containerPortEnd ?? b.containerPort;
        const count = cEnd - b.containerPort + 1;
        const hp = String(b.hostPort ?? '');
        let hStart: number;
        let hEnd: number;
        if (hp === '' || hp === '0') {
          hStart = -1;
          hEnd = -1;
        } else {
          [hStart, hEnd] = range(hp, 'host port');
          if (hEnd - hStart + 1 !== count && count !== 1) throw new InvalidInputError(`host port range ${hp} does not match container ports ${b.containerPort}-${cEnd}`);
        }
        for (let i = 0; i < count; i++) {
          let h = hStart < 0 ? this.ephemeral(b.proto, hostIp, (local ??= localPortRange())) : hStart + i;
          if (hStart >= 0 && count === 1 && hEnd > hStart) {
            // One container port, a host range: the first free port of the range.
            let found = -1;
            for (let x = hStart; x <= hEnd; x++) if (!this.clash(b.proto, hostIp, x)) { found = x; break; }
            if (found < 0) throw new ConflictError(`Bind for ${anyIp(hostIp) ? '0.0.0.0' : hostIp}:${hp} failed: port is already allocated`, 'EPORTINUSE');
            h = found;
          }
          if (this.clash(b.proto, hostIp, h))
            throw new ConflictError(`Bind for ${anyIp(hostIp) ? '0.0.0.0' : hostIp}:${h} failed: port is already allocated`, 'EPORTINUSE');
          const k = this.key(b.proto, hostIp, h);
          this.take(k, owner);
          keys.push(k);
          const families = anyIp(hostIp) ? (['v4', 'v6'] as const) : hostIp.includes(':') ? (['v6'] as const) : (['v4'] as const);
          const targets = families.map((f) => containerIps[f]).filter((x): x is string => !!x);
          if (!targets.length) throw new InvalidInputError(`cannot publish ${hostIp}:${h}: the container has no address of that family`);
          for (const containerIp of targets)
            out.push({ proto: b.proto, hostIp: anyIp(hostIp) ? '' : hostIp, hostPort: h, containerIp, containerPort: b.containerPort + i });
        }
      }
    } catch (e) {
      for (const k of keys) this.free(k);
      throw e;
    }
    return out;
  }

  /** Frees `owner`'s host ports (a port another endpoint holds is left alone). */
  release(owner: string, maps: readonly PortMapping[]): void {
    for (const m of maps) {
      const k = this.key(m.proto, m.hostIp, m.hostPort);
      if (this.taken.get(k) === owner) this.free(k);
    }
  }

  /** Which endpoint holds the mapping's host port (exactly that key), if any. */
  holder(m: PortMapping): string | undefined {
    return this.taken.get(this.key(m.proto, m.hostIp, m.hostPort));
  }

  /** Re-reserve exactly (restart). */
  restore(owner: string, maps: readonly PortMapping[]): void {
    for (const m of maps) this.take(this.key(m.proto, m.hostIp, m.hostPort), owner);
  }
}
