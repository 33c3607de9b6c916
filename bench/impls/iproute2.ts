// Baseline: iproute2, two execs per endpoint (peer born in the namespace),
// one to delete.
import { run } from './exec.js';
import type { Impl } from './impl.js';
import { IpSandboxes, type IpSandbox } from './ip-sandboxes.js';

type Sb = IpSandbox;
interface Ep { host: string; }

export class IprouteImpl extends IpSandboxes implements Impl<Sb, Ep> {
  readonly name = 'iproute2';
  constructor(prefix: string, private readonly base: [number, number], private readonly bridge: string) {
    super(prefix);
  }
  async setup(): Promise<void> {
    await run('ip', ['link', 'add', this.bridge, 'type', 'bridge']);
    await run('ip', ['addr', 'add', `10.${this.base[0]}.0.1/16`, 'dev', this.bridge]);
    await run('ip', ['link', 'set', this.bridge, 'up']);
  }
  async createJoin(s: Sb): Promise<Ep> {
    const k = this.n++;
    const host = `${this.prefix}h${k}`.slice(0, 15);
    const ip = `10.${this.base[0]}.${1 + ((k >> 8) % 254)}.${1 + (k % 254)}`;
    await run('ip', ['link', 'add', host, 'master', this.bridge, 'up', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', s.name]);
    await run('ip', ['-n', s.name, '-batch', '-'], { input: `link set eth0 up\naddr add ${ip}/16 dev eth0\nroute add default via 10.${this.base[0]}.0.1\n` });
    return { host };
  }
  async leaveDelete(_s: Sb, e: Ep): Promise<void> {
    await run('ip', ['link', 'del', e.host]);
  }
  async teardown(): Promise<void> {
    await this.removeSandboxes();
    await run('ip', ['link', 'del', this.bridge]).catch(() => undefined);
  }
}
