// The client side of the control API, for `drawbridge ps/spawn/kill/logs` and the tests.
// Finds the daemon through DRAWBRIDGE_URL / DRAWBRIDGE_SOCKET + DRAWBRIDGE_TOKEN, or the
// connection file the daemon wrote (connection-file.ts; DRAWBRIDGE_DAEMON=NAME picks a named one).

import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { DAEMON_NAME, defaultConnectionFile, pidAlive, type Connection } from './connection-file.ts';

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** The connection file the client commands use: DRAWBRIDGE_DAEMON's, else the default (a bad name is one line). */
function clientConnectionFile(): string {
  try {
    return defaultConnectionFile();
  } catch (e) {
    throw new ApiError(0, `DRAWBRIDGE_DAEMON=${(e as Error).message}`);
  }
}

export function findConnection(file?: string): Connection {
  const token = process.env.DRAWBRIDGE_TOKEN;
  if (file === undefined && token && (process.env.DRAWBRIDGE_URL || process.env.DRAWBRIDGE_SOCKET)) {
    return { url: process.env.DRAWBRIDGE_URL, socket: process.env.DRAWBRIDGE_SOCKET, token };
  }
  file ??= clientConnectionFile();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new ApiError(0, `no drawbridge daemon found (${file} is missing): start one with drawbridge serve, or set DRAWBRIDGE_URL and DRAWBRIDGE_TOKEN`);
  }
  const c = JSON.parse(text) as Connection;
  if (typeof c.token !== 'string' || (!c.url && !c.socket)) throw new ApiError(0, `${file}: not a drawbridge connection file`);
  return c;
}

/**
 * The daemon that `--host WHERE` names: a connection file (*.json), a daemon's name (serve
 * --name), a unix socket (unix:PATH, or a path), or a URL / ADDR:PORT; without WHERE, the one findConnection() finds. The token
 * of an address comes from DRAWBRIDGE_TOKEN, or else from the default connection file.
 */
export function connectionFor(where?: string): Connection {
  if (where === undefined) return findConnection();
  if (where.endsWith('.json')) return findConnection(where);
  // A name a daemon was started with (serve --name NAME), when it has a connection file.
  if (DAEMON_NAME.test(where) && !/:\d+$/.test(where)) {
    const named = defaultConnectionFile(where);
    if (existsSync(named)) return findConnection(named);
  }
  let token = process.env.DRAWBRIDGE_TOKEN;
  if (!token) {
    try {
      token = findConnection().token;
    } catch {
      throw new ApiError(0, `--host ${where}: set DRAWBRIDGE_TOKEN to that daemon's token (or name its connection file)`);
    }
  }
  if (where.startsWith('unix:')) return { socket: where.slice(5), token };
  if (/^https?:\/\//.test(where)) return { url: where, token };
  if (/^(\[[^\]]+\]|[^/:]+):\d+$/.test(where)) return { url: `http://${where}`, token };
  return { socket: where, token };
}

export interface CallOptions {
  body?: unknown;
  raw?: Uint8Array;
  /** Stream the response body here instead of collecting it (logs --follow). */
  onData?: (chunk: Uint8Array) => void;
}

/** Where node:http reaches a daemon: its unix socket, or its loopback host and port. */
export function requestTarget(c: Connection): { socketPath: string } | { host: string; port: number } {
  if (c.socket) return { socketPath: c.socket };
  const u = new URL(c.url!);
  return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(u.port) };
}

/** One API call; resolves with the parsed JSON (or the raw bytes for octet-stream answers). */
export function call(c: Connection, method: string, path: string, options: CallOptions = {}): Promise<any> {
  const payload = options.raw ?? (options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body)));
  const target = requestTarget(c);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        ...target,
        method,
        path,
        headers: {
          authorization: `Bearer ${c.token}`,
          ...(payload ? { 'content-type': options.raw ? 'application/octet-stream' : 'application/json', 'content-length': payload.length } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        const streaming = options.onData && res.statusCode === 200;
        res.on('data', (chunk: Buffer) => (streaming ? options.onData!(chunk) : chunks.push(chunk)));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          const type = res.headers['content-type'] ?? '';
          if (res.statusCode! >= 400) {
            let message = bytes.toString();
            try {
              message = (JSON.parse(message) as { error: string }).error;
            } catch {
              // not JSON: keep the text
            }
            reject(new ApiError(res.statusCode!, message.trim()));
          } else if (streaming) resolve(null);
          else resolve(type.startsWith('application/json') ? JSON.parse(bytes.toString()) : new Uint8Array(bytes));
        });
        res.on('error', reject);
      },
    );
    req.on('error', (e) => {
      // A connection file left by a daemon that is gone: say so rather than ECONNREFUSED alone.
      const gone = c.pid !== undefined && !pidAlive(c.pid) ? ` (its pid ${c.pid} is not running: start one with drawbridge serve)` : '';
      reject(new ApiError(0, `cannot reach the drawbridge daemon: ${e.message}${gone}`));
    });
    req.end(payload);
  });
}
