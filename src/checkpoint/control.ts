// The control socket of a running `drawbridge run`: how `drawbridge checkpoint PID` reaches
// it. A Unix socket per process in a folder only the user can enter; one JSON line in, one
// JSON line out. It never keeps the process alive.

import { mkdirSync, rmSync, statSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

export function controlDir(): string {
  const base = process.env.XDG_RUNTIME_DIR ?? tmpdir();
  return join(base, `drawbridge-${process.getuid?.() ?? 'user'}`);
}

export function controlSocketPath(pid: number): string {
  return join(controlDir(), `${pid}.sock`);
}

export function serveControl(handler: (req: ControlRequest) => Promise<ControlResponse>): Server {
  const dir = controlDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = controlSocketPath(process.pid);
  rmSync(path, { force: true });
  const server = createServer((socket) => {
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
  server.listen(path);
  server.on('error', () => {
    // No control socket (e.g. an unwritable runtime folder): the program runs, uncapturable.
  });
  server.unref();
  process.on('exit', () => rmSync(path, { force: true }));
  return server;
}

/**
 * The control socket opens once the program has run this long: most runs are over sooner and
 * never need it, and opening it cost a few ms of every start (Node loads its cluster module
 * for a listen). sendControl waits for it when the process is alive.
 */
export const CONTROL_DELAY_MS = 25;
const CONTROL_WAIT_MS = 2000;

export function serveControlSoon(handler: (req: ControlRequest) => Promise<ControlResponse>): void {
  setTimeout(() => serveControl(handler), CONTROL_DELAY_MS).unref();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the socket exists, waiting a little while the process is alive and just started. */
async function socketReady(pid: number, path: string): Promise<string | null> {
  const deadline = Date.now() + CONTROL_WAIT_MS;
  for (;;) {
    try {
      statSync(path);
      return null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return (e as Error).message;
      if (!alive(pid) || Date.now() > deadline) return `no ${path}`;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function sendControl(pid: number, req: ControlRequest, timeoutMs = 60_000): Promise<ControlResponse> {
  const path = controlSocketPath(pid);
  const why = await socketReady(pid, path);
  if (why !== null) return { ok: false, error: `no running drawbridge with pid ${pid} that can be checkpointed (${why})` };
  return new Promise((resolve) => {
    const socket = createConnection(path);
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
