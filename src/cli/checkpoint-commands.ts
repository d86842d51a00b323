// drawbridge checkpoint PID -o FILE [--leave-running] [--encrypt] [--key FILE]
// drawbridge restore FILE [--manifest F] [--dir HOST::GUEST]... [--key FILE] [--trust-unsealed]
// drawbridge prepare MODULE.wasm
// drawbridge key, drawbridge measure MODULE (key-commands.ts)

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { serveControlOfContinued } from '../checkpoint/migrate-control.ts';
import { connectMigration, PageStore, receiveMigrations, type MigrationLink } from '../checkpoint/migrate.ts';
import { receiverToken, senderToken, TOKEN_ENV } from '../checkpoint/migrate-auth.ts';
import { isLoopbackHost, normalizePin, selfSignedIdentity } from '../checkpoint/migrate-tls.ts';
import { createNodeHost } from '../host/node/index.ts';
import { flushInheritedOutput } from '../host/node/index.ts';
import { controlReady, sendControl } from '../checkpoint/control.ts';
import { ExtensionError, loadExtensions } from '../runtime/extensions.ts';
import { ModuleError, readModuleFile } from '../runtime/module-cache.ts';
import { compileImage, snapshotImage, startOptions } from '../runtime/load.ts';
import { startCommand } from '../runtime/picoprocess.ts';
import { AUTO_PREPARE_MAX_BYTES, keepPrepared, PrepareError, prepareModule, preparedPath, waitsOnlyByDefault } from '../runtime/prepare.ts';
import { decodeSnapshot, SnapshotError, type Snapshot } from '../checkpoint/snapshot.ts';
import { compareRequest, missingGrantsMessage, stateForStack } from '../checkpoint/request.ts';
import { KeyError, keyPath } from '../checkpoint/seal.ts';
import { checkMeasurement, isSnapshotOrSealed, openSealedBytes, readSealedSnapshot, readSnapshotBytes } from '../checkpoint/snapshot-file.ts';
import { decodeLogCheckpoint, isDurableLog, isLogCheckpoint, logFileCheckpoint, requestOf } from '../checkpoint/log-checkpoint.ts';
import { restoreLogCheckpoint } from './log-restore.ts';
import { GRANT_OPTIONS, grantsFromFlags, measuredManifest, type Grants } from './grant-flags.ts';
import type { CommandIo } from './manifest-command.ts';
import { optionsHelp, parseCommandArgs, type OptionTable } from './args.ts';

export const CHECKPOINT_USAGE =
  'usage: drawbridge checkpoint PID -o FILE [--leave-running] [--encrypt] [--key FILE]\n       drawbridge checkpoint --host [WHERE] ID -o FILE [--leave-running]   (a picoprocess of drawbridge serve)';
export const RESTORE_USAGE =
  'usage: drawbridge restore FILE [--manifest F] [--dir HOST::GUEST]... [--env NAME=VALUE]... [--listen ADDR:PORT]...\n                         [--connect HOST:PORT]... [--ext NAME]... [--key FILE]... [--trust-unsealed] [--ignore-measurement]\n       drawbridge restore --host [WHERE] FILE [--worker K]   (into drawbridge serve; prints the new id)';

/** --host addresses a picoprocess of a drawbridge serve daemon (serve-commands.ts). */
const forDaemon = (argv: string[]): boolean => argv.some((a) => a === '--host' || a.startsWith('--host='));
export const PREPARE_USAGE = 'usage: drawbridge prepare [--waits-only | --full] [--wasm-opt] MODULE.wasm';

const HELP = { type: 'boolean', short: 'h' } as const;
/** --key FILE: the host key to seal with, or (repeatable) to accept seals of. */
const KEY = { type: 'string', value: 'FILE', needs: 'a file: --key FILE' } as const;
const CHECKPOINT_OPTIONS = {
  output: { type: 'string', short: 'o', value: 'FILE' },
  'leave-running': { type: 'boolean' },
  encrypt: { type: 'boolean' },
  key: KEY,
  help: HELP,
} as const satisfies OptionTable;
/** --dir HOST::GUEST: the host folder for the snapshot's mount at GUEST. */
const DIR = { type: 'string', multiple: true, value: 'HOST::GUEST', needs: 'HOST::GUEST' } as const;
const RESTORE_OPTIONS = {
  ...GRANT_OPTIONS,
  key: {
    ...KEY,
    multiple: true,
    help: "accept snapshots sealed with the key in FILE (repeatable;\ndefault: this host's key, $DRAWBRIDGE_KEY or ~/.config/drawbridge/host.key)",
  },
  'trust-unsealed': { type: 'boolean', help: 'restore a file with no seal, or sealed by a key not given\n(not encrypted): only one whose source you trust' },
  durable: {
    type: 'string',
    value: 'FILE',
    help: 'a log checkpoint: where the restored program logs on (default: the\ncache folder, removed when it ends); docs/durable.md',
  },
  module: {
    type: 'string',
    value: 'FILE',
    help: 'restoring a durable log left by a run that died (with --trust-unsealed):\nthe module it ran, which the log names by SHA-256',
  },
  'ignore-measurement': {
    type: 'boolean',
    help: 'restore a sealed snapshot under another manifest or flags than\nit ran with (a module_sha256 pin is still checked)',
  },
  help: { ...HELP, help: 'show this help' },
} as const satisfies OptionTable;

/** The one positional, a PID (`checkpoint`, `migrate`): null when missing, or the message for a word that is not one. */
function pidOperand(positionals: string[]): number | null | string {
  const unexpected = positionals.find((a, i) => i > 0 || !/^\d+$/.test(a));
  if (unexpected !== undefined) return `unexpected argument ${unexpected}`;
  return positionals.length ? Number(positionals[0]) : null;
}

/** checkpoint's PID, -o FILE and --leave-running; 'help', or a mistake's message. */
function checkpointArgs(argv: string[]): { pid: number; out: string; leaveRunning: boolean; encrypt: boolean; key: string } | 'help' | string {
  const a = parseCommandArgs(CHECKPOINT_OPTIONS, argv);
  if (a.kind !== 'ok') return a.kind === 'help' ? 'help' : a.message;
  const pid = pidOperand(a.positionals);
  if (typeof pid === 'string') return pid;
  if (pid === null || !a.values.output) return pid === null ? 'missing PID' : 'missing -o FILE';
  return { pid, out: a.values.output, leaveRunning: a.values['leave-running'], encrypt: a.values.encrypt, key: keyPath(a.values.key) };
}

interface RestoreArgs {
  file: string;
  grants: Grants;
  keys: string[];
  trustUnsealed: boolean;
  ignoreMeasurement: boolean;
  durable: string | undefined;
  module: string | undefined;
}

/** restore's FILE, the restorer's grants and the seal options; 'help', or a mistake's message. */
async function restoreArgs(argv: string[]): Promise<RestoreArgs | 'help' | string> {
  const a = parseCommandArgs(RESTORE_OPTIONS, argv);
  if (a.kind !== 'ok') return a.kind === 'help' ? 'help' : a.message;
  const bad = a.values.dir.find((d) => !d.includes('::'));
  if (bad !== undefined) return `--dir ${bad}: expected HOST::GUEST`;
  const [file, extra] = a.positionals;
  if (extra !== undefined) return `unexpected argument ${extra}`;
  if (!file) return 'missing FILE';
  const grants = await grantsFromFlags(a.values);
  if (typeof grants === 'string') return grants;
  return {
    file,
    grants,
    keys: a.values.key,
    trustUnsealed: a.values['trust-unsealed'],
    ignoreMeasurement: a.values['ignore-measurement'],
    durable: a.values.durable,
    module: a.values.module,
  };
}

export async function checkpointCommand(argv: string[], io: CommandIo): Promise<number> {
  if (forDaemon(argv)) return (await import('./serve-commands.ts')).daemonCheckpointCommand(argv, io);
  const p = checkpointArgs(argv);
  if (p === 'help') {
    io.out(
      `${CHECKPOINT_USAGE}\n\nWrites a snapshot of the picoprocess that \`drawbridge run\` with process id PID runs,\nthen stops it (with --leave-running, it goes on). Restore it with drawbridge restore.\nA run in log mode (--durable) gives a log checkpoint instead: its log so far, the module\nand a digest of its memory (docs/durable.md).\nWith --host, ID is a picoprocess of a drawbridge serve daemon (drawbridge checkpoint --host --help).`,
    );
    return 0;
  }
  if (typeof p === 'string') {
    io.err(`drawbridge checkpoint: ${p}; ${CHECKPOINT_USAGE}`);
    return 2;
  }
  const { pid, out, leaveRunning, encrypt, key } = p;
  const r = await sendControl(pid, { op: 'checkpoint', out: resolve(out), leaveRunning, key, encrypt });
  if (!r.ok) {
    io.err(`drawbridge checkpoint: ${r.error}`);
    return 1;
  }
  io.out(`checkpointed ${pid} to ${out} (${r.bytes} bytes)${leaveRunning ? '; it goes on running' : '; it stopped'}`);
  return 0;
}

const RESTORE_HELP = `${RESTORE_USAGE}

Continues a picoprocess from a snapshot, under this command's grants only: the manifest and
flags below, as drawbridge run takes them. What the snapshot records (its mounts, network
grants, listening sockets, extensions) is a request: a restore that does not grant all of it
is refused, naming each grant missing (a mount needs --dir HOST::GUEST; a socket that was
listening needs --listen). Host folders and extensions are never taken from the snapshot; an
extension named here gets the state the snapshot saved for the one of the same name.

The file must be sealed with this host's key (or one given with --key): an unsealed file, or
one sealed elsewhere, is refused unless --trust-unsealed. A sealed snapshot is bound to the
measurement it ran under (drawbridge measure): restored under another manifest or flags, it is
refused unless --ignore-measurement. A log checkpoint (drawbridge run --durable) is
restored by running its module again from the start, answered from its log (no output
written again), its memory checked where it was taken, and live from there, logging on
(docs/durable.md). With --host, it continues in a drawbridge serve daemon
instead (drawbridge restore --host --help).

${optionsHelp(RESTORE_OPTIONS)}`;

export async function restoreCommand(argv: string[], io: CommandIo): Promise<number> {
  if (forDaemon(argv)) return (await import('./serve-commands.ts')).daemonRestoreCommand(argv, io);
  const p = await restoreArgs(argv);
  if (p === 'help') {
    io.out(RESTORE_HELP);
    return 0;
  }
  if (typeof p === 'string') {
    io.err(`drawbridge restore: ${p}; ${RESTORE_USAGE.split('\n')[0]} (see drawbridge restore --help)`);
    return 2;
  }
  const { file, grants } = p;
  try {
    const bytes = readSnapshotBytes(file);
    // A durable log left by a run that died (docs/durable.md, "After a crash").
    if (isDurableLog(bytes)) return await restoreDurableLog(bytes, file, p, io);
    // What it is not (a bad magic, a truncation) is said before whether it is sealed.
    if (!isSnapshotOrSealed(bytes) && !isLogCheckpoint(bytes)) decodeSnapshot(bytes, file);
    const opened = openSealedBytes(bytes, file, { keyFiles: p.keys, trustUnsealed: p.trustUnsealed });
    if (isLogCheckpoint(opened.bytes)) {
      const cp = decodeLogCheckpoint(opened.bytes, file);
      const refused = missingGrantsMessage(compareRequest(requestOf(cp.meta), grants.manifest).missing);
      if (refused) throw new SnapshotError(refused);
      checkMeasurement(file, opened, measuredManifest(grants.manifest, grants.extensions), p.ignoreMeasurement);
      return await restoreLogCheckpoint(cp, file, grants, io, p.durable);
    }
    const snapshot = decodeSnapshot(opened.bytes, file, { lazyPages: true });
    // Missing grants first (what to add), then whether the grants are the ones it ran under.
    const refusal = missingGrantsMessage(compareRequest(snapshot.meta, grants.manifest).missing);
    if (refusal) throw new SnapshotError(refusal);
    checkMeasurement(file, opened, measuredManifest(grants.manifest, grants.extensions), p.ignoreMeasurement);
    return await runSnapshot(snapshot, file, grants, io);
  } catch (e) {
    if (
      e instanceof SnapshotError ||
      e instanceof KeyError ||
      e instanceof ModuleError ||
      e instanceof ExtensionError ||
      (e instanceof Error && /cannot reopen descriptor/.test(e.message))
    ) {
      io.err(`drawbridge restore: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

/** Restore from a durable log alone, after a crash: unsealed, so only with --trust-unsealed; the module from --module. */
async function restoreDurableLog(bytes: Uint8Array, file: string, p: RestoreArgs, io: CommandIo): Promise<number> {
  if (!p.trustUnsealed) {
    throw new SnapshotError(
      `${file} is a durable log, which is not sealed: anyone who can write it could have written it; restore it only if you trust it, with --trust-unsealed`,
    );
  }
  if (!p.module) throw new SnapshotError(`${file} is a durable log, which does not carry its module: give --module FILE`);
  const cp = logFileCheckpoint(bytes, await readModuleFile(p.module), file);
  const refused = missingGrantsMessage(compareRequest(requestOf(cp.meta), p.grants.manifest).missing);
  if (refused) throw new SnapshotError(refused);
  checkMeasurement(file, { bytes, measurement: null, sealed: false }, measuredManifest(p.grants.manifest, p.grants.extensions), p.ignoreMeasurement);
  return restoreLogCheckpoint(cp, file, p.grants, io, p.durable);
}

/**
 * Continue a snapshot to its end under the restorer's grants: restore and receive both come
 * here. Refused, in one line naming each, when the snapshot asks for a grant not given
 * (request.ts); extensions are the restorer's, with the state the snapshot saved for each name.
 */
async function runSnapshot(snapshot: Snapshot, name: string, grants: Grants, io: CommandIo): Promise<number> {
  const meta = snapshot.meta;
  if (!snapshot.module) throw new SnapshotError(`${name}: the snapshot does not carry its module`);
  const { missing, manifest } = compareRequest(meta, grants.manifest);
  const refusal = missingGrantsMessage(missing);
  if (refusal) throw new SnapshotError(refusal);
  const compiled = await compileImage(snapshotImage(snapshot.module, meta));
  const requests = grants.extensions;
  const stack = requests.length ? await loadExtensions(requests) : null;
  const saved = stateForStack(
    requests.map((r) => r.name),
    meta.extensions,
  );
  const running = await startCommand({
    ...startOptions(compiled, { extensions: stack ? () => stack.save() : undefined, restore: snapshot }),
    host: createNodeHost(),
    args: meta.args,
    manifest,
    stdin: 'inherit',
    stdout: 'inherit',
    stderr: 'inherit',
    wrapDk: stack
      ? (dk) => {
          const wrapped = stack.wrap(dk);
          stack.restore(saved);
          return wrapped;
        }
      : undefined,
  });
  // Checkpointable and migratable again, by this process's pid (migrate-control.ts).
  serveControlOfContinued(running, meta.module.name, (line) => io.err(`drawbridge: ${line}`));
  const status = await running.done.finally(() => stack?.close());
  flushInheritedOutput();
  if (status.error) io.err(`drawbridge: ${meta.module.name}: ${status.error}`);
  return status.exitCode;
}

export const RECEIVE_USAGE =
  'usage: drawbridge receive --listen ADDR:PORT [--token-file FILE] [--tls] [--manifest F] [--dir HOST::GUEST]... [--env NAME=VALUE]... [--connect HOST:PORT]... [--ext NAME]... [--once]';
export const MIGRATE_USAGE = 'usage: drawbridge migrate PID --to ADDR:PORT [--token-file FILE] [--pin SHA256]';

function endpoint(text: string | undefined): { host: string; port: number } | null {
  const m = text ? /^(.*):(\d+)$/.exec(text) : null;
  if (!m || Number(m[2]) > 65535) return null;
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', port: Number(m[2]) };
}

const RECEIVE_OPTIONS = {
  listen: { type: 'string', value: 'ADDR:PORT', help: 'where to listen; beyond loopback (a LAN address, 0.0.0.0)\nTLS is always on' },
  'token-file': {
    type: 'string',
    value: 'FILE',
    help: [
      'the token a sender must present: read from FILE (0600, yours), or',
      'made and written there (0600) when FILE does not exist; without it,',
      `$${TOKEN_ENV}, or a new token printed at start`,
    ].join('\n'),
  },
  tls: { type: 'boolean', help: 'TLS on loopback too (a new self-signed certificate at each\nstart; its fingerprint is printed)' },
  dir: { ...DIR, help: 'the host folder granted for the mount at GUEST (as restore)' },
  manifest: GRANT_OPTIONS.manifest,
  env: GRANT_OPTIONS.env,
  connect: GRANT_OPTIONS.connect,
  ext: GRANT_OPTIONS.ext,
  once: { type: 'boolean', help: 'exit after the first program, with its status' },
  help: HELP,
} as const satisfies OptionTable;
const MIGRATE_OPTIONS = {
  to: { type: 'string', value: 'ADDR:PORT', help: 'the drawbridge receive to send it to' },
  'token-file': { type: 'string', value: 'FILE', help: `the receiver's token (0600, yours); without it: $${TOKEN_ENV}` },
  pin: {
    type: 'string',
    value: 'SHA256',
    help: 'connect with TLS and accept only the certificate with this fingerprint (what\nthe receiver printed); required beyond loopback',
  },
  help: HELP,
} as const satisfies OptionTable;

interface ReceiveArgs {
  listen: { host: string; port: number };
  grants: Grants;
  once: boolean;
  tokenFile: string | undefined;
  tls: boolean;
}

/** receive's options: where it listens, the grants its picoprocesses run under (--manifest, --dir, ...); 'help', or a mistake's message. */
async function receiveArgs(argv: string[]): Promise<ReceiveArgs | 'help' | string> {
  const a = parseCommandArgs(RECEIVE_OPTIONS, argv);
  if (a.kind !== 'ok') return a.kind === 'help' ? 'help' : a.message;
  if (a.positionals.length) return `unexpected argument ${a.positionals[0]}`;
  if (a.values.dir.some((d) => !d.includes('::'))) return '--dir needs HOST::GUEST';
  const listen = endpoint(a.values.listen);
  if (!listen) return '--listen ADDR:PORT is required';
  // The guest's own listen grants come from the manifest: --listen is where receive listens.
  const grants = await grantsFromFlags({ ...a.values, listen: [] });
  if (typeof grants === 'string') return grants;
  // Beyond loopback the token must not travel in the clear: TLS, whatever was asked.
  return { listen, grants, once: a.values.once, tokenFile: a.values['token-file'], tls: a.values.tls || !isLoopbackHost(listen.host) };
}

/** migrate's PID, --to address, token file and pin; 'help', or a mistake's message. */
function migrateArgs(argv: string[]): { pid: number; to: { host: string; port: number }; tokenFile?: string; pin?: string } | 'help' | string {
  const a = parseCommandArgs(MIGRATE_OPTIONS, argv);
  if (a.kind !== 'ok') return a.kind === 'help' ? 'help' : a.message;
  const pid = pidOperand(a.positionals);
  if (typeof pid === 'string') return pid;
  const to = endpoint(a.values.to);
  if (pid === null || !to) return pid === null ? 'missing PID' : 'missing or bad --to ADDR:PORT';
  const pin = a.values.pin;
  if (pin !== undefined && normalizePin(pin) === null) return `--pin ${pin}: expected a SHA-256 fingerprint (64 hex digits, colons allowed)`;
  if (pin === undefined && !isLoopbackHost(to.host)) {
    return '--pin SHA256 is required beyond loopback (the fingerprint drawbridge receive printed), so that the token goes only to that receiver';
  }
  return { pid, to, tokenFile: a.values['token-file'], pin };
}

const RECEIVE_HELP = `${RECEIVE_USAGE}

Waits for picoprocesses sent by drawbridge migrate and runs each one here, as restore
would (one in log mode is replayed from its log, then goes live). Only a sender that presents the token is heard; it is checked before any byte of
a snapshot is read, and every offer is bounded (line length, module size, page count,
total bytes, a timeout for each read). Pages it already holds (from earlier migrations)
are not sent again.

${optionsHelp(RECEIVE_OPTIONS)}

With TLS it prints \`tls certificate sha256 FINGERPRINT\` (a new certificate at each
start): give it to the sender's --pin, with the token file, over a channel you trust
(docs/snapshot.md, "Migration").`;

const MIGRATE_HELP = `${MIGRATE_USAGE}

Sends the picoprocess of \`drawbridge run\` PID to a drawbridge receive at ADDR:PORT (only
what that host does not already hold) and stops it here. It connects, checks the pinned
certificate and is accepted with the token first, and only then checkpoints: a target
that is down or refuses leaves the program running here. A run in log mode (--durable)
is sent as its log, which the receiver replays (docs/durable.md).

${optionsHelp(MIGRATE_OPTIONS)}`;

export async function receiveCommand(argv: string[], io: CommandIo): Promise<number> {
  const p = await receiveArgs(argv);
  if (p === 'help') {
    io.out(RECEIVE_HELP);
    return 0;
  }
  if (typeof p === 'string') {
    io.err(`drawbridge receive: ${p}; ${RECEIVE_USAGE}`);
    return 2;
  }
  const { listen, grants, once } = p;
  let token: ReturnType<typeof receiverToken>;
  try {
    token = receiverToken(p.tokenFile);
  } catch (e) {
    io.err(`drawbridge receive: ${(e as Error).message}`);
    return 1;
  }
  const identity = p.tls ? selfSignedIdentity() : undefined;
  const store = new PageStore();
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((r) => (finish = r));
  const settle = (program: Promise<number>): void => {
    program.then(
      (code) => (once ? finish(code) : undefined),
      (e: unknown) => {
        io.err(`drawbridge receive: ${(e as Error).message}`);
        if (once) finish(1);
      },
    );
  };
  let server: Awaited<ReturnType<typeof receiveMigrations>>;
  try {
    server = await receiveMigrations({
      host: listen.host,
      port: listen.port,
      token: token.token,
      tls: identity,
      store,
      log: (l) => io.err(`drawbridge receive: ${l}`),
      onSnapshot: (snapshot, stats) => {
        io.err(
          `drawbridge receive: ${snapshot.meta.module.name}: received ${stats.sentPages} of ${stats.totalPages} pages${stats.moduleSent ? ' and the module' : ''}`,
        );
        if (once) server.close();
        settle(runSnapshot(snapshot, snapshot.meta.module.name, grants, io));
      },
      onLogCheckpoint: (checkpoint, stats) => {
        const name = checkpoint.meta.module.name;
        io.err(`drawbridge receive: ${name}: received its log (${stats.calls} calls, ${stats.logBytes} bytes)${stats.moduleSent ? ' and the module' : ''}`);
        if (once) server.close();
        // Replayed here under this receiver's grants, then live; checkpointable and migratable again.
        settle(restoreLogCheckpoint(checkpoint, name, grants, io));
      },
    });
  } catch (e) {
    io.err(`drawbridge receive: cannot listen on ${listen.host}:${listen.port}: ${(e as Error).message}`);
    return 1;
  }
  if (token.made === 'print') io.out(`token ${token.token}`);
  if (token.made === 'file') io.out(`token written to ${p.tokenFile}`);
  if (identity) io.out(`tls certificate sha256 ${identity.fingerprint}`);
  const addr = server.address();
  io.out(`listening on ${typeof addr === 'object' && addr ? `${addr.address}:${addr.port}` : String(addr)}`);
  return finished;
}

export async function migrateCommand(argv: string[], io: CommandIo): Promise<number> {
  const p = migrateArgs(argv);
  if (p === 'help') {
    io.out(MIGRATE_HELP);
    return 0;
  }
  if (typeof p === 'string') {
    io.err(`drawbridge migrate: ${p}; ${MIGRATE_USAGE}`);
    return 2;
  }
  const { pid, to } = p;
  let token: string | null;
  try {
    token = senderToken(p.tokenFile);
  } catch (e) {
    io.err(`drawbridge migrate: ${(e as Error).message}`);
    return 1;
  }
  if (token === null) {
    io.err(`drawbridge migrate: missing token: give --token-file FILE or set ${TOKEN_ENV} (the token drawbridge receive printed or wrote)`);
    return 2;
  }
  const unreachable = await controlReady(pid);
  if (unreachable !== null) {
    io.err(`drawbridge migrate: ${unreachable}`);
    return 1;
  }
  // Accepted first, checkpointed after: until then, a failure leaves the program running here.
  let link: MigrationLink;
  try {
    link = await connectMigration({ host: to.host, port: to.port, token, pin: p.pin });
  } catch (e) {
    io.err(`drawbridge migrate: ${(e as Error).message}; it goes on running here`);
    return 1;
  }
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-migrate-'));
  const file = join(dir, 'snapshot');
  const r = await sendControl(pid, { op: 'checkpoint', out: file, leaveRunning: false, key: keyPath() });
  if (!r.ok) {
    link.close();
    rmSync(dir, { recursive: true, force: true });
    io.err(`drawbridge migrate: ${r.error}`);
    return 1;
  }
  try {
    const bytes = readSealedSnapshot(file).bytes;
    if (isLogCheckpoint(bytes)) {
      const stats = await link.sendLog(bytes);
      rmSync(dir, { recursive: true, force: true });
      io.out(
        `migrated ${pid} to ${to.host}:${to.port} in log mode: sent its log (${stats.calls} calls, ${stats.logBytes} bytes)${stats.moduleSent ? ' and the module' : ', not the module'}`,
      );
      return 0;
    }
    const stats = await link.send(bytes);
    rmSync(dir, { recursive: true, force: true });
    io.out(
      `migrated ${pid} to ${to.host}:${to.port}: sent ${stats.sentPages} of ${stats.totalPages} pages${stats.moduleSent ? ' and the module' : ', not the module'}`,
    );
    return 0;
  } catch (e) {
    io.err(`drawbridge migrate: ${(e as Error).message}; the snapshot is kept in ${file} (drawbridge restore ${file})`);
    return 1;
  }
}

const PREPARE_OPTIONS = {
  'waits-only': {
    type: 'boolean',
    help: [
      'leave out the tick counter: the program can be checkpointed only while it',
      'waits in a call (a computing one is captured at its next call), and a host',
      'service cannot preempt it (it gets a worker thread of its own). Much cheaper',
      'to prepare for big modules (docs/snapshot.md, "Preparing big modules"): the',
      `default past ${AUTO_PREPARE_MAX_BYTES / 1024} KiB.`,
    ].join('\n'),
  },
  full: {
    type: 'boolean',
    help: `with the tick counter even past ${AUTO_PREPARE_MAX_BYTES / 1024} KiB (minutes and gigabytes on a big module).`,
  },
  'wasm-opt': {
    type: 'boolean',
    help: [
      "by Binaryen's wasm-opt, not drawbridge's own rewriters: slower to make (about",
      'a second for a small module), and it also optimizes the program (-O3 up to',
      '64 KiB, -O2 above), which may run faster than the original; it replaces the',
      "cache's entry, so later runs use it.",
    ].join('\n'),
  },
  help: HELP,
} as const satisfies OptionTable;

const PREPARE_HELP = `${PREPARE_USAGE}

Prepares a module for checkpoints (the tick counter and Asyncify, by drawbridge's own
rewriters, or Binaryen's wasm-opt with --wasm-opt) and caches it by content hash;
\`drawbridge run\` and \`drawbridge serve\` then use the prepared module. Modules up to
${AUTO_PREPARE_MAX_BYTES / 1024} KiB are prepared automatically at first run.

${optionsHelp(PREPARE_OPTIONS)}`;

export async function prepareCommand(argv: string[], io: CommandIo): Promise<number> {
  const a = parseCommandArgs(PREPARE_OPTIONS, argv);
  if (a.kind === 'help') {
    io.out(PREPARE_HELP);
    return 0;
  }
  // A mistake: its line (when it is about an option), then the whole help.
  if (a.kind === 'error' || a.positionals.length !== 1) {
    io.err(`${a.kind === 'error' ? `drawbridge prepare: ${a.message}\n` : ''}${PREPARE_HELP}`);
    return 2;
  }
  if (a.values['waits-only'] && a.values.full) {
    io.err(`drawbridge prepare: --waits-only and --full exclude each other\n${PREPARE_HELP}`);
    return 2;
  }
  const path = a.positionals[0]!;
  try {
    const bytes = await readModuleFile(path);
    // A big module is prepared waits-only unless told otherwise: the full preparation of one
    // takes minutes to hours and gigabytes (docs/snapshot.md, "Preparing big modules").
    const waitsOnly = a.values['waits-only'] === true || (a.values.full !== true && waitsOnlyByDefault(bytes));
    if (waitsOnly && !a.values['waits-only'])
      io.err(
        `drawbridge prepare: ${path} is over ${AUTO_PREPARE_MAX_BYTES / 1024} KiB: preparing it waits-only (captured while it waits in a call, not preempted; --full for the tick counter)`,
      );
    const started = Date.now();
    const tty = process.stderr.isTTY;
    const byWasmOpt = a.values['wasm-opt'] === true;
    const prepared = await prepareModule(bytes, {
      waitsOnly,
      ...(byWasmOpt ? { instrumenter: 'wasm-opt' as const } : {}),
      // A bar by steps (wasm-opt says nothing about its progress within one), and the time.
      onProgress: (phase, s, step, steps) => {
        const done = Math.round(((step - 1) / steps) * 20);
        const total = Math.round((Date.now() - started) / 1000);
        const line = `preparing ${path} [${'#'.repeat(done)}${'-'.repeat(20 - done)}] step ${step}/${steps}: ${phase}, ${total} s`;
        if (tty) process.stderr.write(`\r\x1b[K${line}`);
        else if (s % 10 === 0) io.err(line);
      },
    });
    if (tty) process.stderr.write('\r\x1b[K');
    if (byWasmOpt) keepPrepared(bytes, prepared, waitsOnly);
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    io.out(
      `prepared ${path}${waitsOnly ? ' (waits only)' : ''}: ${bytes.length} -> ${prepared.length} bytes (x${(prepared.length / bytes.length).toFixed(2)}) in ${secs} s: ${preparedPath(bytes, waitsOnly)}`,
    );
    return 0;
  } catch (e) {
    if (e instanceof ModuleError || e instanceof PrepareError) {
      io.err(`drawbridge prepare: ${e.message}`);
      return e instanceof ModuleError ? 2 : 1;
    }
    throw e;
  }
}
