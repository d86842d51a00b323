// `drawbridge serve` (the daemon) and the commands that talk to it: ps, spawn, kill, logs.
// See docs/serve.md.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startDaemon } from '../server/daemon.ts';
import { ApiError, call, findConnection } from '../server/client.ts';
import type { ProcessInfo } from '../server/supervisor.ts';
import type { CommandIo } from './manifest-command.ts';

export const SERVE_USAGE = `usage: drawbridge serve [--listen ADDR:PORT | --socket PATH] [--connection-file FILE] [--no-prepare]

Runs a long-lived host: picoprocesses are started, listed, stopped, checkpointed and restored
through an HTTP+JSON control API on a loopback address (default 127.0.0.1, any free port) or a
unix socket, guarded by a bearer token (DRAWBRIDGE_TOKEN, or a random one). The address and
token go into a connection file (0600; default ~/.cache/drawbridge/serve.json) where
drawbridge ps/spawn/kill/logs find them. Stops on SIGINT or SIGTERM, killing what runs.`;

export const SPAWN_USAGE = `usage: drawbridge spawn [--manifest FILE] [--dir HOST[::GUEST]]... [--env NAME=VALUE]...
                        [--stdin TEXT] [--close-stdin] [--follow] [--] MODULE.wasm [ARGS...]
Starts a picoprocess in the daemon and prints its id; --follow then prints its stdout until it
ends and exits with its status.`;

const PS_USAGE = 'usage: drawbridge ps [--json]';
const KILL_USAGE = 'usage: drawbridge kill ID...';
const LOGS_USAGE = 'usage: drawbridge logs [--stderr] [--follow] ID';

function fail(io: CommandIo, command: string, e: unknown): number {
  if (e instanceof ApiError) {
    io.err(`drawbridge ${command}: ${e.message}`);
    return 1;
  }
  throw e;
}

export async function serveCommand(argv: string[], io: CommandIo): Promise<number> {
  let listen: string | undefined;
  let socket: string | undefined;
  let connectionFile: string | undefined;
  let prepare = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--listen') listen = argv[++i];
    else if (a === '--socket') socket = argv[++i];
    else if (a === '--connection-file') connectionFile = argv[++i];
    else if (a === '--no-prepare') prepare = false;
    else if (a === '-h' || a === '--help') {
      io.out(SERVE_USAGE);
      return 0;
    } else {
      io.err(`drawbridge serve: unexpected argument ${a}\n${SERVE_USAGE}`);
      return 2;
    }
  }
  let daemon;
  try {
    daemon = await startDaemon({ listen, socket: socket && resolve(socket), connectionFile, prepare });
  } catch (e) {
    io.err(`drawbridge serve: ${(e as Error).message}`);
    return 1;
  }
  io.out(`drawbridge serve: listening on ${daemon.connection.url ?? `unix:${daemon.connection.socket}`} (pid ${process.pid})`);
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await daemon.close();
  return 0;
}

export async function psCommand(argv: string[], io: CommandIo): Promise<number> {
  if (argv.some((a) => a !== '--json')) {
    io.err(PS_USAGE);
    return 2;
  }
  try {
    const { processes } = (await call(findConnection(), 'GET', '/v1/processes')) as { processes: ProcessInfo[] };
    if (argv.includes('--json')) {
      io.out(JSON.stringify(processes, null, 2));
      return 0;
    }
    const rows = [['ID', 'STATE', 'EXIT', 'CPU(ms)', 'MEM(KiB)', 'OUT(B)', 'COMMAND']];
    for (const p of processes) {
      rows.push([String(p.id), p.state, p.exitCode === null ? '-' : String(p.exitCode), p.cpuMs.toFixed(1), String(p.memoryBytes / 1024), String(p.stdoutBytes), p.args.join(' ')]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) io.out(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
    return 0;
  } catch (e) {
    return fail(io, 'ps', e);
  }
}

export async function spawnCommand(argv: string[], io: CommandIo): Promise<number> {
  const body: Record<string, unknown> = { dirs: [] as string[], env: {} as Record<string, string> };
  let follow = false;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-')) break;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new ApiError(0, `${a} needs a value`);
      return x;
    };
    try {
      if (a === '--manifest') body.manifest = readFileSync(v(), 'utf8');
      else if (a === '--dir') {
        const d = v();
        const sep = d.indexOf('::');
        // The daemon resolves nothing relative to its own directory: send absolute host paths.
        (body.dirs as string[]).push(sep >= 0 ? `${resolve(d.slice(0, sep))}::${d.slice(sep + 2)}` : `${resolve(d)}::${d.startsWith('/') ? d : '/' + d}`);
      } else if (a === '--env') {
        const e = v();
        const eq = e.indexOf('=');
        (body.env as Record<string, string>)[eq < 0 ? e : e.slice(0, eq)] = eq < 0 ? (process.env[e] ?? '') : e.slice(eq + 1);
      } else if (a === '--stdin') body.stdin = v();
      else if (a === '--close-stdin') body.closeStdin = true;
      else if (a === '--follow' || a === '-f') follow = true;
      else if (a === '-h' || a === '--help') {
        io.out(SPAWN_USAGE);
        return 0;
      } else {
        io.err(`drawbridge spawn: unknown option ${a}\n${SPAWN_USAGE}`);
        return 2;
      }
    } catch (e) {
      if (e instanceof ApiError) {
        io.err(`drawbridge spawn: ${e.message}`);
        return 2;
      }
      io.err(`drawbridge spawn: ${(e as Error).message}`);
      return 2;
    }
  }
  if (i >= argv.length) {
    io.err(`drawbridge spawn: missing MODULE.wasm\n${SPAWN_USAGE}`);
    return 2;
  }
  body.module = resolve(argv[i]!);
  body.args = argv.slice(i + 1);
  try {
    const c = findConnection();
    const { process: p } = (await call(c, 'POST', '/v1/processes', { body })) as { process: ProcessInfo };
    io.out(String(p.id));
    if (!follow) return 0;
    await call(c, 'GET', `/v1/processes/${p.id}/stdout?follow=1`, { onData: (chunk) => void process.stdout.write(chunk) });
    const { process: end } = (await call(c, 'GET', `/v1/processes/${p.id}/wait`)) as { process: ProcessInfo };
    if (end.error) io.err(`drawbridge: ${p.args[0]}: ${end.error}`);
    return end.exitCode ?? 1;
  } catch (e) {
    return fail(io, 'spawn', e);
  }
}

export async function killCommand(argv: string[], io: CommandIo): Promise<number> {
  if (argv.length === 0 || argv.some((a) => !/^\d+$/.test(a))) {
    io.err(KILL_USAGE);
    return 2;
  }
  let status = 0;
  for (const id of argv) {
    try {
      const { process: p } = (await call(findConnection(), 'POST', `/v1/processes/${id}/kill`)) as { process: ProcessInfo };
      io.out(`${p.id} ${p.state} ${p.exitCode}`);
    } catch (e) {
      status = fail(io, 'kill', e);
    }
  }
  return status;
}

export async function logsCommand(argv: string[], io: CommandIo): Promise<number> {
  const follow = argv.includes('--follow') || argv.includes('-f');
  const which = argv.includes('--stderr') ? 'stderr' : 'stdout';
  const ids = argv.filter((a) => !a.startsWith('-'));
  if (ids.length !== 1 || !/^\d+$/.test(ids[0]!) || argv.some((a) => a.startsWith('-') && !['--follow', '-f', '--stderr'].includes(a))) {
    io.err(LOGS_USAGE);
    return 2;
  }
  try {
    await call(findConnection(), 'GET', `/v1/processes/${ids[0]}/${which}${follow ? '?follow=1' : ''}`, { onData: (chunk) => void process.stdout.write(chunk) });
    return 0;
  } catch (e) {
    return fail(io, 'logs', e);
  }
}
