// The kernel's floor (bench/floor/floor.c): the minimum requests of a join
// on sockets kept open per namespace, timed inside the C process itself, so
// its figures carry no IPC, no JS and no bookkeeping. Built with cc by the
// bench, run as a child process for the whole run.
import { execFileSync, spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { run } from './exec.js';
import type { Impl } from './impl.js';

export interface FloorSandbox { id: number; netns?: string; next: number }
export interface FloorEndpoint { host: string }

/**
 * Host IDs for the namespaces of floors in nsnet's shape, counting down as
 * nsnet's do (src/controller/netns-ids.ts), below nsnet's range and far
 * above the kernel's own (lowest free from 0). Shared by every floor here.
 */
let nextNsid = 2 ** 23 - 1;

/** Builds the floor into `dir` (cc, -Wall -Wextra clean) and returns its path. */
export function buildFloor(dir: string): string {
  const out = join(dir, 'floor');
  const src = fileURLToPath(new URL('../floor/floor.c', import.meta.url));
  execFileSync('cc', ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-o', out, src], { stdio: 'inherit' });
  return out;
}

export class FloorImpl implements Impl<FloorSandbox, FloorEndpoint> {
  private proc!: ChildProcessByStdio<Writable, Readable, null>;
  private lines!: Interface;
  private readonly waiting: ((line: string) => void)[] = [];
  private k = 0;
  private readonly runtime: string[] = [];
  /** The time the C process measured for the last create+join or leave+delete, in ns. */
  lastNs = 0;

  /**
   * `own`: namespaces the floor unshares itself (as nsnet makes its own, IPv6
   * off, loopback up); `runtime`: namespaces made by `ip netns add`, given by path.
   */
  constructor(readonly name: string, private readonly bin: string, private readonly mode: 'own' | 'runtime',
    private readonly bridge: string, private readonly base: number, private readonly shared = false,
    /** Queues per veth end, as nsnet makes them (1); 0: the kernel's default, as `ip link add` and Docker make them. */
    private readonly queues = 1,
    /**
     * nsnet's join instead of the floor's (floor.c's host-ipv6-off: the host
     * end's IPv6 off before it is up, one request more) and its namespaces
     * numbered downward in the host at creation, as nsnet numbers its
     * sandboxes': the two things nsnet does against the kernel's growth at
     * scale.
     */
    private readonly nsnetShape = false) {}

  async setup(): Promise<void> {
    if (!this.shared) {
      // Configured as nsnet configures its bridges (no multicast snooping),
      // so both pay the same kernel work per port.
      await run('ip', ['link', 'add', this.bridge, 'type', 'bridge', 'mcast_snooping', '0']);
      await run('ip', ['addr', 'add', `10.${this.base}.0.1/16`, 'dev', this.bridge]);
      await run('ip', ['link', 'set', this.bridge, 'up']);
    }
    const args = [this.bridge, String(this.queues), ...(this.nsnetShape ? ['host-ipv6-off'] : [])];
    this.proc = spawn(this.bin, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = createInterface({ input: this.proc.stdout });
    this.lines.on('line', (l) => this.waiting.shift()?.(l));
  }

  private async cmd(line: string): Promise<string[]> {
    const answer = await new Promise<string>((resolve) => {
      this.waiting.push(resolve);
      this.proc.stdin.write(`${line}\n`);
    });
    const w = answer.split(' ');
    if (w[0] !== 'ok') throw new Error(`floor: ${line}: errno ${w[1]}`);
    return w.slice(1);
  }

  async newSandbox(i: number): Promise<FloorSandbox> {
    if (this.mode === 'own') return { id: Number((await this.cmd(this.nsnetShape ? `mkns ${nextNsid--}` : 'mkns'))[0]), next: 0 };
    const netns = `nsfl${this.base}x${i}x${this.k++}`;
    await run('ip', ['netns', 'add', netns]);
    this.runtime.push(netns);
    return { id: Number((await this.cmd(`ns /run/netns/${netns}`))[0]), netns, next: 0 };
  }

  /** The floor keeps its namespaces open until it exits; a runtime one is deleted by path. */
  async destroySandbox(s: FloorSandbox): Promise<void> {
    if (s.netns) await run('ip', ['netns', 'del', s.netns]).catch(() => undefined);
  }

  private ip(): string {
    const k = this.k++;
    return `10.${this.base}.${1 + ((k >> 8) % 254)}.${1 + (k % 254)}/16`;
  }

  /** The arguments of one join in `s`: eth0 with the default route (the sandbox's first), later ones ethN without. */
  private joinArgs(s: FloorSandbox): string {
    const n = s.next++;
    return `${s.id} eth${n} ${this.ip()} ${n === 0 ? `10.${this.base}.0.1` : '-'}`;
  }

  async createJoin(s: FloorSandbox): Promise<FloorEndpoint> {
    const [ns, host] = await this.cmd(`cj ${this.joinArgs(s)}`);
    this.lastNs = Number(ns);
    return { host: host! };
  }

  /** The joins of `count` create+joins over `sandboxes`, one after another inside the C process, timed as one. */
  async createJoinSeq(sandboxes: readonly FloorSandbox[], count: number): Promise<{ ns: number; made: { s: FloorSandbox; e: FloorEndpoint }[] }> {
    const plan = Array.from({ length: count }, (_, i) => {
      const s = sandboxes[i % sandboxes.length]!;
      return { s, line: this.joinArgs(s) };
    });
    const [ns, ...hosts] = await this.cmd(`cjs ${count} ${plan.map((p) => p.line).join(' ')}`).catch((e: unknown) => {
      for (const p of plan) p.s.next = Math.max(0, p.s.next - 1);
      throw e;
    });
    return { ns: Number(ns), made: plan.map((p, i) => ({ s: p.s, e: { host: hosts[i]! } })) };
  }

  async leaveDelete(s: FloorSandbox, e: FloorEndpoint): Promise<void> {
    this.lastNs = Number((await this.cmd(`ld ${e.host}`))[0]);
    s.next = Math.max(0, s.next - 1);
  }

  /** Sequential synchronous create+join+delete for `ms`: cycles per second, the kernel's deletions included. */
  async churn(s: FloorSandbox, ms: number): Promise<{ cycles: number; perSec: number }> {
    const [cycles, ns] = await this.cmd(`churn ${s.id} ${this.ip()} 10.${this.base}.0.1 ${ms}`);
    return { cycles: Number(cycles), perSec: Number(cycles) / (Number(ns) / 1e9) };
  }

  async teardown(): Promise<void> {
    this.proc.stdin.end('quit\n');
    await new Promise((r) => this.proc.once('close', r));
    for (const n of this.runtime) await run('ip', ['netns', 'del', n]).catch(() => undefined);
    if (!this.shared) await run('ip', ['link', 'del', this.bridge]).catch(() => undefined);
  }
}
