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
//   preempted, only charged and stopped at its imports that wait.

import type { Host } from '../host/kernel/host.ts';
import { createNodeHost } from '../host/node/index.ts';
import { DEFAULT_LIMITS, emptyManifest, type Limits, type Manifest } from '../monitor/manifest/manifest.ts';
import { startCommand, type ExitStatus, type Running } from '../runtime/picoprocess.ts';
import { Governor } from '../runtime/quotas.ts';
import { CANNOT_EXECUTE_EXIT_CODE, KILLED_EXIT_CODE, TRAP_EXIT_CODE } from '../abi/exit-status.ts';
import { decodeSnapshot, type Snapshot } from '../checkpoint/snapshot.ts';
import { compareRequest, missingGrantsMessage } from '../checkpoint/request.ts';
import { isPreemptible, snapshotImage, startOptions } from '../runtime/load.ts';
import { endReason, noteMemoryFull } from './end-reason.ts';
import { OutputRing, DEFAULT_OUTPUT_CAPACITY } from './output-ring.ts';
import { StdinFeed } from './stdin-feed.ts';
import { ModuleStore, type LoadedModule } from './modules.ts';
import { tuneV8ForManyMemories } from './pool/v8-tuning.ts';

export type ProcessState = 'starting' | 'running' | 'exited' | 'checkpointed';

export interface ProcessInfo {
  id: number;
  name: string;
  args: string[];
  state: ProcessState;
  exitCode: number | null;
  error: string | null;
  /** Why it ended, in one line (end-reason.ts): `exited 0`, `killed`, `trap: ...`, `cpu_time limit: ...`; null while it runs. */
  reason: string | null;
  startedAt: string;
  endedAt: string | null;
  cpuMs: number;
  /** Bytes of linear memory the guest has now (its pages, touched or not). */
  memoryBytes: number;
  stdoutBytes: number;
  stderrBytes: number;
  /** Can be checkpointed and is preempted (its module is prepared). */
  capturable: boolean;
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
  /**
   * Hand every output chunk here as well (a pool worker forwards it to the main thread, which
   * keeps the rings; with it, the rings here only count bytes). The chunk is only valid during the call.
   */
  onOutput?: (entry: Entry, which: 'stdout' | 'stderr', bytes: Uint8Array) => void;
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
      startedAt: this.startedAt.toISOString(),
      endedAt: this.endedAt?.toISOString() ?? null,
      cpuMs: Math.round(this.governor.cpuMs * 1000) / 1000,
      memoryBytes: this.state === 'running' && memory instanceof WebAssembly.Memory ? memory.buffer.byteLength : 0,
      stdoutBytes: this.stdout.total,
      stderrBytes: this.stderr.total,
      capturable: this.module.prepared,
      limits: { ...this.manifest.limits },
    };
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

  constructor(options: SupervisorOptions = {}) {
    this.host = options.host ?? createNodeHost();
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.capacity = options.outputCapacity ?? DEFAULT_OUTPUT_CAPACITY;
    this.modules = new ModuleStore(options.prepare ?? true);
    this.keepEnded = options.keepEnded ?? 1000;
    this.onOutput = options.onOutput;
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
    const args = req.restore ? req.restore.meta.args : (manifest.args ?? [req.module.name, ...(req.args ?? [])]);
    if (req.restore && !req.module.prepared) throw new SupervisorError(400, 'a snapshot needs its prepared module');
    const entry = new Entry(id, req.module, [...args], manifest, this.capacity);
    const module = req.compiled ?? (await this.modules.compiled(req.module, manifest.limits.memory));
    if (req.stdin instanceof Uint8Array) {
      entry.stdin.feed(req.stdin);
      entry.stdin.close();
    }
    let running: Running;
    // Listed while it starts: a start function runs inside the start, after the answer (onRun).
    this.entries.set(entry.id, entry);
    try {
      running = await startCommand({
        ...startOptions({ image: req.module, module, tierUp: false }, { restore: req.restore }),
        host: this.host,
        args,
        manifest,
        stdioStreams: [entry.stdin],
        stdout: this.sink(entry, 'stdout'),
        stderr: this.sink(entry, 'stderr'),
        governor: entry.governor,
        // Its neighbours share this thread: a child that cannot be preempted is refused.
        sharedThread: true,
        beforeRun: req.onRun && (() => req.onRun!(entry)),
      });
    } catch (e) {
      this.entries.delete(entry.id);
      entry.finish({ exitCode: CANNOT_EXECUTE_EXIT_CODE, error: (e as Error).message });
      throw e;
    }
    entry.running = running;
    entry.state = 'running';
    running.done
      .then(
        (status) => {
          const memory = running.instance.exports.memory;
          const bytes = memory instanceof WebAssembly.Memory ? memory.buffer.byteLength : 0;
          entry.finish(noteMemoryFull(status, bytes, manifest.limits.memory));
        },
        (e: unknown) => entry.finish({ exitCode: TRAP_EXIT_CODE, error: `host error: ${(e as Error).message}` }),
      )
      .then(() => this.ended(entry.id));
    return entry;
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
   * Continue a snapshot (plain snapshot bytes) as a new picoprocess (with `id`: that one), under
   * `manifest` (default: this supervisor's, which grants nothing) and nothing else: what the
   * snapshot records is a request, refused when it asks for a grant not given (request.ts).
   */
  async restore(bytes: Uint8Array, manifest?: Manifest, id?: number, onRun?: (entry: Entry) => void): Promise<Entry> {
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

  /** A snapshot; without leaveRunning the picoprocess stops (state 'checkpointed'). */
  async checkpoint(id: number, leaveRunning: boolean): Promise<Uint8Array> {
    const e = this.get(id);
    if (e.status) throw new SupervisorError(409, `picoprocess ${id} has ended`);
    const take = e.running?.checkpoint;
    if (!take) throw new SupervisorError(409, `picoprocess ${id} cannot be checkpointed: its module is not prepared (drawbridge prepare)`);
    return take(leaveRunning);
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
