// The handles' implementation: an ID and the core, reached through a
// private field that is not part of the public types.
import type { Netns } from '../netlink/index.js';
import type { Core } from './core.js';
import type { Endpoint, EndpointInfo, Network, NetworkInfo, Sandbox, SandboxInfo } from './handles.js';
import type { EndpointCreateOptions } from './options.js';
import type { PortBinding } from '../firewall/ports.js';

export class NetworkHandle implements Network {
  readonly #c: Core;
  constructor(c: Core, readonly id: string) { this.#c = c; }
  get name(): string { return this.#c.net(this.id).name; }
  get type(): string { return this.#c.net(this.id).driver; }
  info(): NetworkInfo { return structuredClone(this.#c.net(this.id)); }
  endpoints(): Endpoint[] {
    return [...this.#c.eps.inNetwork(this.id)].map((e) => new EndpointHandle(this.#c, e.id));
  }
  createEndpoint(name: string, o?: EndpointCreateOptions): Endpoint {
    return new EndpointHandle(this.#c, this.#c.createEndpoint(this.id, name, o));
  }
  delete(): Promise<void> { return this.#c.deleteNetwork(this.id); }
}

export class EndpointHandle implements Endpoint {
  readonly #c: Core;
  constructor(c: Core, readonly id: string) { this.#c = c; }
  get name(): string { return this.#c.ep(this.id).name; }
  get networkId(): string { return this.#c.ep(this.id).networkId; }
  info(): EndpointInfo { return structuredClone(this.#c.ep(this.id)); }
  join(sb: Sandbox): Promise<void> { return this.#c.join(this.id, sb.id); }
  leave(sb: Sandbox): Promise<void> { return this.#c.leave(this.id, sb.id); }
  delete(force = false): Promise<void> { return this.#c.deleteEndpoint(this.id, force); }
  rename(name: string): void { this.#c.renameEndpoint(this.id, name); }
  setPorts(ports: PortBinding[]): Promise<void> { return this.#c.setPorts(this.id, ports); }
}

export class SandboxHandle implements Sandbox {
  readonly #c: Core;
  constructor(c: Core, readonly id: string) { this.#c = c; }
  get containerId(): string { return this.#c.live(this.id).rec.containerId; }
  get key(): string { return this.#c.live(this.id).rec.key; }
  get netns(): Netns | undefined { return this.#c.live(this.id).ns; }
  info(): SandboxInfo { return structuredClone(this.#c.live(this.id).rec); }
  endpoints(): Endpoint[] { return this.#c.live(this.id).rec.endpoints.map((id) => new EndpointHandle(this.#c, id)); }
  destroy(): Promise<void> { return this.#c.sandboxDestroy(this.id); }
}
