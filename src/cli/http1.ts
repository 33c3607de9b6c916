// One HTTP/1.1 exchange over a unix socket, on node:net. The CLI makes one
// request per run, and node:http costs ~18 ms cold here (6 ms to load, the
// rest on first use) against ~5 ms for this, on a ~100 ms process start.
// Enough of HTTP for nsnet's API: Connection: close, Content-Length or
// chunked bodies.
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export function exchange(socketPath: string, method: string, path: string, body?: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect(socketPath, () => {
      const payload = body === undefined ? '' : body;
      const head = [`${method} ${path} HTTP/1.1`, 'Host: nsnet', 'Connection: close', 'User-Agent: nsnet-cli'];
      if (body !== undefined) head.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(payload)}`);
      // Not end(): the server may drop a half-closed connection before it answers.
      s.write(`${head.join('\r\n')}\r\n\r\n${payload}`);
    });
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', reject);
    s.on('end', () => {
      try {
        resolve(parse(Buffer.concat(chunks)));
      } catch (e) {
        reject(e);
      }
    });
  });
}

export function parse(raw: Buffer): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw new Error('malformed HTTP response from the daemon');
  const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
  if (!m) throw new Error(`malformed HTTP status line from the daemon: ${statusLine}`);
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let body = raw.subarray(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body);
  else if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  return { status: Number(m[1]), headers, body };
}

function dechunk(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = b.indexOf('\r\n', at);
    if (eol < 0) throw new Error('truncated chunked body from the daemon');
    const size = parseInt(b.subarray(at, eol).toString('latin1'), 16);
    if (!Number.isFinite(size)) throw new Error('malformed chunk size from the daemon');
    if (size === 0) return Buffer.concat(out);
    out.push(b.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}
