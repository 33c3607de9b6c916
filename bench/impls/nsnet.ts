// nsnet through its public API: controller, bridge network, sandboxes.
import { Controller, type Endpoint, type Network, type Sandbox } from '../../src/controller/controller.js';
import type { Impl } from './impl.js';

export class NsnetImpl implements Impl<Sandbox, Endpoint> {
  readonly name = 'nsnet';
  c!: Controller;
  net!: Network;
  private n = 0;
  constructor(private readonly dataDir: string, private readonly subnet: string, private readonly bridge: string) {}
  async setup(): Promise<void> {
    this.c = await Controller.start({ dataDir: this.dataDir });
    this.net = await this.c.newNetwork({ name: 'bench', options: { 'com.docker.network.bridge.name': this.bridge }, ipam: { config: [{ Subnet: this.subnet }] } });
  }
  newSandbox(i: number): Promise<Sandbox> {
    return this.c.newSandbox(`bench-${i}-${this.n++}`);
  }
  destroySandbox(s: Sandbox): Promise<void> {
    return s.destroy();
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
    for (const s of this.c.sandboxes()) await s.destroy();
    for (const n of this.c.networks()) await n.delete();
    await this.c.stop();
  }
}
