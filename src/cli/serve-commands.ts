// `drawbridge serve` (the daemon) and the commands that talk to it: ps, spawn, kill, logs,
// move, and checkpoint/restore with --host (checkpoint-commands.ts hands those over).
// See docs/serve.md.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startDaemon } from '../server/daemon.ts';
import { parseLabels, type ClusterOptions } from '../server/cluster/cluster.ts';
import { hostname } from 'node:os';
import { WARM_UP_STARTS } from '../server/pool/warm-up.ts';
import { ApiError, call, connectionFor, findConnection } from '../server/client.ts';
import { DAEMON_NAME, defaultConnectionFile } from '../server/connection-file.ts';
import { warmUpDisplay } from './warm-up-progress.ts';
import { writeSealedSnapshot, readSealedSnapshot } from '../checkpoint/snapshot-file.ts';
import type { ProcessInfo } from '../server/supervisor.ts';
import type { CommandIo } from './manifest-command.ts';
import { optionsHelp, parseCommandArgs, wholeNumber, type OptionTable } from './args.ts';

// Each command's options, as data (args.ts reads them; serve's --help lists those with a text).
const HELP = { type: 'boolean', short: 'h' } as const;
const WORKERS_MAX = 256;
const WARM_UP_MAX = 100_000;
const SERVE_OPTIONS = {
  listen: { type: 'string', value: 'ADDR:PORT' },
  socket: { type: 'string', value: 'PATH' },
  'connection-file': {
    type: 'string',
    value: 'FILE',
    help: 'where to write the address and token (default ~/.cache/drawbridge/serve.json,\nor $DRAWBRIDGE_SERVE_FILE). Refused while a live daemon holds it.',
  },
  name: {
    type: 'string',
    value: 'NAME',
    help: 'run beside other daemons: its connection file is serve-NAME.json; the client\ncommands reach it with DRAWBRIDGE_DAEMON=NAME (checkpoint/restore: --host NAME).',
  },
  quiet: { type: 'boolean', short: 'q', help: 'no request log (one line per request on stderr) and no warm-up progress.' },
  workers: {
    type: 'string',
    value: 'N',
    needs: `a count from 0 to ${WORKERS_MAX}`,
    help: [
      'worker threads running picoprocesses (default: one per core); each new one',
      'goes to the least loaded. 0: everything on the main thread. A module that',
      'cannot be prepared (no preemption) always gets a worker thread of its own.',
    ].join('\n'),
  },
  'warm-up': {
    type: 'string',
    value: 'N',
    needs: `a count from 0 to ${WARM_UP_MAX}`,
    help: [
      'before listening, start and end N picoprocesses of a tiny built-in guest',
      `(default ${WARM_UP_STARTS}, 0.4-0.5 s; none with --workers 0, where it did not help), so that`,
      "the first tenants' starts run as fast as in a host that has served a while",
      '(its code optimized, its heap grown). 0: skip it.',
    ].join('\n'),
  },
  'no-prepare': {
    type: 'boolean',
    help: 'run modules as they are, unprepared: no checkpoint, no move, no preemption\n(with worker threads, each picoprocess then gets one of its own).',
  },
  cluster: {
    type: 'string',
    value: 'nats://HOST:PORT',
    help: [
      'join the cluster of hosts that share this NATS server (JetStream on):',
      'spawns go to the least loaded live host, ps --cluster lists them all, and',
      'kill/logs/checkpoint reach the host that runs the picoprocess (docs/cluster.md).',
      "Its name is --name (default: this machine's); credentials: DRAWBRIDGE_NATS_USER",
      'and DRAWBRIDGE_NATS_PASSWORD.',
    ].join('\n'),
  },
  labels: { type: 'string', value: 'K=V,...', help: "this host's labels in the cluster, which a spawn's labels must match." },
  'cluster-key': {
    type: 'string',
    value: 'FILE',
    help: 'a host key file every host of the cluster has (or $DRAWBRIDGE_CLUSTER_KEY): the\ncheckpoints hosts hand each other are sealed with it, others refused.',
  },
  help: HELP,
} as const satisfies OptionTable;
const SPAWN_OPTIONS = {
  manifest: { type: 'string', value: 'FILE' },
  dir: { type: 'string', multiple: true, value: 'HOST[::GUEST]' },
  env: { type: 'string', multiple: true, value: 'NAME=VALUE' },
  stdin: { type: 'string', value: 'TEXT' },
  'close-stdin': { type: 'boolean' },
  follow: { type: 'boolean', short: 'f' },
  durable: { type: 'boolean' },
  labels: { type: 'string', value: 'K=V,...' },
  help: HELP,
} as const satisfies OptionTable;
const PS_OPTIONS = { json: { type: 'boolean' }, cluster: { type: 'boolean' }, help: HELP } as const satisfies OptionTable;
const KILL_OPTIONS = { json: { type: 'boolean' }, help: HELP } as const satisfies OptionTable;
const LOGS_OPTIONS = { stderr: { type: 'boolean' }, follow: { type: 'boolean', short: 'f' }, help: HELP } as const satisfies OptionTable;
/** --worker K: a worker thread of the daemon, by number. */
const WORKER = { type: 'string', value: 'K', needs: 'a number: --worker K' } as const;
const MOVE_OPTIONS = { worker: WORKER, host: { type: 'string', value: 'NAME' }, help: HELP } as const satisfies OptionTable;
const DAEMON_CHECKPOINT_OPTIONS = {
  output: { type: 'string', short: 'o', value: 'FILE' },
  'leave-running': { type: 'boolean' },
  help: HELP,
} as const satisfies OptionTable;
const DAEMON_RESTORE_OPTIONS = {
  worker: WORKER,
  'trust-unsealed': { type: 'boolean' },
  key: { type: 'string', multiple: true, value: 'FILE' },
  help: HELP,
} as const satisfies OptionTable;
const isId = (a: string) => /^\d+$/.test(a);

export const SERVE_USAGE = `usage: drawbridge serve [--listen ADDR:PORT | --socket PATH] [--connection-file FILE | --name NAME]
                       [--workers N] [--warm-up N] [--no-prepare] [--quiet]

Runs a long-lived host: picoprocesses are started, listed, stopped, moved, checkpointed and
restored through an HTTP+JSON control API on a loopback address (default 127.0.0.1, any free
port) or a unix socket, guarded by a bearer token (DRAWBRIDGE_TOKEN, or a random one). The
address and token go into a connection file (0600; default ~/.cache/drawbridge/serve.json)
where drawbridge ps/spawn/kill/logs/move find them; one daemon per file. On a TCP address,
a web console is at / (log in once with the token; docs/serve.md). Logs one line per request
on stderr (time, method, path, status, duration; never the token) unless --quiet. Stops on
SIGINT or SIGTERM, killing what runs.

${optionsHelp(SERVE_OPTIONS)}`;

export const SPAWN_USAGE = `usage: drawbridge spawn [--manifest FILE] [--dir HOST[::GUEST]]... [--env NAME=VALUE]...
                        [--stdin TEXT] [--close-stdin] [--follow] [--durable] [--labels K=V,...] [--] MODULE.wasm [ARGS...]
Starts a picoprocess in the daemon and prints its id; --follow prints the id on stderr, then its
stdout until it ends, and exits with its status. --env NAME passes this shell's value of NAME.
--durable runs it in log mode, as a manifest's [continuity] mode = "log" does: every answer the
outside world gives it goes to a durable log in the daemon's folder (removed when it ends), which
is its checkpoint (and move), prepared or not (docs/durable.md). In a cluster, --labels puts it on
a live host with those labels (docs/cluster.md).
The daemon: DRAWBRIDGE_DAEMON=NAME (serve --name), else the default connection file.`;

const PS_USAGE = 'usage: drawbridge ps [--cluster] [--json]';
const PS_HELP = `${PS_USAGE}
Lists the daemon's picoprocesses, running and recently ended: id, state, exit status, why it
ended (exited N, killed, trap: ..., cpu time limit exceeded, ...), worker thread, how a
checkpoint captures it (CAPTURE: snapshot, log, or - when it cannot be), CPU time, memory,
output bytes, command. --cluster: those of every live host of its cluster, with their HOST
(docs/cluster.md). --json: the API's records (GET /v1/processes).`;
export const MOVE_USAGE = `usage: drawbridge move ID [--worker K | --host NAME]
Moves a running picoprocess of the daemon to its worker thread K (default: the least loaded
other one): a checkpoint there, a restore here, same id, its output going on. One in log mode
(spawn --durable) moves by its log: replayed there, nothing printed again, then live; one
whose module is not prepared (a worker thread of its own) moves to a new thread of its own,
without --worker. drawbridge ps shows where each one runs. In a cluster, --host moves it to
another host (docs/cluster.md): same id, its output so far carried with it.`;
export const DAEMON_CHECKPOINT_USAGE = 'usage: drawbridge checkpoint --host [WHERE] ID -o FILE [--leave-running]';
export const DAEMON_RESTORE_USAGE = 'usage: drawbridge restore --host [WHERE] FILE [--worker K] [--key FILE]... [--trust-unsealed]';
const HOST_HELP = `WHERE names the daemon: its connection file (*.json), a unix socket (unix:PATH or a path), or
ADDR:PORT; left out, the daemon that drawbridge ps finds. The token comes from DRAWBRIDGE_TOKEN
or the connection file.`;
const KILL_USAGE = 'usage: drawbridge kill [--json] ID...';
const KILL_HELP = `${KILL_USAGE}
Stops picoprocesses of the daemon (status 137) and prints each one's id, state and status
(--json: each one's record, as GET /v1/processes/ID gives it, one JSON object per line).`;
const LOGS_USAGE = 'usage: drawbridge logs [--stderr] [--follow] ID';
const LOGS_HELP = `${LOGS_USAGE}
Prints what picoprocess ID wrote to stdout (--stderr: stderr) that the daemon still holds (the
last 64 KiB); --follow (-f) goes on until it ends.`;

function fail(io: CommandIo, command: string, e: unknown): number {
  if (e instanceof ApiError) {
    io.err(`drawbridge ${command}: ${e.message}`);
    return 1;
  }
  throw e;
}

interface ServeArgs {
  listen: string | undefined;
  socket: string | undefined;
  connectionFile: string | undefined;
  quiet: boolean;
  prepare: boolean;
  workers: number | undefined;
  warmUp: number | undefined;
  cluster: ClusterOptions | undefined;
}

/** serve's options; 'help', or a mistake's message. */
function serveArgs(argv: string[]): ServeArgs | 'help' | string {
  const a = parseCommandArgs(SERVE_OPTIONS, argv);
  if (a.kind !== 'ok') return a.kind === 'help' ? 'help' : a.message;
  if (a.positionals.length) return `unexpected argument ${a.positionals[0]}`;
  const v = a.values;
  const workers = v.workers === undefined ? undefined : wholeNumber(v.workers, WORKERS_MAX);
  if (workers === null) return `--workers needs ${SERVE_OPTIONS.workers.needs}`;
  const warmUp = v['warm-up'] === undefined ? undefined : wholeNumber(v['warm-up'], WARM_UP_MAX);
  if (warmUp === null) return `--warm-up needs ${SERVE_OPTIONS['warm-up'].needs}`;
  if (v.name !== undefined && v['connection-file'] !== undefined) return '--name and --connection-file name the same file: give one';
  if (v.name !== undefined && !DAEMON_NAME.test(v.name)) return `--name ${v.name}: letters, digits, '.', '_' and '-' (at most 64)`;
  const connectionFile = v.name !== undefined ? defaultConnectionFile(v.name) : v['connection-file'];
  if (v.labels !== undefined && v.cluster === undefined) return '--labels names this host in a cluster: give --cluster nats://HOST:PORT';
  if (v['cluster-key'] !== undefined && v.cluster === undefined)
    return '--cluster-key seals what hosts of a cluster hand each other: give --cluster nats://HOST:PORT';
  let cluster: ClusterOptions | undefined;
  if (v.cluster !== undefined) {
    if (!/^(nats|tls):\/\/[^\s]+$/.test(v.cluster)) return `--cluster ${v.cluster}: expected nats://HOST:PORT`;
    const labels = parseLabels(v.labels ?? '');
    if (typeof labels === 'string') return `--labels ${labels}`;
    const name =
      v.name ??
      hostname()
        .split('.')[0]!
        .replace(/[^A-Za-z0-9_-]/g, '-');
    const keyFile = v['cluster-key'] ?? process.env.DRAWBRIDGE_CLUSTER_KEY;
    cluster = {
      url: v.cluster,
      name,
      labels,
      user: process.env.DRAWBRIDGE_NATS_USER,
      pass: process.env.DRAWBRIDGE_NATS_PASSWORD,
      keyFile: keyFile && resolve(keyFile),
    };
  }
  return { listen: v.listen, socket: v.socket, connectionFile, quiet: v.quiet, prepare: !v['no-prepare'], workers, warmUp, cluster };
}

export async function serveCommand(argv: string[], io: CommandIo): Promise<number> {
  const p = serveArgs(argv);
  if (p === 'help') {
    io.out(SERVE_USAGE);
    return 0;
  }
  if (typeof p === 'string') {
    io.err(`drawbridge serve: ${p}\n${SERVE_USAGE}`);
    return 2;
  }
  const { listen, socket, connectionFile, prepare, workers, warmUp, quiet, cluster } = p;
  const display = quiet ? undefined : warmUpDisplay(process.stderr);
  let daemon;
  try {
    daemon = await startDaemon({
      listen,
      socket: socket && resolve(socket),
      connectionFile,
      prepare,
      workers,
      warmUp,
      warmUpProgress: display,
      log: quiet ? undefined : (line) => io.err(line),
      cluster,
    });
  } catch (e) {
    display?.finish({ starts: 0, ms: 0, skipped: 'the daemon did not start' });
    io.err(`drawbridge serve: ${(e as Error).message}`);
    return 1;
  }
  display?.finish(daemon.warmUp);
  const threads = daemon.pool.workers().length;
  const w = daemon.warmUp;
  const warmed = w.starts > 0 ? `warmed up by ${w.starts} starts in ${w.ms} ms` : `no warm-up: ${w.skipped}`;
  io.out(
    `drawbridge serve: listening on ${daemon.connection.url ?? `unix:${daemon.connection.socket}`} (pid ${process.pid}, ${workers === 0 ? 'no worker threads' : `${threads} worker thread${threads === 1 ? '' : 's'}`}; ${warmed})`,
  );
  if (daemon.connection.url) {
    const where = connectionFile ?? defaultConnectionFile();
    io.out(`drawbridge serve: web console at ${daemon.connection.url}/ (log in with the token in ${where})`);
  }
  if (daemon.cluster) io.out(`drawbridge serve: host ${daemon.cluster.name} of the cluster at ${cluster!.url} (ids from ${daemon.cluster.firstId})`);
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await daemon.close();
  return 0;
}

export async function psCommand(argv: string[], io: CommandIo): Promise<number> {
  const a = parseCommandArgs(PS_OPTIONS, argv);
  if (a.kind === 'help') {
    io.out(PS_HELP);
    return 0;
  }
  if (a.kind !== 'ok' || a.positionals.length) {
    io.err(`drawbridge ps: ${a.kind === 'ok' ? `unexpected argument ${a.positionals[0]}` : a.message}\n${PS_USAGE}`);
    return 2;
  }
  try {
    const all = a.values.cluster === true;
    const { processes } = (await call(findConnection(), 'GET', all ? '/v1/processes?cluster=1' : '/v1/processes')) as {
      processes: (ProcessInfo & { host?: string; unreachable?: string })[];
    };
    if (a.values.json) {
      io.out(JSON.stringify(processes, null, 2));
      return 0;
    }
    const rows = [[...(all ? ['HOST'] : []), 'ID', 'STATE', 'EXIT', 'REASON', 'WORKER', 'CAPTURE', 'CPU(ms)', 'MEM(KiB)', 'OUT(B)', 'COMMAND']];
    for (const p of processes) {
      if (p.unreachable !== undefined) {
        // A host that did not answer.
        io.err(`drawbridge ps: host ${p.host}: ${p.unreachable}`);
        continue;
      }
      const worker = p.worker === undefined ? '-' : String(p.worker);
      rows.push([
        ...(all ? [p.host ?? '-'] : []),
        String(p.id),
        p.state,
        p.exitCode === null ? '-' : String(p.exitCode),
        p.reason ?? '-',
        worker,
        p.capture ?? '-',
        p.cpuMs.toFixed(1),
        String(p.memoryBytes / 1024),
        String(p.stdoutBytes),
        p.args.join(' '),
      ]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) io.out(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
    return 0;
  } catch (e) {
    return fail(io, 'ps', e);
  }
}

export async function spawnCommand(argv: string[], io: CommandIo): Promise<number> {
  // Options end at the module: what follows it are the program's arguments.
  const a = parseCommandArgs(SPAWN_OPTIONS, argv, { stopAtPositional: true });
  if (a.kind === 'help') {
    io.out(SPAWN_USAGE);
    return 0;
  }
  if (a.kind === 'error') {
    io.err(`drawbridge spawn: ${a.message}${a.reason === 'unknown option' ? `\n${SPAWN_USAGE}` : ''}`);
    return 2;
  }
  const v = a.values;
  // --env NAME takes this shell's value; unset, it is refused as run refuses it (not sent empty).
  const unset = v.env.find((e) => !e.includes('=') && process.env[e] === undefined);
  if (unset !== undefined) {
    io.err(`drawbridge spawn: --env ${unset}: expected NAME=VALUE, and "${unset}" is not set here`);
    return 2;
  }
  const body: Record<string, unknown> = {
    // The daemon resolves nothing relative to its own directory: send absolute host paths.
    dirs: v.dir.map((d) => {
      const sep = d.indexOf('::');
      return sep >= 0 ? `${resolve(d.slice(0, sep))}::${d.slice(sep + 2)}` : `${resolve(d)}::${d.startsWith('/') ? d : '/' + d}`;
    }),
    env: Object.fromEntries(
      v.env.map((e) => {
        const eq = e.indexOf('=');
        return eq < 0 ? [e, process.env[e]!] : [e.slice(0, eq), e.slice(eq + 1)];
      }),
    ),
  };
  if (v.stdin !== undefined) body.stdin = v.stdin;
  if (v['close-stdin']) body.closeStdin = true;
  if (v.durable) body.durable = true;
  if (v.labels !== undefined) {
    const labels = parseLabels(v.labels);
    if (typeof labels === 'string') {
      io.err(`drawbridge spawn: --labels ${labels}`);
      return 2;
    }
    body.labels = labels;
  }
  if (v.manifest !== undefined) {
    try {
      body.manifest = readFileSync(v.manifest, 'utf8');
    } catch (e) {
      io.err(`drawbridge spawn: ${(e as Error).message}`);
      return 2;
    }
  }
  const follow = v.follow;
  const [module, ...args] = a.positionals;
  if (module === undefined) {
    io.err(`drawbridge spawn: missing MODULE.wasm\n${SPAWN_USAGE}`);
    return 2;
  }
  body.module = resolve(module);
  body.args = args;
  try {
    const c = findConnection();
    const { process: p, warning } = (await call(c, 'POST', '/v1/processes', { body })) as { process: ProcessInfo; warning?: string };
    // It runs, but not quite as asked (its manifest's args won, it cannot be checkpointed, ...).
    if (warning) io.err(`drawbridge spawn: ${warning}`);
    if (!follow) {
      io.out(String(p.id));
      return 0;
    }
    // Its output alone goes to stdout; the id, for a later kill or logs, to stderr.
    io.err(`drawbridge spawn: id ${p.id}`);
    await call(c, 'GET', `/v1/processes/${p.id}/stdout?follow=1`, { onData: (chunk) => void process.stdout.write(chunk) });
    const { process: end } = (await call(c, 'GET', `/v1/processes/${p.id}/wait`)) as { process: ProcessInfo };
    if (end.error) io.err(`drawbridge: ${p.args[0]}: ${end.error}`);
    return end.exitCode ?? 1;
  } catch (e) {
    return fail(io, 'spawn', e);
  }
}

export async function killCommand(argv: string[], io: CommandIo): Promise<number> {
  const a = parseCommandArgs(KILL_OPTIONS, argv);
  if (a.kind === 'help') {
    io.out(KILL_HELP);
    return 0;
  }
  if (a.kind !== 'ok' || a.positionals.length === 0 || !a.positionals.every(isId)) {
    io.err(
      `drawbridge kill: ${a.kind !== 'ok' ? a.message : a.positionals.length ? `not an id: ${a.positionals.find((x) => !isId(x))}` : 'missing ID'}\n${KILL_USAGE}`,
    );
    return 2;
  }
  let status = 0;
  for (const id of a.positionals) {
    try {
      const { process: p } = (await call(findConnection(), 'POST', `/v1/processes/${id}/kill`)) as { process: ProcessInfo };
      io.out(a.values.json ? JSON.stringify(p) : `${p.id} ${p.state} ${p.exitCode}`);
    } catch (e) {
      status = fail(io, 'kill', e);
    }
  }
  return status;
}

export async function logsCommand(argv: string[], io: CommandIo): Promise<number> {
  const a = parseCommandArgs(LOGS_OPTIONS, argv);
  if (a.kind === 'help') {
    io.out(LOGS_HELP);
    return 0;
  }
  if (a.kind !== 'ok' || a.positionals.length !== 1 || !isId(a.positionals[0]!)) {
    io.err(
      `drawbridge logs: ${a.kind !== 'ok' ? a.message : a.positionals.length ? `expected one ID, got ${a.positionals.join(' ')}` : 'missing ID'}\n${LOGS_USAGE}`,
    );
    return 2;
  }
  const which = a.values.stderr ? 'stderr' : 'stdout';
  try {
    await call(findConnection(), 'GET', `/v1/processes/${a.positionals[0]}/${which}${a.values.follow ? '?follow=1' : ''}`, {
      onData: (chunk) => void process.stdout.write(chunk),
    });
    return 0;
  } catch (e) {
    return fail(io, 'logs', e);
  }
}

/** move's ID and --worker K; 'help', or a mistake's message. */
function moveArgs(argv: string[]): { id: string; worker: string | null; host: string | null } | 'help' | string {
  const a = parseCommandArgs(MOVE_OPTIONS, argv);
  if (a.kind !== 'ok') return a.kind === 'help' ? 'help' : a.message;
  const unexpected = a.positionals.find((x, i) => i > 0 || !isId(x));
  if (unexpected !== undefined) return `unexpected argument ${unexpected}`;
  const { worker, host } = a.values;
  if (worker !== undefined && !isId(worker)) return `--worker needs ${WORKER.needs}`;
  if (worker !== undefined && host !== undefined) return '--worker moves within this host, --host to another: give one';
  const [id] = a.positionals;
  return id === undefined ? 'missing ID' : { id, worker: worker ?? null, host: host ?? null };
}

export async function moveCommand(argv: string[], io: CommandIo): Promise<number> {
  const p = moveArgs(argv);
  if (p === 'help') {
    io.out(MOVE_USAGE);
    return 0;
  }
  if (typeof p === 'string') {
    io.err(`drawbridge move: ${p}\n${MOVE_USAGE}`);
    return 2;
  }
  const { id, worker, host } = p;
  const query = host !== null ? `?host=${encodeURIComponent(host)}` : worker === null ? '' : `?worker=${worker}`;
  try {
    const { process: p } = (await call(findConnection(), 'POST', `/v1/processes/${id}/move${query}`)) as {
      process: ProcessInfo & { host?: string };
    };
    io.out(host !== null ? `moved ${p.id} to host ${p.host}` : `moved ${p.id} to worker ${p.worker}`);
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

/** The daemon checkpoint's ID, -o FILE and --leave-running (--host taken out); 'help', or a mistake's message. */
function daemonCheckpointArgs(argv: string[]): { id: string; out: string; leave: boolean } | 'help' | string {
  const a = parseCommandArgs(DAEMON_CHECKPOINT_OPTIONS, argv);
  if (a.kind !== 'ok') return a.kind === 'help' ? 'help' : a.message;
  const unexpected = a.positionals.find((x, i) => i > 0 || !isId(x));
  if (unexpected !== undefined) return `unexpected argument ${unexpected}`;
  const [id] = a.positionals;
  if (id === undefined || !a.values.output) return id === undefined ? 'missing ID' : 'missing -o FILE';
  return { id, out: a.values.output, leave: a.values['leave-running'] };
}

/** The daemon restore's FILE and --worker K (--host taken out); 'help', or a mistake's message. */
function daemonRestoreArgs(argv: string[]): { file: string; worker: string | null; keys: string[]; trustUnsealed: boolean } | 'help' | string {
  const a = parseCommandArgs(DAEMON_RESTORE_OPTIONS, argv);
  if (a.kind !== 'ok') return a.kind === 'help' ? 'help' : a.message;
  const [file, extra] = a.positionals;
  if (extra !== undefined) return `unexpected argument ${extra}`;
  const { worker } = a.values;
  if (worker !== undefined && !isId(worker)) return `--worker needs ${WORKER.needs}`;
  return file ? { file, worker: worker ?? null, keys: a.values.key, trustUnsealed: a.values['trust-unsealed'] } : 'missing FILE';
}

/** drawbridge checkpoint --host [WHERE] ID -o FILE [--leave-running]: a daemon's picoprocess. */
export async function daemonCheckpointCommand(argv: string[], io: CommandIo): Promise<number> {
  // ID is a number and the output follows -o: a word after --host is WHERE unless it is a number.
  const h = hostOption(argv, isId);
  const p = daemonCheckpointArgs(h?.rest ?? argv);
  if (p === 'help') {
    io.out(
      `${DAEMON_CHECKPOINT_USAGE}\n\nWrites a checkpoint of picoprocess ID of a drawbridge serve daemon to FILE, sealed with this\nhost's key: a snapshot, or a log checkpoint when it runs in log mode (drawbridge ps, CAPTURE).\nIt then stops (state checkpointed), or with --leave-running goes on. ${HOST_HELP}`,
    );
    return 0;
  }
  if (typeof p === 'string') {
    io.err(`drawbridge checkpoint: ${p}; ${DAEMON_CHECKPOINT_USAGE}`);
    return 2;
  }
  const { id, out, leave } = p;
  try {
    const snapshot = (await call(connectionFor(h?.where), 'POST', `/v1/processes/${id}/checkpoint${leave ? '?leave_running=1' : ''}`)) as Uint8Array;
    writeSealedSnapshot(resolve(out), snapshot);
    io.out(`checkpointed ${id} to ${out} (${snapshot.length} bytes)${leave ? '; it goes on running' : '; it stopped'}`);
    return 0;
  } catch (e) {
    return fail(io, 'checkpoint', e);
  }
}

/** drawbridge restore --host [WHERE] FILE [--worker K]: continue a snapshot in a daemon; prints the new id. */
export async function daemonRestoreCommand(argv: string[], io: CommandIo): Promise<number> {
  // The one operand is FILE: a word after --host is WHERE when another operand follows.
  const operands = argv.filter((a, i) => !a.startsWith('-') && argv[i - 1] !== '--worker');
  const h = hostOption(argv, (a) => operands.length < 2 || a === operands[operands.length - 1]);
  const p = daemonRestoreArgs(h?.rest ?? argv);
  if (p === 'help') {
    io.out(
      `${DAEMON_RESTORE_USAGE}\n\nContinues a snapshot as a new picoprocess of a drawbridge serve daemon (on its worker K,\nor the least loaded) and prints its id. It runs with the daemon's default grants (none): a snapshot that asks for a
mount or a network grant is refused, naming it. A log checkpoint is replayed (nothing printed
again) and goes on in log mode; the id is printed once it has gone live, and a replay that
differs from the log is refused in one line. The file must be sealed with this host's key
(or one given with --key), unless --trust-unsealed. ${HOST_HELP}`,
    );
    return 0;
  }
  if (typeof p === 'string') {
    io.err(`drawbridge restore: ${p}; ${DAEMON_RESTORE_USAGE}`);
    return 2;
  }
  const { file, worker } = p;
  let bytes: Uint8Array;
  try {
    // The seal is checked here, by the key holder; the daemon gets the plain snapshot.
    bytes = readSealedSnapshot(file, { keyFiles: p.keys, trustUnsealed: p.trustUnsealed }).bytes;
  } catch (e) {
    io.err(`drawbridge restore: ${(e as Error).message}`);
    return 1;
  }
  try {
    const { process: p } = (await call(connectionFor(h?.where), 'POST', `/v1/restore${worker === null ? '' : `?worker=${worker}`}`, { raw: bytes })) as {
      process: ProcessInfo;
    };
    io.out(String(p.id));
    return 0;
  } catch (e) {
    return fail(io, 'restore', e);
  }
}
