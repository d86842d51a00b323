// Picoprocesses in this Node.js process, for the public API: run a module to completion, start
// one and hold a handle on it, restore one from a snapshot. Each takes the runtime's one path,
// as `drawbridge run` and `drawbridge restore` do: loadProgram (load, prepare, compile),
// startCommand (instantiate under the manifest's limits), a Capturer's checkpoint sealed with
// the host key (snapshot-file.ts), and a restore that grants only what its caller grants
// (request.ts) and checks the seal and the measurement.

import type { Readable } from 'node:stream';
import { KILLED_EXIT_CODE, TRAP_EXIT_CODE } from '../abi/exit-status.ts';
import type { Host } from '../host/kernel/host.ts';
import { createNodeHost, flushInheritedOutput } from '../host/node/index.ts';
import { compileImage, loadProgram, snapshotImage, startOptions, type PreparePolicy } from '../runtime/load.ts';
import { startCommand, type ExitStatus as RuntimeExitStatus, type PicoprocessOptions, type Running } from '../runtime/picoprocess.ts';
import { Governor } from '../runtime/quotas.ts';
import { measureWith, type Measurement } from '../checkpoint/measure.ts';
import { compareRequest, missingGrantsMessage } from '../checkpoint/request.ts';
import { ensureKey, keyPath, seal } from '../checkpoint/seal.ts';
import { decodeSnapshot, SnapshotError, writeFileAtomic } from '../checkpoint/snapshot.ts';
import { checkMeasurement, isSnapshotOrSealed, openSealedBytes, readSnapshotBytes } from '../checkpoint/snapshot-file.ts';
import { isDurableLog, isLogCheckpoint } from '../checkpoint/log-checkpoint.ts';
import { measuredManifest } from '../cli/grant-flags.ts';
import { DrawbridgeError, publicErrors } from './errors.ts';
import { manifestOf } from './grants.ts';
import type { Grants, OutputOption, StdinOption } from './options.ts';
import { outputFor, stdinFor, type Output, type PipedStdin } from './stdio.ts';

/** How a picoprocess ended. */
export interface ExitStatus {
  /** The exit code: the guest's own, 134 for a trap, 137 when killed, 152 past its CPU time (docs/exit-status.md). */
  exitCode: number;
  /** One line when it did not simply exit: a trap, a misuse of the ABI, a stop (killed, a limit, output past `maxBuffer`). */
  error?: string;
  /** A trap's WebAssembly frames, innermost first, one line each. */
  backtrace?: string[];
  /** It was checkpointed and stopped (it continues from the snapshot). */
  checkpointed?: boolean;
}

/** Standard streams and the output bound, for {@link start}, {@link run} and {@link restore}. */
export interface StdioOptions {
  /** Standard input (default: `'pipe'` for {@link start} and {@link restore}, nothing for {@link run}). */
  stdin?: StdinOption;
  /** Standard output (default `'pipe'`). */
  stdout?: OutputOption;
  /** Standard error (default `'pipe'`). */
  stderr?: OutputOption;
  /**
   * Most bytes of output that may wait unread, for each of stdout and stderr (collected, in a
   * piped stream, or in a Writable's buffer): past it the picoprocess is stopped (status 137, its
   * `error` says why). Default 64 MiB.
   */
  maxBuffer?: number;
}

/** What {@link start} and {@link run} take. */
export interface StartOptions extends Grants, StdioOptions {
  /** The module: a path to a .wasm file, or its bytes. */
  module: string | Uint8Array;
  /** argv as the guest sees it, argv[0] first (default: `[module's path]`, or `['module']` for bytes). A manifest's `args` replace it. */
  args?: readonly string[];
  /**
   * Prepare the module for checkpoints (Asyncify and the tick counter, cached on disk by content
   * hash), as `drawbridge run` does: `'auto'` (the default) prepares modules up to 256 KiB and
   * bigger ones that `drawbridge prepare` prepared; `true` requires it (a DrawbridgeError
   * 'prepare' when it fails); `false` runs the module as it is (no checkpoints, and a loop
   * without system calls cannot be preempted or killed until it makes one).
   */
  checkpointable?: boolean | 'auto';
}

/** What {@link run} resolves with: the exit status and the output collected (empty unless piped). */
export interface RunResult extends ExitStatus {
  /** What the guest wrote to stdout, when stdout was `'pipe'`. */
  stdout: Uint8Array;
  /** What the guest wrote to stderr, when stderr was `'pipe'`. */
  stderr: Uint8Array;
}

/** How to take a checkpoint. */
export interface CheckpointOptions {
  /** Go on running after the snapshot (default: the picoprocess stops, its status `checkpointed`). */
  leaveRunning?: boolean;
  /** The host key file to seal with (default: `$DRAWBRIDGE_KEY`, else ~/.config/drawbridge/host.key; made when missing). */
  keyFile?: string;
  /** Encrypt the snapshot as well as authenticate it. */
  encrypt?: boolean;
}

/** What {@link restore} takes. */
export interface RestoreOptions extends Grants, StdioOptions {
  /** The snapshot: its bytes (as {@link Picoprocess.checkpoint} gives them), or a path to a snapshot file. */
  snapshot: Uint8Array | string;
  /** Accept snapshots sealed with these key files (default: this host's key). */
  keyFiles?: readonly string[];
  /** Restore a snapshot that is not sealed, or sealed by a key not given (not encrypted): only one whose source you trust. */
  trustUnsealed?: boolean;
  /** Restore a sealed snapshot under other grants than it ran with (a manifest's `module_sha256` pin is still checked). */
  ignoreMeasurement?: boolean;
}

const DEFAULT_MAX_BUFFER = 64 * 1024 * 1024;
const REQUIRED_NODE = 24;

let sharedHost: Host | null = null;

/** Picoprocesses need JSPI, on by default from Node.js 24. */
function checkNode(): void {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < REQUIRED_NODE || typeof (WebAssembly as { Suspending?: unknown }).Suspending !== 'function') {
    throw new DrawbridgeError(
      'node',
      `drawbridge needs Node.js >= ${REQUIRED_NODE} (WebAssembly JSPI); this is ${process.versions.node}: install Node.js ${REQUIRED_NODE}`,
    );
  }
}

/** How a picoprocess was started: what its handle needs. */
interface Started {
  running: Running;
  governor: Governor;
  stdin: PipedStdin | null;
  stdout: Output;
  stderr: Output;
  /** The measurement its checkpoints are sealed with (null: none known). */
  measurement: Measurement | null;
  /** Why it cannot be checkpointed (null: it can). */
  whyNot: string | null;
  stopped: () => string | null;
}

let makeHandle: (started: Started) => Picoprocess;

/**
 * A running picoprocess started by {@link start} or {@link restore}: wait for it, kill it,
 * write its stdin, read its output, checkpoint it.
 */
export class Picoprocess {
  /** The guest's stdout as a stream, when stdout was `'pipe'` (else null). It ends when the picoprocess ends. */
  readonly stdout: Readable | null;
  /** The guest's stderr as a stream, when stderr was `'pipe'` (else null). */
  readonly stderr: Readable | null;
  readonly #started: Started;
  readonly #done: Promise<ExitStatus>;

  // Made by start(), run() and restore() only (through makeHandle).
  private constructor(started: Started) {
    this.#started = started;
    this.stdout = started.stdout.readable;
    this.stderr = started.stderr.readable;
    this.#done = started.running.done.then(
      (status) => ({ ...publicStatus(status), ...stoppedBecause(started.stopped()) }),
      (e: unknown) => ({ exitCode: TRAP_EXIT_CODE, error: `host error: ${(e as Error).message}` }),
    );
    void this.#done.then(() => {
      started.stdin?.close();
      started.stdout.end();
      started.stderr.end();
      flushInheritedOutput();
    });
  }

  /** The kernel's id of this picoprocess (unique in this Node.js process). */
  get id(): number {
    return this.#started.running.process.id;
  }

  /** Whether {@link checkpoint} can capture it (its module is prepared). */
  get checkpointable(): boolean {
    return this.#started.running.checkpoint !== undefined;
  }

  /** Resolves with its exit status when it ends (exits, traps, is killed or checkpointed); never rejects. */
  wait(): Promise<ExitStatus> {
    return this.#done;
  }

  /** Stop it: it ends with status 137 at its next system call (a prepared module also within its computation). */
  kill(): void {
    this.#started.governor.requestStop(KILLED_EXIT_CODE, 'killed');
  }

  /**
   * Write to its stdin (started with stdin `'pipe'`). Resolves once the guest's input queue took
   * the bytes (it waits while more than 1 MiB waits unread); rejects once stdin is closed.
   */
  async writeStdin(data: Uint8Array | string): Promise<void> {
    const feed = this.#pipedStdin('writeStdin');
    await feed.give(typeof data === 'string' ? new TextEncoder().encode(data) : data);
  }

  /** End its stdin: the guest reads what is queued, then end of input. */
  closeStdin(): void {
    this.#pipedStdin('closeStdin').close();
  }

  /**
   * Take a snapshot, sealed with the host key and bound to the module and grants it runs under
   * (what `drawbridge checkpoint` writes): its bytes, for {@link restore} here or `drawbridge
   * restore` elsewhere with the same key. Without `leaveRunning` it then stops.
   */
  async checkpoint(options: CheckpointOptions = {}): Promise<Uint8Array> {
    const take = this.#started.running.checkpoint;
    if (!take) throw new DrawbridgeError('checkpoint', this.#started.whyNot ?? 'this picoprocess cannot be checkpointed: start it with checkpointable: true');
    return publicErrors(async () => {
      const key = ensureKey(keyPath(options.keyFile)).key;
      let snapshot: Uint8Array;
      // A request the program never reaches (it ended, or was checkpointed and stopped, first or
      // before) is refused, not left waiting; a capture that stops it answers before it ends.
      const ended = this.#started.running.done.then(() => Promise.reject(new Error('the picoprocess has ended')));
      try {
        snapshot = await Promise.race([take(options.leaveRunning === true), ended]);
      } catch (e) {
        throw new DrawbridgeError('checkpoint', `cannot checkpoint: ${(e as Error).message}`, { cause: e });
      }
      return seal(snapshot, key, { encrypt: options.encrypt, measurement: this.#started.measurement ?? undefined });
    });
  }

  /** {@link checkpoint} written to `path` atomically (a file `drawbridge restore` reads); resolves with its size. */
  async checkpointToFile(path: string, options: CheckpointOptions = {}): Promise<number> {
    const bytes = await this.checkpoint(options);
    writeFileAtomic(path, bytes);
    return bytes.length;
  }

  static {
    makeHandle = (started) => new Picoprocess(started);
  }

  #pipedStdin(what: string): PipedStdin {
    const feed = this.#started.stdin;
    if (!feed) throw new DrawbridgeError('stdio', `${what}: stdin was not 'pipe' when the picoprocess started`);
    return feed;
  }
}

function publicStatus(s: RuntimeExitStatus): ExitStatus {
  const out: ExitStatus = { exitCode: s.exitCode };
  if (s.error !== undefined) out.error = s.error;
  if (s.backtrace !== undefined) out.backtrace = s.backtrace;
  if (s.checkpointed) out.checkpointed = true;
  return out;
}

function stoppedBecause(reason: string | null): Partial<ExitStatus> {
  return reason === null ? {} : { error: reason };
}

/** The stdio of a picoprocess about to start; output past maxBuffer stops it through `governor`. */
function stdioFor(options: StdioOptions, mode: 'collect' | 'stream', stdinDefault: 'pipe' | 'ignore', governor: Governor) {
  let stopped: string | null = null;
  const maxBuffer = options.maxBuffer ?? DEFAULT_MAX_BUFFER;
  const overflow = (which: string) => (unread: number) => {
    stopped = `${which}: ${unread} bytes unread, more than maxBuffer (${maxBuffer}): read it as it comes, or raise maxBuffer`;
    governor.requestStop(KILLED_EXIT_CODE, stopped);
  };
  const stdin = stdinFor(options.stdin, stdinDefault);
  const stdout = outputFor(options.stdout, mode, maxBuffer, overflow('stdout'));
  const stderr = outputFor(options.stderr, mode, maxBuffer, overflow('stderr'));
  const io: Pick<PicoprocessOptions, 'stdin' | 'stdout' | 'stderr' | 'stdioStreams'> = { stdin: stdin.source, stdout: stdout.sink, stderr: stderr.sink };
  if (stdin.feed) io.stdioStreams = [stdin.feed];
  return { io, feed: stdin.feed, stdout, stderr, stopped: () => stopped };
}

/** Start a picoprocess in `mode` (collected output for run, streams for a handle). */
async function launch(options: StartOptions, mode: 'collect' | 'stream'): Promise<Started> {
  checkNode();
  const manifest = manifestOf(options);
  const name = typeof options.module === 'string' ? options.module : 'module';
  const prepare: PreparePolicy = options.checkpointable === true ? 'always' : options.checkpointable === false ? 'never' : 'auto';
  const program = await loadProgram({
    source: options.module,
    name,
    prepare,
    mayTierUp: true,
    memoryLimit: manifest.limits.memory,
    moduleSha256: manifest.moduleSha256,
  });
  return begin(
    {
      ...startOptions(program),
      args: manifest.args ?? options.args ?? [name],
      manifest,
      listenSockets: (options.listen ?? []).map((a) => `tcp.server:${a}`),
    },
    options,
    mode,
    { measurement: measureWith(program.sourceSha256(), measuredManifest(manifest, [])), whyNot: program.why },
  );
}

/** startCommand with the stdio `options` ask for and a governor of our own. */
async function begin(
  given: Omit<PicoprocessOptions, 'host'>,
  options: StdioOptions,
  mode: 'collect' | 'stream',
  capture: Pick<Started, 'measurement' | 'whyNot'>,
): Promise<Started> {
  // A governor of our own: kill() stops the guest through it, and a guest that computes past
  // its CPU time is stopped at its next check, never by ending this whole process (as the
  // CLI's watchdog does for a module without the tick counter).
  const governor = new Governor(given.manifest.limits.cpuTimeMs);
  const stdio = stdioFor(options, mode, mode === 'stream' ? 'pipe' : 'ignore', governor);
  let running: Running;
  try {
    running = await startCommand({ ...given, host: (sharedHost ??= createNodeHost()), governor, ...stdio.io });
  } catch (e) {
    stdio.feed?.close(); // a stream being read into it stops
    throw e;
  }
  return { running, governor, stdin: stdio.feed, stdout: stdio.stdout, stderr: stdio.stderr, stopped: stdio.stopped, ...capture };
}

/**
 * Start a picoprocess and return its handle at once; it runs while this process's event loop
 * does. It is granted only what `options` grant.
 *
 * @example
 * ```ts
 * const p = await start({ module: 'echo.wasm', stdin: 'pipe' });
 * await p.writeStdin('hello\n');
 * p.closeStdin();
 * const status = await p.wait();
 * ```
 */
export function start(options: StartOptions): Promise<Picoprocess> {
  return publicErrors(async () => makeHandle(await launch(options, 'stream')));
}

/**
 * Run a module to completion and resolve with its exit status and collected output (stdin: none
 * unless given). A guest that exits with a non-zero status or traps resolves too: look at
 * `exitCode` and `error`; what rejects is a module that cannot start.
 *
 * @example
 * ```ts
 * const r = await run({ module: 'hello.wasm', args: ['hello', 'you'] });
 * process.stdout.write(r.stdout);
 * ```
 */
export function run(options: StartOptions): Promise<RunResult> {
  return publicErrors(async () => {
    const started = await launch(options, 'collect');
    const status = await makeHandle(started).wait();
    return { ...status, stdout: started.stdout.collected(), stderr: started.stderr.collected() };
  });
}

/**
 * Continue a picoprocess from a snapshot ({@link Picoprocess.checkpoint}'s bytes, or a file that
 * `drawbridge checkpoint` wrote), under the grants of `options` only, as `drawbridge restore`:
 * what the snapshot records (mounts, network grants, listening sockets) is a request, and a
 * restore that does not grant all of it is refused naming each grant missing. The snapshot must
 * be sealed with this host's key (or one of `keyFiles`) unless `trustUnsealed`, and a sealed one
 * is restored only under the grants it ran with unless `ignoreMeasurement`.
 */
export function restore(options: RestoreOptions): Promise<Picoprocess> {
  return publicErrors(async () => {
    checkNode();
    const name = typeof options.snapshot === 'string' ? options.snapshot : 'snapshot';
    const bytes = typeof options.snapshot === 'string' ? readSnapshotBytes(options.snapshot) : options.snapshot;
    if (isDurableLog(bytes) || isLogCheckpoint(bytes)) throw new SnapshotError(`${name} is a log checkpoint: restore it with drawbridge restore`);
    // What it is not (a bad magic, a truncation) is said before whether it is sealed.
    if (!isSnapshotOrSealed(bytes)) decodeSnapshot(bytes, name);
    const opened = openSealedBytes(bytes, name, { keyFiles: options.keyFiles, trustUnsealed: options.trustUnsealed });
    if (isLogCheckpoint(opened.bytes)) throw new SnapshotError(`${name} is a log checkpoint: restore it with drawbridge restore`);
    const snapshot = decodeSnapshot(opened.bytes, name, { lazyPages: true });
    if (!snapshot.module) throw new SnapshotError(`${name}: the snapshot does not carry its module`);
    // Missing grants first (what to add), then whether the grants are the ones it ran under.
    const granted = manifestOf(options);
    const { missing, manifest } = compareRequest(snapshot.meta, granted);
    const refusal = missingGrantsMessage(missing);
    if (refusal) throw new SnapshotError(refusal);
    checkMeasurement(name, opened, measuredManifest(granted, []), options.ignoreMeasurement === true);
    const compiled = await compileImage(snapshotImage(snapshot.module, snapshot.meta));
    const recorded = opened.measurement;
    const started = await begin({ ...startOptions(compiled, { restore: snapshot }), args: snapshot.meta.args, manifest }, options, 'stream', {
      measurement: recorded ? measureWith(recorded.module_sha256, measuredManifest(granted, [])) : null,
      whyNot: null,
    });
    return makeHandle(started);
  });
}
