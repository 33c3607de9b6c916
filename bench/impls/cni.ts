// Baseline: the CNI bridge plugin with host-local IPAM (Debian's
// containernetworking-plugins), exec'd with CNI_COMMAND=ADD/DEL.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { run } from './exec.js';
import type { Impl } from './impl.js';
import { IpSandboxes, type IpSandbox } from './ip-sandboxes.js';

export const CNI_PATH = '/usr/lib/cni';
export const cniAvailable = (): boolean => existsSync(`${CNI_PATH}/bridge`) && existsSync(`${CNI_PATH}/host-local`);

type Sb = IpSandbox;
interface Ep { id: string; }

export class CniImpl extends IpSandboxes implements Impl<Sb, Ep> {
  readonly name = 'cni';
  private readonly config: string;
  constructor(prefix: string, subnet: string, private readonly bridge: string, private readonly dataDir: string) {
    super(prefix);
    this.config = JSON.stringify({
      cniVersion: '1.0.0', name: `${prefix}net`, type: 'bridge', bridge, isGateway: true, ipMasq: false,
      ipam: { type: 'host-local', ranges: [[{ subnet }]], dataDir },
    });
  }
  async setup(): Promise<void> {
    mkdirSync(this.dataDir, { recursive: true });
  }
  private exec(cmd: 'ADD' | 'DEL', s: Sb, id: string): Promise<string> {
    return run(`${CNI_PATH}/bridge`, [], {
      input: this.config,
      env: { ...process.env, CNI_COMMAND: cmd, CNI_CONTAINERID: id, CNI_NETNS: `/run/netns/${s.name}`, CNI_IFNAME: 'eth0', CNI_PATH },
    });
  }
  async createJoin(s: Sb): Promise<Ep> {
    const id = `${this.prefix}c${this.n++}`;
    await this.exec('ADD', s, id);
    return { id };
  }
  async leaveDelete(s: Sb, e: Ep): Promise<void> {
    await this.exec('DEL', s, e.id);
  }
  async teardown(): Promise<void> {
    await this.removeSandboxes();
    await run('ip', ['link', 'del', this.bridge]).catch(() => undefined);
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
