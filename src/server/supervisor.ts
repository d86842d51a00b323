// The picoprocess table of the daemon: starts picoprocesses on one host and one event loop,
// keeps their output (bounded), feeds their stdin, stops, checkpoints and restores them.
// Each worker thread of the daemon's pool runs one, driven by messages (scheduler.ts, pool.ts);
// the density benchmark also uses it directly.
//
// Every picoprocess gets:
// - its manifest's quotas: handles, children and bytes written in the monitor; CPU time in a
//   Governor (quotas.ts); memory as the module's memory maximum (memory-limit.ts);
// - a StdinFeed as stdin (bytes come through the API; a guest waiting on it costs nothing);
// - an OutputRing per output stream (the last 64 KiB by default, followable);
// - preemption and capture when its module could be prepared (Asyncify + ticks, prepare.ts):
//   modules up to AUTO_PREPARE_MAX_BYTES are prepared at first load (cached on disk by
//   content hash); an unprepared module runs too, but can be neither checkpointed nor
//   preempted, only charged and stopped at its imports that wait;
// - in log mode (SpawnRequest.durable, or its manifest's [continuity] mode = "log";
//   docs/durable.md), a durable log of every answer the outside world gives it: its checkpoint
//   is that log (a log checkpoint), prepared or not, and a restore replays it (log-mode.ts).

import { rmSync } from 'node:fs';
import type { Host } from '../host/kernel/host.ts';
import { createNodeHost } from '../host/node/index.ts';
import { DEFAULT_LIMITS, emptyManifest, type Limits, type Manifest } from '../monitor/manifest/manifest.ts';
import { startCommand, type ExitStatus, type Running } from '../runtime/picoprocess.ts';
import { Governor } from '../runtime/quotas.ts';
import { CANNOT_EXECUTE_EXIT_CODE, KILLED_EXIT_CODE, TRAP_EXIT_CODE } from '../abi/exit-status.ts';
import { decodeSnapshot, type Snapshot } from '../checkpoint/snapshot.ts';
import { captureLog, setUpDurable, type CheckpointStart, type DurableSetup, type LogCapture } from '../checkpoint/durable-run.ts';
import { encodeLogCheckpoint, isLogCheckpoint } from '../checkpoint/log-checkpoint.ts';
import { entriesOf } from '../extensions/durable-log.ts';
import { ExtensionHalt } from '../runtime/extensions.ts';
import { compareRequest, missingGrantsMessage } from '../checkpoint/request.ts';
import { isPreemptible, snapshotImage, startOptions } from '../runtime/load.ts';
import { endReason, noteMemoryFull } from './end-reason.ts';
import { OutputRing, DEFAULT_OUTPUT_CAPACITY } from './output-ring.ts';
import { StdinFeed } from './stdin-feed.ts';
import { ModuleStore, type LoadedModule } from './modules.ts';
import { defaultLogFolder, openLogCheckpoint, placementLogPath, spawnStart } from './log-mode.ts';
import { tuneV8ForManyMemories } from '../runtime/v8-tuning.ts';

export type ProcessState = 'starting' | 'running' | 'exited' | 'checkpointed';

/** How a picoprocess is checkpointed: a memory snapshot (its module is prepared), its durable log (log mode), or not at all. */
export type CaptureMode = 'snapshot' | 'log' | null;

export interface ProcessInfo {
  id: number;
  name: string;
  args: string[];
  state: ProcessState;
  exitCode: number | null;
  error: string | null;
  /** Why it ended, in one line (end-reason.ts): `exited 0`, `killed`, `trap: ...`, `cpu_time limit: ...`; null while it runs. */
  reason: string | null;
  /** A trap's Wasm backtrace, innermost frame first, as `drawbridge run` prints it; absent otherwise. */
  backtrace?: string[];
  startedAt: string;
  endedAt: string | null;
  cpuMs: number;
  /** Bytes of linear memory the guest has now (its pages, touched or not). */
  memoryBytes: number;
  stdoutBytes: number;
  stderrBytes: number;
  /** Can be checkpointed (and moved): its module is prepared, or it runs in log mode. */
  capturable: boolean;
  /** What its checkpoint is: 'snapshot' (prepared), 'log' (log mode), null (neither). */
  capture: CaptureMode;
  limits: Limits;
  /** The worker it runs on (a pool's; absent in a lone Supervisor). */
  worker?: number;
}

export type { LoadedModule };

export interface SpawnRequest {
  module: LoadedModule;
  /** argv after argv[0] (argv[0] is the module's name, or the manifest's args when it fixes them). */
  args?: readonly string[];
  manifest?: Manifest;
  /** Bytes for stdin, then end of input; 'open' (the default): fed later through feedStdin. */
  stdin?: Uint8Array | 'open';
  /** Continue this snapshot (its module must be `module`). */
  restore?: Snapshot;
  /** The id to give it (a pool's ids are global across its workers); default: the next one here. */
  id?: number;
  /** `module` already compiled at the manifest's memory limit (a pool compiles once, on the main thread). */
  compiled?: WebAssembly.Module;
  /** Called once it is ready, just before the guest first runs (PicoprocessOptions.beforeRun). */
  onRun?: (entry: Entry) => void;
  /** Run it in log mode (docs/durable.md); a manifest's [continuity] mode = "log" asks for it too. */
  durable?: DurableSpawn;
  /** A replay (durable.replay) has gone live: its memory checked, its handles back. */
  onLive?: (entry: Entry) => void;
}

/** A picoprocess in log mode: where its log goes, how it started, and the log to replay first (a restore, a move). */
export interface DurableSpawn {
  /** The log file (made 0600; removed when the picoprocess ends). Default: a new one in the supervisor's log folder. */
  path?: string;
  /**
   * How it starts, as its log checkpoints record it; its argv, pre-opens and listening sockets
   * are the ones it starts with. Default: spawnStart of the module (its bytes as given must be known).
   */
  start?: CheckpointStart;
  /** Answer it from this log first (every entry up to a checkpoint), check its memory there, then go live. */
  replay?: { log: Uint8Array; memorySha256: string | null };
}

export interface SupervisorOptions {
  host?: Host;
  /** Limits for picoprocesses whose request brings no manifest. */
  limits?: Partial<Limits>;
  outputCapacity?: number;
  /** Prepare modules for capture and preemption (default true; needs wasm-opt). */
  prepare?: boolean;
  /** Forget ended picoprocesses beyond this many (oldest first). */
  keepEnded?: number;
  /** Where log-mode picoprocesses keep their logs when a spawn names no file (default $DRAWBRIDGE_CACHE/durable). */
  logFolder?: string;
  /**
   * Hand every output chunk here as well (a pool worker forwards it to the main thread, which
   * keeps the rings; with it, the rings here only count bytes). The chunk is only valid during the call.
   */
  onOutput?: (entry: Entry, which: 'stdout' | 'stderr', bytes: Uint8Array) => void;
}

/** Why picoprocess `id` cannot be checkpointed. */
export function notCapturable(id: number): string {
  return `picoprocess ${id} cannot be checkpointed: its module is not prepared (drawbridge prepare), and it does not run in log mode (spawn --durable)`;
}

export class SupervisorError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export class Entry {
  readonly id: number;
  readonly name: string;
  readonly args: string[];
  readonly manifest: Manifest;
  readonly module: LoadedModule;
  readonly stdout: OutputRing;
  readonly stderr: OutputRing;
  readonly stdin = new StdinFeed();
  readonly governor: Governor;
  readonly startedAt = new Date();
  endedAt: Date | null = null;
  state: ProcessState = 'starting';
  status: ExitStatus | null = null;
  running: Running | null = null;
  /** Log mode: its durable log and how it started. */
  durable: { setup: DurableSetup; start: CheckpointStart } | null = null;
  /** Settles with the exit status once the picoprocess ends (or fails to start). */
  readonly done: Promise<ExitStatus>;
  resolveDone!: (s: ExitStatus) => void;

  constructor(id: number, module: LoadedModule, args: string[], manifest: Manifest, capacity: number) {
    this.id = id;
    this.name = module.name;
    this.module = module;
    this.args = args;
    this.manifest = manifest;
    this.stdout = new OutputRing(capacity);
    this.stderr = new OutputRing(capacity);
    this.governor = new Governor(manifest.limits.cpuTimeMs);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  info(): ProcessInfo {
    const memory = this.running?.instance.exports.memory;
    return {
      id: this.id,
      name: this.name,
      args: this.args,
      state: this.state,
      exitCode: this.status?.exitCode ?? null,
      error: this.status?.error ?? null,
      reason: endReason(this.status),
      ...(this.status?.backtrace ? { backtrace: [...this.status.backtrace] } : {}),
      startedAt: this.startedAt.toISOString(),
      endedAt: this.endedAt?.toISOString() ?? null,
      cpuMs: Math.round(this.governor.cpuMs * 1000) / 1000,
      memoryBytes: this.state === 'running' && memory instanceof WebAssembly.Memory ? memory.buffer.byteLength : 0,
      stdoutBytes: this.stdout.total,
      stderrBytes: this.stderr.total,
      capturable: this.capture !== null,
      capture: this.capture,
      limits: { ...this.manifest.limits },
    };
  }

  get capture(): CaptureMode {
    return this.durable ? 'log' : this.module.prepared ? 'snapshot' : null;
  }

  finish(status: ExitStatus): void {
    if (this.status) return;
    this.status = status;
    this.state = status.checkpointed ? 'checkpointed' : 'exited';
    this.endedAt = new Date();
    this.stdin.close();
    this.stdout.end();
    this.stderr.end();
    this.resolveDone(status);
  }
}

export class Supervisor {
  readonly host: Host;
  private readonly limits: Limits;
  private capacity: number;
  private readonly keepEnded: number;
  private readonly onOutput: SupervisorOptions['onOutput'];
  private readonly entries = new Map<number, Entry>();
  private readonly modules: ModuleStore;
  private nextId = 1;
  private readonly endedOrder: number[] = [];
  private readonly logFolder: string;
  /** Log files made here, for names that no other placement uses. */
  private logs = 0;

  constructor(options: SupervisorOptions = {}) {
    this.host = options.host ?? createNodeHost();
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.capacity = options.outputCapacity ?? DEFAULT_OUTPUT_CAPACITY;
    this.modules = new ModuleStore(options.prepare ?? true);
    this.keepEnded = options.keepEnded ?? 1000;
    this.onOutput = options.onOutput;
    this.logFolder = options.logFolder ?? defaultLogFolder();
    if (this.onOutput) this.capacity = 0;
    tuneV8ForManyMemories();
  }

  /** The manifest a request without one gets: nothing granted, the daemon's default limits. */
  defaultManifest(): Manifest {
    const m = emptyManifest();
    m.limits = { ...this.limits };
    return m;
  }

  /** Read a module's bytes into a LoadedModule (prepared when possible; cached by content hash). */
  load(bytes: Uint8Array, name: string): Promise<LoadedModule> {
    return this.modules.load(bytes, name);
  }

  /** Start a picoprocess. Throws (ModuleError, MemoryLimitError, GuestError) when it cannot start. */
  async spawn(req: SpawnRequest): Promise<Entry> {
    // Tenants of one host do not share named pipes: each picoprocess (and its children) gets
    // its own pipe namespace unless its manifest names one.
    const given = req.manifest ?? this.defaultManifest();
    const id = req.id ?? this.nextId;
    if (this.entries.has(id)) throw new SupervisorError(409, `picoprocess ${id} exists already`);
    this.nextId = Math.max(this.nextId, id + 1);
    const manifest = given.pipeNamespace !== undefined ? given : { ...given, pipeNamespace: `picoprocess-${id}` };
    if (req.restore && !req.module.prepared) throw new SupervisorError(400, 'a snapshot needs its prepared module');
    const asked = req.durable ?? (!req.restore && manifest.continuity?.mode === 'log' ? {} : undefined);
    const start = asked ? (asked.start ?? this.startOf(req.module, manifest.args ?? [req.module.name, ...(req.args ?? [])], manifest)) : null;
    const args = start ? start.args : req.restore ? req.restore.meta.args : (manifest.args ?? [req.module.name, ...(req.args ?? [])]);
    const entry = new Entry(id, req.module, [...args], manifest, this.capacity);
    const module = req.compiled ?? (await this.modules.compiled(req.module, manifest.limits.memory));
    if (req.stdin instanceof Uint8Array) {
      entry.stdin.feed(req.stdin);
      entry.stdin.close();
    }
    let durable: DurableSetup | null = null;
    const dropLog = () => {
      durable?.file.close();
      if (durable) rmSync(durable.file.path, { force: true });
    };
    let running: Running;
    // Listed while it starts: a start function runs inside the start, after the answer (onRun).
    this.entries.set(entry.id, entry);
    try {
      if (asked && start) {
        const replay = asked.replay;
        durable = setUpDurable(
          asked.path ?? placementLogPath(this.logFolder, id, ++this.logs),
          start.module.sha256,
          start,
          replay && { log: replay.log, entries: entriesOf(replay.log), memorySha256: replay.memorySha256, onLive: req.onLive && (() => req.onLive!(entry)) },
        );
        entry.durable = { setup: durable, start };
      }
      running = await startCommand({
        ...startOptions({ image: req.module, module, tierUp: false }, { restore: req.restore }),
        host: this.host,
        args,
        manifest,
        // A log replays only if the program starts as it started.
        ...(start ? { preopens: start.preopens, listenSockets: start.listenSockets } : {}),
        stdioStreams: [entry.stdin],
        stdout: this.sink(entry, 'stdout'),
        stderr: this.sink(entry, 'stderr'),
        governor: entry.governor,
        // Its neighbours share this thread: a child that cannot be preempted is refused.
        sharedThread: true,
        beforeRun: req.onRun && (() => req.onRun!(entry)),
        ...(durable ? { wrapDk: durable.wrap(), onMemory: durable.memory.onMemory } : {}),
      });
    } catch (e) {
      this.entries.delete(entry.id);
      dropLog();
      entry.finish({ exitCode: CANNOT_EXECUTE_EXIT_CODE, error: (e as Error).message });
      // A replay that differs already in the calls the library OS makes as it starts.
      if (e instanceof ExtensionHalt) throw new SupervisorError(400, e.message);
      throw e;
    }
    entry.running = running;
    entry.state = 'running';
    running.done
      .then(
        (status) => {
          // Its log goes before its end is told: whoever waits for the end finds it gone.
          dropLog();
          const memory = running.instance.exports.memory;
          const bytes = memory instanceof WebAssembly.Memory ? memory.buffer.byteLength : 0;
          entry.finish(noteMemoryFull(status, bytes, manifest.limits.memory));
        },
        (e: unknown) => {
          dropLog();
          entry.finish({ exitCode: TRAP_EXIT_CODE, error: `host error: ${(e as Error).message}` });
        },
      )
      .then(() => this.ended(entry.id));
    return entry;
  }

  /** How a log-mode picoprocess of `module` starts, for its checkpoints: its bytes as given must be known here. */
  private startOf(module: LoadedModule, args: readonly string[], manifest: Manifest): CheckpointStart {
    const source = module.source ?? (module.prepared ? null : module.bytes);
    if (!source) throw new SupervisorError(500, `${module.name}: its bytes as given are not known here, so a log checkpoint could not carry them`);
    return spawnStart({ hash: module.hash, name: module.name, source }, args, manifest);
  }

  private sink(entry: Entry, which: 'stdout' | 'stderr'): (b: Uint8Array) => void {
    const ring = entry[which];
    const forward = this.onOutput;
    if (!forward) return (b) => ring.append(b);
    return (b) => {
      ring.append(b);
      forward(entry, which, b);
    };
  }

  /**
   * Continue a snapshot or a log checkpoint (plain bytes) as a new picoprocess (with `id`: that
   * one), under `manifest` (default: this supervisor's, which grants nothing) and nothing else:
   * what the file records is a request, refused when it asks for a grant not given (request.ts).
   * A log checkpoint is replayed (docs/durable.md) and goes on in log mode.
   */
  async restore(bytes: Uint8Array, manifest?: Manifest, id?: number, onRun?: (entry: Entry) => void): Promise<Entry> {
    if (isLogCheckpoint(bytes)) {
      const opened = openLogCheckpoint(bytes, 'the checkpoint', manifest ?? this.defaultManifest());
      const meta = opened.checkpoint.meta;
      const module = await this.load(opened.checkpoint.module, meta.module.name);
      const replay = { log: opened.log, memorySha256: opened.memorySha256 };
      return this.spawn({ module, manifest: opened.manifest, stdin: 'open', id, onRun, durable: { start: opened.start, replay } });
    }
    const snapshot = decodeSnapshot(bytes, 'snapshot');
    if (!snapshot.module) throw new SupervisorError(400, 'the snapshot does not carry its module');
    const { missing, manifest: m } = compareRequest(snapshot.meta, manifest ?? this.defaultManifest());
    const refusal = missingGrantsMessage(missing);
    if (refusal) throw new SupervisorError(400, refusal);
    const image = snapshotImage(snapshot.module, snapshot.meta);
    const module: LoadedModule = { ...image, hash: snapshot.meta.module.sha256, preemptible: isPreemptible(image), compiled: new Map() };
    return this.spawn({ module, manifest: m, restore: snapshot, stdin: 'open', id, onRun });
  }

  get(id: number): Entry {
    const e = this.entries.get(id);
    if (!e) throw new SupervisorError(404, `no picoprocess ${id}`);
    return e;
  }

  list(): ProcessInfo[] {
    return [...this.entries.values()].map((e) => e.info());
  }

  get size(): number {
    return this.entries.size;
  }

  /** Stop a picoprocess (exit status 137); false when it had already ended. */
  kill(id: number): boolean {
    const e = this.get(id);
    if (e.status) return false;
    e.governor.requestStop(KILLED_EXIT_CODE, 'killed');
    return true;
  }

  /** Forget an ended picoprocess (its output goes with it). */
  remove(id: number): void {
    const e = this.get(id);
    if (!e.status) throw new SupervisorError(409, `picoprocess ${id} is still running; kill it first`);
    this.entries.delete(id);
  }

  feedStdin(id: number, bytes: Uint8Array, close: boolean): number {
    const e = this.get(id);
    if (e.stdin.isClosed) throw new SupervisorError(409, `the stdin of picoprocess ${id} is closed`);
    if (!e.stdin.feed(bytes)) throw new SupervisorError(429, `picoprocess ${id} has more than ${e.stdin.limit} bytes of stdin unread`);
    if (close) e.stdin.close();
    return bytes.length;
  }

  /**
   * Its checkpoint, as its capture mode says: a snapshot, or a log checkpoint (log mode; its
   * module's bytes as given must be known here). Without leaveRunning the picoprocess stops
   * (state 'checkpointed').
   */
  async checkpoint(id: number, leaveRunning: boolean): Promise<Uint8Array> {
    const e = this.get(id);
    if (e.durable) {
      const source = e.module.source ?? (e.module.prepared ? null : e.module.bytes);
      if (!source) throw new SupervisorError(500, `${e.name}: its bytes as given are not known here`);
      const c = await this.captureLog(id, leaveRunning);
      return encodeLogCheckpoint({ meta: c.meta, module: source, log: c.log });
    }
    if (e.status) throw new SupervisorError(409, `picoprocess ${id} has ended`);
    const take = e.running?.checkpoint;
    if (!take) throw new SupervisorError(409, notCapturable(id));
    return take(leaveRunning);
  }

  /**
   * The log checkpoint of a picoprocess in log mode, but its module (a pool's worker does not
   * hold the module's bytes as given; the main thread adds them). Taken at its call boundary:
   * the call it waits in, or the start of its next one. Without leaveRunning it then stops.
   */
  async captureLog(id: number, leaveRunning: boolean): Promise<LogCapture> {
    const e = this.get(id);
    if (e.status) throw new SupervisorError(409, `picoprocess ${id} has ended`);
    if (!e.durable || !e.running) throw new SupervisorError(409, `picoprocess ${id} does not run in log mode`);
    let c: Awaited<ReturnType<typeof captureLog>>;
    try {
      c = await captureLog(e.durable.setup, e.durable.start);
    } catch (err) {
      // Replaying still, holding a child process, computing too long: said in one line.
      throw new SupervisorError(409, `picoprocess ${id} cannot be checkpointed now: ${(err as Error).message}`);
    }
    if (leaveRunning) c.resume();
    else {
      c.stop();
      // Wakes its wait: it ends there, at its boundary (state 'checkpointed'), and prints nothing more.
      e.running.process.kill(0);
    }
    return { meta: c.meta, log: c.log };
  }

  /** Kill every running picoprocess and wait for them to end. */
  async shutdown(): Promise<void> {
    const live = [...this.entries.values()].filter((e) => !e.status);
    for (const e of live) e.governor.requestStop(KILLED_EXIT_CODE, 'the daemon is shutting down');
    await Promise.all(live.map((e) => e.done));
  }

  /** Keep the last keepEnded ended picoprocesses (their status and output); forget older ones. */
  private ended(id: number): void {
    this.endedOrder.push(id);
    while (this.endedOrder.length > this.keepEnded) this.entries.delete(this.endedOrder.shift()!);
  }
}
