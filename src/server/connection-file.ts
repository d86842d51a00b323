// The connection file of a daemon: where `drawbridge ps/spawn/kill/logs/move` find it. One
// file per daemon: a second daemon given the same file refuses to start while the first is
// alive (its pid runs and its address answers), and replaces the file of one that is gone.
// Several daemons live side by side under names (`serve --name NAME`: serve-NAME.json beside
// the default file; clients pick one with DRAWBRIDGE_DAEMON=NAME or --host NAME).
//
// The file holds the token: it is written 0600 in a folder made 0700, claimed atomically
// (a hard link of a complete file, so no reader sees half of one and two daemons starting at
// once cannot both win), and removed at close only while it is still this daemon's.

import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface Connection {
  url?: string;
  socket?: string;
  token: string;
  pid?: number;
}

/** What a daemon's name may be: it becomes part of a file name. */
export const DAEMON_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function cacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'drawbridge');
}

/** The connection file of the daemon named `name`; without one, $DRAWBRIDGE_DAEMON's, else $DRAWBRIDGE_SERVE_FILE or the default. */
export function defaultConnectionFile(name: string | undefined = process.env.DRAWBRIDGE_DAEMON || undefined): string {
  if (name !== undefined) {
    if (!DAEMON_NAME.test(name)) throw new Error(`${name}: a daemon name is letters, digits, '.', '_' and '-' (at most 64)`);
    return join(cacheDir(), `serve-${name}.json`);
  }
  return process.env.DRAWBRIDGE_SERVE_FILE ?? join(cacheDir(), 'serve.json');
}

/** The connection in `path`, or null when there is none or it is not one. */
export function readConnectionFile(path: string): Connection | null {
  try {
    const c = JSON.parse(readFileSync(path, 'utf8')) as Connection;
    return typeof c.token === 'string' && (c.url || c.socket) ? c : null;
  } catch {
    return null;
  }
}

/** Whether process `pid` exists (EPERM: it does, as another user's). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether something accepts connections at c's address (within 1 s). */
export function answers(c: Connection): Promise<boolean> {
  return new Promise((resolve) => {
    const target = c.socket
      ? { path: c.socket }
      : (() => {
          const u = new URL(c.url!);
          return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(u.port) };
        })();
    const s = connect(target);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 1000);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** The live daemon whose connection file `path` is (its pid runs and its address answers), or null. */
export async function liveDaemonAt(path: string): Promise<Connection | null> {
  const c = readConnectionFile(path);
  if (!c || c.pid === undefined || !pidAlive(c.pid)) return null;
  return (await answers(c)) ? c : null;
}

/** The one line a second daemon on the same connection file says. */
export function daemonRunningMessage(path: string, c: Connection): string {
  return (
    `a daemon is already running with ${path} (pid ${c.pid}, ${c.url ?? `unix:${c.socket}`}): ` +
    `stop it, or start this one with --name NAME (its clients then set DRAWBRIDGE_DAEMON=NAME) or --connection-file FILE`
  );
}

/** Write c as the connection file `path`, unless a live daemon holds it (thrown as one line); a dead one's is replaced. */
export async function claimConnectionFile(path: string, c: Connection): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(c) + '\n', { mode: 0o600 });
  try {
    for (let tries = 0; ; tries++) {
      try {
        linkSync(tmp, path);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || tries === 3) throw e;
      }
      const other = await liveDaemonAt(path);
      if (other) throw new Error(daemonRunningMessage(path, other));
      rmSync(path, { force: true });
    }
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Remove `path` if it still holds c (a daemon that replaced a stale file of ours keeps its own). */
export function releaseConnectionFile(path: string, c: Connection): void {
  const now = readConnectionFile(path);
  if (now && now.pid === c.pid && now.token === c.token && now.url === c.url && now.socket === c.socket) rmSync(path, { force: true });
}
