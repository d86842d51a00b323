// `drawbridge serve`: one long-lived host process with a Pool (the picoprocess table over a
// pool of worker threads, pool.ts) behind the control API (http-api.ts), on loopback TCP or a
// unix socket.
//
// Where to find it: the daemon writes a small connection file (0600: it holds the token):
// { "url" | "socket", "token", "pid" }, by default at $DRAWBRIDGE_SERVE_FILE or
// ~/.cache/drawbridge/serve.json (serve-NAME.json for a named one); `drawbridge
// ps/spawn/kill/logs` read it (client.ts). One file per daemon (connection-file.ts): a second
// daemon refuses a file whose daemon is alive. The token is random (32 bytes) unless
// DRAWBRIDGE_TOKEN gives one.

import { newToken } from './token.ts';
import { chmodSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Limits } from '../monitor/manifest/manifest.ts';
import { createApiServer } from './http-api.ts';
import type { SessionTable } from './console/sessions.ts';
import type { EventsOptions } from './console/events.ts';
import { Pool } from './pool/pool.ts';
import { warmUpPool, warmUpModuleBytes, type WarmUpProgress, type WarmUpResult } from './pool/warm-up.ts';
import { isLoopbackIp } from '../abi/ip.ts';
import { ClusterMember, type ClusterOptions } from './cluster/cluster.ts';
import { localRequest } from './cluster/local-api.ts';
import { Failover } from './cluster/failover.ts';
import {
  answers,
  claimConnectionFile,
  daemonRunningMessage,
  defaultConnectionFile,
  liveDaemonAt,
  releaseConnectionFile,
  type Connection,
} from './connection-file.ts';

export { defaultConnectionFile, type Connection };

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
  /** Where picoprocesses in log mode keep their logs (default $DRAWBRIDGE_CACHE/durable). */
  logFolder?: string;
  /** Starts of a built-in guest before listening (warm-up.ts; default WARM_UP_STARTS with worker threads); 0: none. */
  warmUp?: number;
  /** Told how the warm-up goes (serve shows it). */
  warmUpProgress?: WarmUpProgress;
  /** One line per HTTP request (method, path, status, time); none without it. */
  log?: (line: string) => void;
  /** Join a cluster of hosts through NATS (docs/cluster.md). */
  cluster?: ClusterOptions;
  /** The web console's sessions (tests give a table with their own clock and bounds). */
  sessions?: SessionTable;
  /** The web console's event stream: its intervals and bounds. */
  events?: EventsOptions;
}

export interface Daemon {
  connection: Connection;
  pool: Pool;
  /** Its place in a cluster, when it joined one. */
  cluster: ClusterMember | null;
  server: Server;
  /** What warming the start path did before the daemon listened. */
  warmUp: WarmUpResult;
  close(): Promise<void>;
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
  const file = options.connectionFile === undefined ? defaultConnectionFile() : options.connectionFile;
  // Said before the warm-up, so a second daemon refuses at once (claimed again, atomically, below).
  const other = file ? await liveDaemonAt(file) : null;
  if (file && other) throw new Error(daemonRunningMessage(file, other));
  // A host of a cluster takes its slot first: its picoprocesses' ids come from that slot's range.
  const cluster = options.cluster ? await ClusterMember.join(options.cluster) : null;
  const pool = new Pool({
    limits: options.limits,
    prepare: options.prepare,
    workers: options.workers,
    logFolder: options.logFolder,
    firstId: cluster?.firstId,
  });
  let warmUp: WarmUpResult;
  try {
    await pool.ready();
    warmUp = await warmUpPool(pool, options.warmUp, warmUpModuleBytes(), options.warmUpProgress);
  } catch (e) {
    await pool.shutdown();
    await cluster?.leave();
    throw e;
  }
  let joined: ClusterMember | null = null;
  let failover: Failover | null = null;
  const server = createApiServer({
    pool,
    token,
    warmUp,
    log: options.log,
    cluster: () => joined,
    failover: () => failover,
    sessions: options.sessions,
    events: options.events,
  });
  const connection: Connection = { token, pid: process.pid };
  try {
    await listen(server, options, connection);
    if (file) await claimConnectionFile(file, connection);
    // Heard by the others once it answers on its own API.
    if (cluster) {
      await cluster.start(
        () => pool.size,
        (r) => localRequest(connection, r),
      );
      failover = await Failover.open(cluster.nats, cluster, pool);
      failover.start();
      joined = cluster;
    }
  } catch (e) {
    await pool.shutdown();
    await cluster?.leave();
    server.closeAllConnections();
    server.close();
    throw e;
  }
  return {
    connection,
    pool,
    cluster,
    server,
    warmUp,
    async close() {
      failover?.stop();
      await cluster?.leave();
      await pool.shutdown();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (file) releaseConnectionFile(file, connection);
    },
  };
}

async function listen(server: Server, options: DaemonOptions, connection: Connection): Promise<void> {
  if (options.socket) {
    // A socket file left by a daemon that died is replaced; a live one's is not taken over.
    if (await answers({ socket: options.socket, token: '' })) throw new Error(`something already listens on unix:${options.socket}`);
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
