// The control socket of a running `drawbridge run`: how `drawbridge checkpoint PID` reaches
// it. A Unix socket per process in a folder only the user can enter; one JSON line in, one
// JSON line out. It never keeps the process alive.
//
// The folder is checked on both sides before it is used: it must be a folder (not a link),
// this user's, and closed to group and others. One that another user made (in a shared /tmp,
// say) could hold a socket of theirs posing as the run, or let them replace ours: it is
// refused with one line, and the run goes on without checkpoints.

import { lstatSync, mkdirSync, rmSync, statSync } from 'node:fs';
import type { Server } from 'node:net';
import { nodeNet } from '../host/node/lazy-builtins.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeOnExit } from './control-cleanup.ts';

export interface ControlRequest {
  op: 'checkpoint';
  /** Absolute path of the snapshot file to write. */
  out: string;
  leaveRunning: boolean;
  /** The host key file to seal it with (seal.ts; default: the writer's keyPath()). */
  key?: string;
  /** Encrypt it (AES-256-GCM). */
  encrypt?: boolean;
}
export type ControlResponse = { ok: true; bytes: number } | { ok: false; error: string };
export type ControlHandler = (req: ControlRequest) => Promise<ControlResponse>;

export function controlDir(): string {
  const base = process.env.XDG_RUNTIME_DIR ?? tmpdir();
  return join(base, `drawbridge-${process.getuid?.() ?? 'user'}`);
}

export function controlSocketPath(pid: number): string {
  return join(controlDir(), `${pid}.sock`);
}

/** What is wrong with the control folder `dir` (not a folder, not ours, open to others), or null. */
export function controlDirProblem(dir: string): string | null {
  let st;
  try {
    st = lstatSync(dir);
  } catch (e) {
    return `cannot read ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
  const fix = `remove it (only this user's, mode 0700, is used)`;
  if (!st.isDirectory()) return `${dir} is not a folder (a link or a file): ${fix}`;
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) return `${dir} belongs to uid ${st.uid}, not to this user (uid ${uid}): ${fix}`;
  if (st.mode & 0o077) return `${dir} has mode 0${(st.mode & 0o777).toString(8)}, open to others: ${fix}, or chmod 700 it`;
  return null;
}

/** The control socket of this process; null (after one line on stderr) when its folder cannot be trusted. */
export function serveControl(handler: ControlHandler): Server | null {
  const dir = controlDir();
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch {
    // Reported below by controlDirProblem.
  }
  const problem = controlDirProblem(dir);
  if (problem !== null) {
    process.stderr.write(`drawbridge: no checkpoints for this run: ${problem}\n`);
    return null;
  }
  const path = controlSocketPath(process.pid);
  rmSync(path, { force: true });
  const server = nodeNet().createServer((socket) => {
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let req: ControlRequest;
      try {
        req = JSON.parse(buf.slice(0, nl)) as ControlRequest;
      } catch {
        socket.end(JSON.stringify({ ok: false, error: 'bad request' }) + '\n');
        return;
      }
      handler(req).then(
        (res) => socket.end(JSON.stringify(res) + '\n'),
        (e: unknown) => socket.end(JSON.stringify({ ok: false, error: (e as Error).message }) + '\n'),
      );
    });
    socket.on('error', () => {});
  });
  // Before the socket exists: a signal that comes as soon as it does finds the cleanup in place.
  removeOnExit(path);
  server.listen(path);
  server.on('error', () => {
    // No control socket (e.g. an unwritable runtime folder): the program runs, uncapturable.
  });
  server.unref();
  return server;
}

/**
 * The control socket opens once the program has run this long: most runs are over sooner and
 * never need it, and opening it cost a few ms of every start (Node loads its cluster module
 * for a listen). sendControl waits for it when the process is alive.
 */
export const CONTROL_DELAY_MS = 25;
const CONTROL_WAIT_MS = 2000;

export function serveControlSoon(handler: ControlHandler): void {
  setTimeout(() => serveControl(handler), CONTROL_DELAY_MS).unref();
}

/** Whether anything (a link included) is at `path`. */
function present(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why the control socket of `pid` cannot be reached (or null once it can), waiting a little while the process is alive and just started. */
export async function controlReady(pid: number): Promise<string | null> {
  const dir = controlDir();
  const path = controlSocketPath(pid);
  const deadline = Date.now() + CONTROL_WAIT_MS;
  for (;;) {
    // A folder that is not there yet is waited for with the socket; one that is there is checked.
    const problem = present(dir) ? controlDirProblem(dir) : null;
    if (problem !== null) return problem;
    try {
      statSync(path);
      return null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return `no running drawbridge with pid ${pid} that can be checkpointed (${(e as Error).message})`;
      if (!alive(pid) || Date.now() > deadline) return `no running drawbridge with pid ${pid} that can be checkpointed (no ${path})`;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function sendControl(pid: number, req: ControlRequest, timeoutMs = 60_000): Promise<ControlResponse> {
  const path = controlSocketPath(pid);
  const why = await controlReady(pid);
  if (why !== null) return { ok: false, error: why };
  return new Promise((resolve) => {
    const socket = nodeNet().createConnection(path);
    let buf = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ok: false, error: `pid ${pid} did not answer within ${timeoutMs / 1000} s` });
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(JSON.stringify(req) + '\n'));
    socket.on('data', (d: string) => (buf += d));
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf) as ControlResponse);
      } catch {
        resolve({ ok: false, error: `pid ${pid} gave no answer` });
      }
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, error: `cannot reach pid ${pid}: ${e.message}` });
    });
  });
}
