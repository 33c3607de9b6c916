// A small router for the Docker Engine API: every route also answers under
// the /vX.Y/ prefix the client negotiates.
import { InvalidInputError } from '../errors.js';
import { decodePathParam, type BodyCheck } from './validate.js';

export interface ApiRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  /** The API version the client asked for in the path (/vX.Y/), else the daemon's. */
  version?: string;
}

export interface ApiResponse {
  status: number;
  body?: unknown;
  /** Raw text body (e.g. "OK" for /_ping) instead of JSON. */
  text?: string;
  headers?: Record<string, string>;
  /**
   * A stream instead of a body (exec start): the server sends the head
   * (101 on a connection the client asked to upgrade, else 200), then hands
   * over the writer; `end` closes the stream. What `run` returns is
   * called once the connection closes, however it closes (the client
   * leaving a long stream: events, wait).
   */
  attach?: {
    contentType: string;
    run: (write: (b: Buffer) => void, end: () => void) => (() => void) | void;
    /** The connection is taken over (101 when the client asked to upgrade), as dockerd hijacks exec start's; other streams are plain bodies either way. */
    hijack?: boolean;
  };
}

type Handler = (req: ApiRequest, params: string[]) => Promise<ApiResponse> | ApiResponse;

export interface RouteOptions {
  /** Checks (and normalises) the body before the handler runs; routes without one ignore the body, as dockerd does. */
  body?: BodyCheck;
}

export const API_VERSION = '1.50';
export const MIN_API_VERSION = '1.24';

export class Router {
  private readonly routes: { method: string; re: RegExp; handler: Handler; opts: RouteOptions }[] = [];

  /** `pattern` is a path where {name} is one segment; the rest is taken as a regular expression. */
  on(method: string, pattern: string, handler: Handler, opts: RouteOptions = {}): this {
    const re = new RegExp(`^${pattern.replace(/\{[a-z]+\}/gi, '([^/]+)')}$`);
    this.routes.push({ method, re, handler, opts });
    return this;
  }

  async dispatch(req: ApiRequest): Promise<ApiResponse> {
    let path = req.path;
    const v = /^\/v(\d+\.\d+)(\/.*)$/.exec(path);
    if (v) {
      if (compareVersions(v[1]!, MIN_API_VERSION) < 0)
        throw new InvalidInputError(`client version ${v[1]} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
      // dockerd's versionMiddleware: a client newer than the daemon is told so (the CLI then negotiates down).
      if (compareVersions(v[1]!, API_VERSION) > 0)
        throw new InvalidInputError(`client version ${v[1]} is too new. Maximum supported API version is ${API_VERSION}`);
      path = v[2]!;
    }
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    for (const r of this.routes) {
      if (r.method !== method) continue;
      const m = r.re.exec(path);
      if (!m) continue;
      const params = m.slice(1).map(decodePathParam);
      const body = r.opts.body ? r.opts.body(req.body) : undefined;
      return r.handler({ ...req, path, body, version: v?.[1] ?? API_VERSION }, params);
    }
    return { status: 404, body: { message: 'page not found' } };
  }
}

function compareVersions(a: string, b: string): number {
  const [a1, a2] = a.split('.').map(Number) as [number, number];
  const [b1, b2] = b.split('.').map(Number) as [number, number];
  return a1 - b1 || a2 - b2;
}
