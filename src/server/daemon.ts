// `drawbridge serve`: one long-lived host process with a Pool (the picoprocess table over a
// pool of worker threads, pool.ts) behind the control API (http-api.ts), on loopback TCP or a
// unix socket.
//
// Where to find it: the daemon writes a small connection file (0600: it holds the token):
// { "url" | "socket", "token", "pid" }, by default at $DRAWBRIDGE_SERVE_FILE or
// ~/.cache/drawbridge/serve.json; `drawbridge ps/spawn/kill/logs` read it (client.ts).
// The token is random (32 bytes) unless DRAWBRIDGE_TOKEN gives one.

import { newToken } from './token.ts';
import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Limits } from '../monitor/manifest/manifest.ts';
import { createApiServer } from './http-api.ts';
import { Pool } from './pool/pool.ts';
import { warmUpPool, type WarmUpResult } from './pool/warm-up.ts';
import { isLoopbackIp } from '../abi/ip.ts';

export interface Connection {
  url?: string;
  socket?: string;
  token: string;
  pid?: number;
}

export interface DaemonOptions {
  /** ADDR:PORT on a loopback address (port 0: any free port). Default 127.0.0.1:0 unless socket. */
  listen?: string;
  /** A unix socket path instead of TCP. */
  socket?: string;
  token?: string;
  /** Where to write the connection file; null: do not write one. */
  connectionFile?: string | null;
  limits?: Partial<Limits>;
  prepare?: boolean;
  /** Worker threads (default: one per core); 0: everything on the main thread. */
  workers?: number;
  /** Starts of a built-in guest before listening (warm-up.ts; default WARM_UP_STARTS with worker threads); 0: none. */
  warmUp?: number;
}

export interface Daemon {
  connection: Connection;
  pool: Pool;
  server: Server;
  /** What warming the start path did before the daemon listened. */
  warmUp: WarmUpResult;
  close(): Promise<void>;
}

export function defaultConnectionFile(): string {
  return process.env.DRAWBRIDGE_SERVE_FILE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'drawbridge', 'serve.json');
}

/** host:port on a loopback address, or an error message. */
export function parseLoopback(text: string): { host: string; port: number } | string {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(text);
  if (!m || Number(m[2]) > 65535) return `${text}: expected ADDR:PORT (127.0.0.1:7070)`;
  const host = m[1]!.replace(/^\[(.*)\]$/, '$1');
  if (host !== 'localhost' && !isLoopbackIp(host)) {
    return `${text}: the control API listens on loopback only (127.0.0.1, ::1) or a unix socket; the token is all that guards it`;
  }
  return { host, port: Number(m[2]) };
}

export async function startDaemon(options: DaemonOptions = {}): Promise<Daemon> {
  const token = options.token ?? process.env.DRAWBRIDGE_TOKEN ?? newToken();
  // A refused address is refused before any worker starts.
  const at = options.socket ? null : parseLoopback(options.listen ?? '127.0.0.1:0');
  if (typeof at === 'string') throw new Error(at);
  const pool = new Pool({ limits: options.limits, prepare: options.prepare, workers: options.workers });
  let warmUp: WarmUpResult;
  try {
    await pool.ready();
    warmUp = await warmUpPool(pool, options.warmUp);
  } catch (e) {
    await pool.shutdown();
    throw e;
  }
  const server = createApiServer({ pool, token, warmUp });
  const connection: Connection = { token, pid: process.pid };
  try {
    await listen(server, options, connection);
  } catch (e) {
    await pool.shutdown();
    throw e;
  }
  const file = options.connectionFile === undefined ? defaultConnectionFile() : options.connectionFile;
  if (file) writeConnectionFile(file, connection);
  return {
    connection,
    pool,
    server,
    warmUp,
    async close() {
      await pool.shutdown();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (file) rmSync(file, { force: true });
    },
  };
}

async function listen(server: Server, options: DaemonOptions, connection: Connection): Promise<void> {
  if (options.socket) {
    rmSync(options.socket, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.socket, () => resolve());
    });
    chmodSync(options.socket, 0o600);
    connection.socket = options.socket;
  } else {
    const at = parseLoopback(options.listen ?? '127.0.0.1:0');
    if (typeof at === 'string') throw new Error(at);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(at.port, at.host, () => resolve());
    });
    const addr = server.address() as AddressInfo;
    connection.url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  }
}

function writeConnectionFile(path: string, c: Connection): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(c) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}
