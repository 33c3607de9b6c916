// nsnet through its public API: controller, bridge network, sandboxes.
import { Controller, type Endpoint, type Network, type Sandbox } from '../../dist/controller/controller.js';
import { run } from './exec.js';
import type { Impl } from './impl.js';

export interface NsnetImplOptions {
  name?: string;
  /** Sandboxes adopt namespaces made by `ip netns add` (a runtime's), given by path. */
  runtime?: boolean;
  netnsPool?: number;
}

export class NsnetImpl implements Impl<Sandbox, Endpoint> {
  readonly name: string;
  c!: Controller;
  net!: Network;
  private n = 0;
  private readonly runtimeNs = new Map<string, string>();
  constructor(private readonly dataDir: string, private readonly subnet: string, private readonly bridge: string,
    private readonly o: NsnetImplOptions = {}) {
    this.name = o.name ?? 'nsnet';
  }
  async setup(): Promise<void> {
    this.c = await Controller.start({ dataDir: this.dataDir, ...(this.o.netnsPool ? { netnsPool: this.o.netnsPool } : {}) });
    this.net = await this.c.newNetwork({ name: 'bench', options: { 'com.docker.network.bridge.name': this.bridge }, ipam: { config: [{ Subnet: this.subnet }] } });
  }
  async newSandbox(i: number): Promise<Sandbox> {
    const id = `bench-${i}-${this.n++}`;
    if (!this.o.runtime) return this.c.newSandbox(id);
    const name = `nsbrt${this.bridge.slice(-4)}${this.n++}`;
    await run('ip', ['netns', 'add', name]);
    const sb = await this.c.newSandbox(id, { netnsPath: `/run/netns/${name}` });
    this.runtimeNs.set(sb.id, name);
    return sb;
  }
  async destroySandbox(s: Sandbox): Promise<void> {
    await s.destroy();
    const name = this.runtimeNs.get(s.id);
    if (name) {
      this.runtimeNs.delete(s.id);
      await run('ip', ['netns', 'del', name]);
    }
  }
  async createJoin(s: Sandbox): Promise<Endpoint> {
    const ep = this.net.createEndpoint(`e${this.n++}`);
    await ep.join(s);
    return ep;
  }
  async leaveDelete(s: Sandbox, e: Endpoint): Promise<void> {
    await e.leave(s);
    await e.delete();
  }
  settle(): Promise<void> {
    return this.c.flush();
  }
  async teardown(): Promise<void> {
    for (const s of this.c.sandboxes()) await this.destroySandbox(s);
    for (const n of this.c.networks()) await n.delete();
    await this.c.stop();
  }
}
