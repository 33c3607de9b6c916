// Sandboxes for the exec baselines: namespaces made with `ip netns add`.
import { run } from './exec.js';

export interface IpSandbox { name: string; }

export class IpSandboxes {
  protected n = 0;
  private readonly live = new Set<string>();
  constructor(protected readonly prefix: string) {}

  async newSandbox(i: number): Promise<IpSandbox> {
    const name = `${this.prefix}${i}x${this.n++}`;
    await run('ip', ['netns', 'add', name]);
    this.live.add(name);
    return { name };
  }

  async destroySandbox(s: IpSandbox): Promise<void> {
    await run('ip', ['netns', 'del', s.name]);
    this.live.delete(s.name);
  }

  protected async removeSandboxes(): Promise<void> {
    for (const s of this.live) await run('ip', ['netns', 'del', s]).catch(() => undefined);
    this.live.clear();
  }
}
