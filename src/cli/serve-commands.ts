// `drawbridge serve` (the daemon) and the commands that talk to it: ps, spawn, kill, logs,
// move, and checkpoint/restore with --host (checkpoint-commands.ts hands those over).
// See docs/serve.md.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startDaemon } from '../server/daemon.ts';
import { WARM_UP_STARTS } from '../server/pool/warm-up.ts';
import { ApiError, call, connectionFor, findConnection } from '../server/client.ts';
import { writeFileAtomic } from '../checkpoint/snapshot.ts';
import type { ProcessInfo } from '../server/supervisor.ts';
import type { CommandIo } from './manifest-command.ts';

export const SERVE_USAGE = `usage: drawbridge serve [--listen ADDR:PORT | --socket PATH] [--connection-file FILE] [--workers N]
                       [--warm-up N] [--no-prepare]

Runs a long-lived host: picoprocesses are started, listed, stopped, moved, checkpointed and
restored through an HTTP+JSON control API on a loopback address (default 127.0.0.1, any free
port) or a unix socket, guarded by a bearer token (DRAWBRIDGE_TOKEN, or a random one). The
address and token go into a connection file (0600; default ~/.cache/drawbridge/serve.json)
where drawbridge ps/spawn/kill/logs/move find them. Stops on SIGINT or SIGTERM, killing what runs.

  --workers N   worker threads running picoprocesses (default: one per core); each new one
                goes to the least loaded. 0: everything on the main thread. A module that
                cannot be prepared (no preemption) always gets a worker thread of its own.
  --warm-up N   before listening, start and end N picoprocesses of a tiny built-in guest
                (default ${WARM_UP_STARTS}, 0.4-0.5 s; none with --workers 0, where it did not help), so that
                the first tenants' starts run as fast as in a host that has served a while
                (its code optimized, its heap grown). 0: skip it.
  --no-prepare  run modules as they are, unprepared: no checkpoint, no move, no preemption
                (with worker threads, each picoprocess then gets one of its own).`;

export const SPAWN_USAGE = `usage: drawbridge spawn [--manifest FILE] [--dir HOST[::GUEST]]... [--env NAME=VALUE]...
                        [--stdin TEXT] [--close-stdin] [--follow] [--] MODULE.wasm [ARGS...]
Starts a picoprocess in the daemon and prints its id; --follow then prints its stdout until it
ends and exits with its status.`;

const PS_USAGE = 'usage: drawbridge ps [--json]';
export const MOVE_USAGE = `usage: drawbridge move ID [--worker K]
Moves a running picoprocess of the daemon to its worker thread K (default: the least loaded
other one): a checkpoint there, a restore here, same id, its output going on. drawbridge ps
shows where each one runs.`;
export const DAEMON_CHECKPOINT_USAGE = 'usage: drawbridge checkpoint --host [WHERE] ID -o FILE [--leave-running]';
export const DAEMON_RESTORE_USAGE = 'usage: drawbridge restore --host [WHERE] FILE [--worker K]';
const HOST_HELP = `WHERE names the daemon: its connection file (*.json), a unix socket (unix:PATH or a path), or
ADDR:PORT; left out, the daemon that drawbridge ps finds. The token comes from DRAWBRIDGE_TOKEN
or the connection file.`;
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
  let workers: number | undefined;
  let warmUp: number | undefined;
  /** The count after flag argv[i] (0 to max), or null once the error is said. */
  const count = (i: number, max: number): number | null => {
    const v = argv[i + 1] ?? '';
    if (/^\d+$/.test(v) && Number(v) <= max) return Number(v);
    io.err(`drawbridge serve: ${argv[i]} needs a count from 0 to ${max}\n${SERVE_USAGE}`);
    return null;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--workers') {
      const n = count(i++, 256);
      if (n === null) return 2;
      workers = n;
    } else if (a === '--warm-up') {
      const n = count(i++, 100_000);
      if (n === null) return 2;
      warmUp = n;
    } else if (a === '--listen') listen = argv[++i];
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
    daemon = await startDaemon({ listen, socket: socket && resolve(socket), connectionFile, prepare, workers, warmUp });
  } catch (e) {
    io.err(`drawbridge serve: ${(e as Error).message}`);
    return 1;
  }
  const threads = daemon.pool.workers().length;
  const w = daemon.warmUp;
  const warmed = w.starts > 0 ? `warmed up by ${w.starts} starts in ${w.ms} ms` : `no warm-up: ${w.skipped}`;
  io.out(`drawbridge serve: listening on ${daemon.connection.url ?? `unix:${daemon.connection.socket}`} (pid ${process.pid}, ${workers === 0 ? 'no worker threads' : `${threads} worker thread${threads === 1 ? '' : 's'}`}; ${warmed})`);
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
    const rows = [['ID', 'STATE', 'EXIT', 'WORKER', 'CPU(ms)', 'MEM(KiB)', 'OUT(B)', 'COMMAND']];
    for (const p of processes) {
      const worker = p.worker === undefined ? '-' : String(p.worker);
      rows.push([String(p.id), p.state, p.exitCode === null ? '-' : String(p.exitCode), worker, p.cpuMs.toFixed(1), String(p.memoryBytes / 1024), String(p.stdoutBytes), p.args.join(' ')]);
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

export async function moveCommand(argv: string[], io: CommandIo): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    io.out(MOVE_USAGE);
    return 0;
  }
  let id: string | null = null;
  let worker: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--worker' && /^\d+$/.test(argv[i + 1] ?? '')) worker = argv[++i]!;
    else if (/^\d+$/.test(a) && id === null) id = a;
    else {
      io.err(`drawbridge move: unexpected argument ${a}\n${MOVE_USAGE}`);
      return 2;
    }
  }
  if (id === null) {
    io.err(`drawbridge move: missing ID\n${MOVE_USAGE}`);
    return 2;
  }
  try {
    const { process: p } = (await call(findConnection(), 'POST', `/v1/processes/${id}/move${worker === null ? '' : `?worker=${worker}`}`)) as { process: ProcessInfo };
    io.out(`moved ${p.id} to worker ${p.worker}`);
    return 0;
  } catch (e) {
    return fail(io, 'move', e);
  }
}

/** `--host` with an optional value: the value when the next word is not an ID, FILE or option. */
function hostOption(argv: string[], isOperand: (a: string) => boolean): { where: string | undefined; rest: string[] } | null {
  const rest: string[] = [];
  let where: string | undefined;
  let seen = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--host=')) {
      where = a.slice(7);
      seen = true;
    } else if (a === '--host') {
      seen = true;
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('-') && !isOperand(next)) where = argv[++i];
    } else rest.push(a);
  }
  return seen ? { where, rest } : null;
}

/** drawbridge checkpoint --host [WHERE] ID -o FILE [--leave-running]: a daemon's picoprocess. */
export async function daemonCheckpointCommand(argv: string[], io: CommandIo): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    io.out(`${DAEMON_CHECKPOINT_USAGE}\n\nWrites a snapshot of picoprocess ID of a drawbridge serve daemon to FILE; it then stops\n(state checkpointed), or with --leave-running goes on. ${HOST_HELP}`);
    return 0;
  }
  // ID is a number and the output follows -o: a word after --host is WHERE unless it is a number.
  const h = hostOption(argv, (a) => /^\d+$/.test(a));
  let id: string | null = null;
  let out: string | null = null;
  let leave = false;
  const rest = h?.rest ?? argv;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '-o' || a === '--output') out = rest[++i] ?? null;
    else if (a.startsWith('--output=')) out = a.slice(9);
    else if (a === '--leave-running') leave = true;
    else if (/^\d+$/.test(a) && id === null) id = a;
    else {
      io.err(`drawbridge checkpoint: unexpected argument ${a}; ${DAEMON_CHECKPOINT_USAGE}`);
      return 2;
    }
  }
  if (id === null || !out) {
    io.err(`drawbridge checkpoint: ${id === null ? 'missing ID' : 'missing -o FILE'}; ${DAEMON_CHECKPOINT_USAGE}`);
    return 2;
  }
  try {
    const snapshot = (await call(connectionFor(h?.where), 'POST', `/v1/processes/${id}/checkpoint${leave ? '?leave_running=1' : ''}`)) as Uint8Array;
    writeFileAtomic(resolve(out), snapshot);
    io.out(`checkpointed ${id} to ${out} (${snapshot.length} bytes)${leave ? '; it goes on running' : '; it stopped'}`);
    return 0;
  } catch (e) {
    return fail(io, 'checkpoint', e);
  }
}

/** drawbridge restore --host [WHERE] FILE [--worker K]: continue a snapshot in a daemon; prints the new id. */
export async function daemonRestoreCommand(argv: string[], io: CommandIo): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    io.out(`${DAEMON_RESTORE_USAGE}\n\nContinues a snapshot as a new picoprocess of a drawbridge serve daemon (on its worker K,\nor the least loaded) and prints its id. Its mounts are the snapshot's host folders. ${HOST_HELP}`);
    return 0;
  }
  // The one operand is FILE: a word after --host is WHERE when another operand follows.
  const operands = argv.filter((a, i) => !a.startsWith('-') && argv[i - 1] !== '--worker');
  const h = hostOption(argv, (a) => operands.length < 2 || a === operands[operands.length - 1]);
  let file: string | null = null;
  let worker: string | null = null;
  const rest = h?.rest ?? argv;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--worker' && /^\d+$/.test(rest[i + 1] ?? '')) worker = rest[++i]!;
    else if (!a.startsWith('-') && file === null) file = a;
    else {
      io.err(`drawbridge restore: unexpected argument ${a}; ${DAEMON_RESTORE_USAGE}`);
      return 2;
    }
  }
  if (!file) {
    io.err(`drawbridge restore: missing FILE; ${DAEMON_RESTORE_USAGE}`);
    return 2;
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    io.err(`drawbridge restore: ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    return 1;
  }
  try {
    const { process: p } = (await call(connectionFor(h?.where), 'POST', `/v1/restore${worker === null ? '' : `?worker=${worker}`}`, { raw: bytes })) as { process: ProcessInfo };
    io.out(String(p.id));
    return 0;
  } catch (e) {
    return fail(io, 'restore', e);
  }
}
