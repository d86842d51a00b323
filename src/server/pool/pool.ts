// The picoprocess table of `drawbridge serve` over a pool of schedulers: worker threads (one
// per core by default), each running a Scheduler (scheduler.ts: a Supervisor on its own event
// loop), or with `workers: 0` one Scheduler on the main thread.
//
// The main thread owns what must outlive a placement: the process table (table.ts: ids,
// output rings, manifests, the record of ended ones). It reads and prepares each module once
// and compiles it once per memory limit; the compiled WebAssembly.Module is handed to the
// workers (V8 shares its code across threads). Starting the workers, the messages to them and
// placement are workers.ts's.
//
// Moving (move()): a checkpoint on the old worker (the picoprocess stops there), its unread
// stdin taken along, and a restore under the same id on the new one.
//
// Log mode (docs/durable.md; log-mode.ts): a picoprocess spawned with `durable` or whose
// manifest says [continuity] mode = "log" runs with a durable log, prepared or not (a
// prepared module is still preempted; an unprepared one gets a worker thread of its own). Its
// checkpoint is a log checkpoint: the worker gives the log, this thread adds the module's
// bytes as given. A move or a restore of one replays the log on the new worker, then goes
// live; both answer once it has.

import { availableParallelism } from 'node:os';
import { decodeSnapshot } from '../../checkpoint/snapshot.ts';
import { encodeLogCheckpoint, isLogCheckpoint } from '../../checkpoint/log-checkpoint.ts';
import { isPreemptible, snapshotImage } from '../../runtime/load.ts';
import { DEFAULT_LIMITS, emptyManifest, type Limits, type Manifest } from '../../monitor/manifest/manifest.ts';
import { CPU_EXCEEDED_EXIT_CODE, KILLED_EXIT_CODE, TRAP_EXIT_CODE } from '../../abi/exit-status.ts';
import { cpuExceededMessage } from '../../runtime/quotas.ts';
import { ModuleStore, type LoadedModule } from '../modules.ts';
import { DEFAULT_OUTPUT_CAPACITY, type OutputRing } from '../output-ring.ts';
import { notCapturable, SupervisorError, type ProcessInfo } from '../supervisor.ts';
import { defaultLogFolder, openLogCheckpoint, placementLogPath, spawnStart, wantsLog } from '../log-mode.ts';
import type { CheckpointValue, DurableStart, LiveInfo, StartedValue, ToScheduler } from './protocol.ts';
import { ProcessTable, type Proc } from './table.ts';
import { tuneV8ForPoolWorkers } from './v8-tuning.ts';
import { Workers, type Pushed, type Slot, type WorkerInfo } from './workers.ts';
import { FrameMirror } from './frame-mirror.ts';
import type { FrameViewer } from '../fb/frames.ts';
import type { InputEvent } from '../../host/kernel/kernel.ts';

export type { WorkerInfo };

/** Warm-up starts in flight at once: a batch that ends before the next, so the warm-up holds at most this many. */
const WARM_UP_BATCH = 1000;

export interface PoolOptions {
  /** Worker threads; 0: one scheduler on the calling thread. Default: one per core. */
  workers?: number;
  /** Limits for picoprocesses whose request brings no manifest. */
  limits?: Partial<Limits>;
  /** Prepare modules for capture and preemption (default true; needs wasm-opt). */
  prepare?: boolean;
  outputCapacity?: number;
  /** Forget ended picoprocesses beyond this many (oldest first). */
  keepEnded?: number;
  /** Where picoprocesses in log mode keep their logs (default $DRAWBRIDGE_CACHE/durable). */
  logFolder?: string;
  /** The first id (default 1): a host of a cluster gives ids from a range of its own. */
  firstId?: number;
}

/** A picoprocess that moved here from another host of a cluster: its id, and its output so far. */
export interface Arrival {
  id: number;
  stdout: { from: number; bytes: Uint8Array };
  stderr: { from: number; bytes: Uint8Array };
}

/** Its output goes on where it was: the same offsets, what the other host's rings held. */
function arrive(p: Proc, from: Arrival): void {
  p.stdout.seed(from.stdout.from, from.stdout.bytes);
  p.stderr.seed(from.stderr.from, from.stderr.bytes);
}

export interface PoolSpawn {
  module: LoadedModule;
  /** argv after argv[0]. */
  args?: readonly string[];
  manifest?: Manifest;
  stdin?: Uint8Array;
  /** End of input after `stdin`. */
  closeStdin?: boolean;
  /** Run it in log mode (as its manifest's [continuity] mode = "log" does). */
  durable?: boolean;
}

/** How long list() waits for a worker's figures (a dedicated worker in a loop never answers). */
const INFO_TIMEOUT_MS = 250;
/** How often the CPU time of a dedicated worker is looked at, and the slack past the limit that lets the guest's own check come first. */
const DEDICATED_WATCH_MS = 100;
const DEDICATED_GRACE_MS = 250;

export class Pool {
  private readonly limits: Limits;
  private readonly store: ModuleStore;
  private readonly threads: Workers;
  private readonly table: ProcessTable;
  private readonly logFolder: string;
  private nextGen = 1;
  /** The frame buffers of its picoprocesses, as their workers send them. */
  private readonly frames = new FrameMirror();

  constructor(options: PoolOptions = {}) {
    tuneV8ForPoolWorkers();
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.table = new ProcessTable(options.keepEnded ?? 1000, options.outputCapacity ?? DEFAULT_OUTPUT_CAPACITY, options.firstId ?? 1);
    const prepare = options.prepare ?? true;
    this.store = new ModuleStore(prepare);
    this.logFolder = options.logFolder ?? defaultLogFolder();
    const n = options.workers ?? availableParallelism();
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`workers: ${n}: expected 0 or more`);
    this.threads = new Workers(n, { limits: this.limits, prepare }, { pushed: (slot, m) => this.pushed(slot, m), lost: (slot, e) => this.lost(slot, e) });
  }

  /** workers: 0 (its one scheduler runs on this thread). */
  get onMainThread(): boolean {
    return this.threads.localMode;
  }

  /** How many pool schedulers there are (0 workers: one, on this thread). */
  get workerCount(): number {
    return this.threads.pool.length;
  }

  /** Resolves once every worker answers (they load their code first). */
  async ready(): Promise<void> {
    await Promise.all(this.threads.pool.map((s) => this.threads.request(s, { op: 'info', req: 0 })));
  }

  defaultManifest(): Manifest {
    const m = emptyManifest();
    m.limits = { ...this.limits };
    return m;
  }

  load(bytes: Uint8Array, name: string): Promise<LoadedModule> {
    return this.store.load(bytes, name);
  }

  /** Start a picoprocess; resolves once it runs (its id is in the info). */
  async spawn(req: PoolSpawn): Promise<ProcessInfo> {
    const given = req.manifest ?? this.defaultManifest();
    const compiled = await this.store.compiled(req.module, given.limits.memory);
    const slot = this.threads.ownThread(req.module.preemptible) ? this.threads.dedicatedSlot() : this.threads.leastLoaded();
    const gen = this.nextGen++;
    const args = given.args ?? [req.module.name, ...(req.args ?? [])];
    const p = this.table.add(req.module.name, [...args], given, slot, gen);
    const key = this.sendModule(slot, req.module, compiled, given.limits.memory);
    let durable: DurableStart | null = null;
    if (wantsLog(req.durable, given)) {
      const source = req.module.source ?? req.module.bytes;
      durable = { path: placementLogPath(this.logFolder, p.id, gen), start: spawnStart({ ...req.module, source }, args, given) };
      p.durable = { module: req.module, source, start: durable.start, path: durable.path };
    }
    await this.place(p, slot, {
      op: 'spawn',
      req: 0,
      id: p.id,
      gen,
      key,
      args: [...(req.args ?? [])],
      manifest: given,
      stdin: req.stdin ?? null,
      closeStdin: req.closeStdin === true,
      durable,
    });
    return p.info();
  }

  /** Hand `slot` the module compiled at this memory limit, once; its key there. */
  private sendModule(slot: Slot, module: LoadedModule, compiled: WebAssembly.Module, memoryLimit: number): string {
    const key = `${module.hash}:${memoryLimit}`;
    if (!slot.modules.has(key)) {
      slot.modules.add(key);
      slot.link.post({
        op: 'module',
        key,
        name: module.name,
        hash: module.hash,
        bytes: module.bytes,
        prepared: module.prepared,
        preemptible: module.preemptible,
        compiled,
        memoryLimit,
      });
    }
    return key;
  }

  /**
   * Start `starts` picoprocesses of `module` with empty stdin, in batches, let them end, and
   * forget them: the first picoprocess after is id 1 again (warm-up.ts says why). Only before
   * anything else has started. Returns how many ran: none when the module is not preemptible
   * (each would get a worker thread of its own). A start that fails ends it: the error is
   * thrown once the others have ended and been forgotten. `onProgress` hears how many have ended, after each end.
   */
  async warmUp(module: LoadedModule, starts: number, onProgress?: (ended: number) => void): Promise<number> {
    if (this.table.used) throw new Error('warmUp: picoprocesses have been started already');
    if (this.threads.ownThread(module.preemptible)) return 0;
    let failed: unknown = null;
    let ended = 0;
    for (let left = starts; left > 0 && failed === null; left -= WARM_UP_BATCH) {
      const batch = await Promise.allSettled(Array.from({ length: Math.min(WARM_UP_BATCH, left) }, () => this.spawn({ module, closeStdin: true })));
      for (const r of batch) if (r.status === 'rejected') failed ??= r.reason;
      await Promise.all(batch.map((r) => (r.status === 'fulfilled' ? this.wait(r.value.id).then(() => onProgress?.(++ended)) : null)));
    }
    this.table.clear();
    if (failed !== null) throw failed;
    return starts;
  }

  /** Continue a snapshot or a log checkpoint as a new picoprocess (on the least-loaded worker, or `worker`). */
  async restore(snapshot: Uint8Array, worker?: number, from?: Arrival): Promise<ProcessInfo> {
    if (isLogCheckpoint(snapshot)) return this.restoreLog(snapshot, worker, from);
    // A module prepared without the tick counter cannot be preempted: a worker of its own.
    const decoded = decodeSnapshot(snapshot, 'snapshot', { lazyPages: true });
    const own = decoded.module !== null && this.threads.ownThread(isPreemptible(snapshotImage(decoded.module, decoded.meta)));
    if (own && worker !== undefined)
      throw new SupervisorError(
        409,
        'this snapshot cannot be preempted (prepared with --waits-only): it gets a worker thread of its own, not worker ' + worker,
      );
    const slot = own ? this.threads.dedicatedSlot() : worker === undefined ? this.threads.leastLoaded() : this.threads.poolSlot(worker);
    const gen = this.nextGen++;
    const p = this.table.add('snapshot', [], this.defaultManifest(), slot, gen, from?.id);
    if (from) arrive(p, from);
    await this.place(p, slot, { op: 'restore', req: 0, id: p.id, gen, snapshot, manifest: null, stdin: [], closeStdin: false });
    return p.info();
  }

  /**
   * Replay a log checkpoint as a new picoprocess, under the daemon's default grants (a request
   * for more is refused, naming it): its module prepared as a spawn's would be, so it is
   * preempted when it can be. Answered once it has gone live; a replay that differs from the
   * log (diverged, its memory not the checkpoint's) is refused with its line.
   */
  private async restoreLog(bytes: Uint8Array, worker?: number, from?: Arrival): Promise<ProcessInfo> {
    const opened = openLogCheckpoint(bytes, 'the checkpoint', this.defaultManifest());
    const meta = opened.checkpoint.meta;
    const module = await this.load(opened.checkpoint.module, meta.module.name);
    const manifest = opened.manifest;
    const compiled = await this.store.compiled(module, manifest.limits.memory);
    const own = this.threads.ownThread(module.preemptible);
    if (own && worker !== undefined)
      throw new SupervisorError(409, `this module cannot be preempted (it is not prepared): it gets a worker thread of its own, not worker ${worker}`);
    const slot = own ? this.threads.dedicatedSlot() : worker === undefined ? this.threads.leastLoaded() : this.threads.poolSlot(worker);
    const gen = this.nextGen++;
    const p = this.table.add(meta.module.name, [...meta.args], manifest, slot, gen, from?.id);
    if (from) arrive(p, from);
    const key = this.sendModule(slot, module, compiled, manifest.limits.memory);
    const durable: DurableStart = {
      path: placementLogPath(this.logFolder, p.id, gen),
      start: opened.start,
      replay: { log: opened.log, memorySha256: opened.memorySha256 },
    };
    p.durable = { module, source: opened.checkpoint.module, start: durable.start, path: durable.path };
    const live = p.untilLive(gen);
    await this.place(p, slot, { op: 'spawn', req: 0, id: p.id, gen, key, args: [], manifest, stdin: null, closeStdin: false, durable });
    if (!(await live))
      throw new SupervisorError(400, `${meta.module.name}: ${p.status?.error ?? `it ended (status ${p.status?.exitCode}) before its replay went live`}`);
    return p.info();
  }

  /** Ask `slot` to start the new entry `p`; a failure takes the entry back (and ends a dedicated worker). */
  private async place(p: Proc, slot: Slot, m: ToScheduler & { req: number }): Promise<void> {
    const busyBefore = slot.dedicated ? slot.link.busyMs() : null;
    try {
      this.table.started(p, (await this.threads.request(slot, m)) as StartedValue);
    } catch (e) {
      this.table.drop(p);
      if (slot.dedicated) this.threads.retire(slot);
      throw e;
    }
    if (busyBefore !== null) this.watchDedicated(p, slot, busyBefore);
  }

  /**
   * The CPU quota of a picoprocess that cannot be preempted: its thread is its own, and
   * whatever keeps that thread busy is its CPU time (a loop without calls, a start function
   * that loops included). Past limits.cpu_time the thread is ended: status 152, the
   * Governor's message.
   */
  private watchDedicated(p: Proc, slot: Slot, busyBefore: number): void {
    const limit = p.manifest.limits.cpuTimeMs;
    if (!(limit > 0) || !Number.isFinite(limit)) return;
    const timer = setInterval(() => {
      if (p.status || slot.dead || p.slot !== slot) return clearInterval(timer);
      const busy = (slot.link.busyMs() ?? 0) - busyBefore;
      if (busy <= limit + DEDICATED_GRACE_MS) return;
      clearInterval(timer);
      p.cpuMs = busy;
      this.table.finish(p, { exitCode: CPU_EXCEEDED_EXIT_CODE, error: cpuExceededMessage(limit) });
      this.threads.retire(slot);
    }, DEDICATED_WATCH_MS);
    timer.unref();
  }

  /** Whether this pool knows picoprocess `id`. */
  has(id: number): boolean {
    return this.table.find(id) !== undefined;
  }

  get(id: number): ProcessInfo {
    return this.table.get(id).info();
  }

  /** The picoprocess with fresh CPU and memory figures from its worker. */
  async fresh(id: number): Promise<ProcessInfo> {
    const p = this.table.get(id);
    if (!p.status) await this.refresh([p.slot]);
    return p.info();
  }

  async list(): Promise<ProcessInfo[]> {
    await this.refresh(this.threads.all().filter((s) => s.live > 0));
    return this.table.all().map((p) => p.info());
  }

  get size(): number {
    return this.table.size;
  }

  /** A viewer of picoprocess `id`'s frame buffer (the console's): the whole frame once it has one, then what changes. */
  frameViewer(id: number): FrameViewer {
    const p = this.table.live(id);
    const viewer = this.frames.viewer(id);
    // Its stream ends with it, frame buffer or not.
    void p.done.then(() => this.frames.forget(id));
    return viewer;
  }

  /** The size of picoprocess `id`'s frame buffer, or null before it shows one. */
  frameSize(id: number): { width: number; height: number } | null {
    return this.frames.size(id);
  }

  /** Queue an input event for picoprocess `id` (DkInputEventRead): 0, or -1 once it has ended. */
  injectInput(id: number, event: InputEvent): number {
    const p = this.table.find(id);
    if (!p || p.status) return -1;
    p.slot.link.post({ op: 'input', id, event });
    return 0;
  }

  /** Call `f` whenever a picoprocess is added, starts, ends or is forgotten (one watcher: the console's events); returns the unwatch. */
  watch(f: () => void): () => void {
    this.table.onChange = f;
    return () => {
      if (this.table.onChange === f) this.table.onChange = null;
    };
  }

  workers(): WorkerInfo[] {
    return this.threads.info();
  }

  /** Where its output is kept (followable). */
  output(id: number, which: 'stdout' | 'stderr'): OutputRing {
    return this.table.get(id)[which];
  }

  async wait(id: number): Promise<ProcessInfo> {
    const p = this.table.get(id);
    await p.done;
    return p.info();
  }

  /** Stop it (status 137) and wait for its end. */
  async kill(id: number): Promise<ProcessInfo> {
    const p = this.table.get(id);
    if (p.status) return p.info();
    if (p.slot.dedicated) {
      // Its loop may never reach an import: ending the thread is the only sure stop.
      const slot = p.slot;
      this.table.finish(p, { exitCode: KILLED_EXIT_CODE, error: 'killed' });
      this.threads.retire(slot);
    } else {
      // A move under way ends with the picoprocess on its new worker (or ended): kill it there.
      while (p.moving) await new Promise((r) => setTimeout(r, 1));
      if (!p.status) p.slot.link.post({ op: 'kill', id });
    }
    await p.done;
    return p.info();
  }

  /** Forget an ended picoprocess (its output goes with it). */
  remove(id: number): void {
    this.table.remove(id);
  }

  async feedStdin(id: number, bytes: Uint8Array, close: boolean): Promise<number> {
    const p = this.table.live(id);
    while (p.moving) await new Promise((r) => setTimeout(r, 1));
    return (await this.threads.request(p.slot, { op: 'stdin', req: 0, id, bytes, close })) as number;
  }

  /** A snapshot; without leaveRunning the picoprocess stops (state 'checkpointed'). */
  async checkpoint(id: number, leaveRunning: boolean): Promise<Uint8Array> {
    const p = this.table.live(id);
    if (!p.capturable) throw new SupervisorError(409, notCapturable(id));
    if (p.moving) throw new SupervisorError(409, `picoprocess ${id} is moving`);
    const durable = p.durable;
    const v = (await this.threads.request(p.slot, { op: 'checkpoint', req: 0, id, leaveRunning, forMove: false })) as CheckpointValue;
    if (v.log && durable) return encodeLogCheckpoint({ meta: v.log.meta, module: durable.source, log: v.log.log });
    return v.snapshot!;
  }

  /**
   * Move a running picoprocess to pool worker `to` (default: the least loaded other one):
   * checkpoint there, restore here, same id; its output goes on in the same rings. One in log
   * mode whose module cannot be preempted (a worker thread of its own) moves to a new worker
   * thread of its own: its log replayed there; the old thread ends with the old placement.
   */
  async move(id: number, to?: number): Promise<ProcessInfo> {
    const p = this.table.live(id);
    if (!p.capturable)
      throw new SupervisorError(409, `picoprocess ${id} cannot move: its module is not prepared (drawbridge prepare), and it does not run in log mode`);
    // A snapshot of a --waits-only module is taken only while it waits: it stays where it is.
    if (p.slot.dedicated && p.capture !== 'log')
      throw new SupervisorError(
        409,
        `picoprocess ${id} cannot move: it cannot be preempted (prepared with --waits-only), so it keeps a worker thread of its own`,
      );
    if (p.slot.dedicated && to !== undefined)
      throw new SupervisorError(
        409,
        `picoprocess ${id} cannot move to worker ${to}: it cannot be preempted (its module is not prepared), so it moves to a worker thread of its own (move without --worker)`,
      );
    if (p.moving) throw new SupervisorError(409, `picoprocess ${id} is moving already`);
    const from = p.slot;
    const own = from.dedicated;
    const target = own ? null : to === undefined ? this.threads.leastLoaded(from) : this.threads.poolSlot(to);
    if (target === from) throw new SupervisorError(409, `picoprocess ${id} is on worker ${from.index} already`);
    p.moving = true;
    p.staleGen = p.gen;
    p.staleExit = null;
    p.gen = this.nextGen++;
    let cp: CheckpointValue;
    try {
      cp = (await this.threads.request(from, { op: 'checkpoint', req: 0, id, leaveRunning: false, forMove: true })) as CheckpointValue;
    } catch (e) {
      // Refused (a pipe among its descriptors...): it goes on where it was, or ended meanwhile.
      p.gen = p.staleGen;
      p.moving = false;
      if (p.staleExit) this.table.finish(p, p.staleExit);
      throw e;
    }
    from.live--;
    let placed: Slot | null = null;
    let error: Error | null = null;
    const durable = p.durable;
    const live = durable ? p.untilLive(p.gen) : null;
    if (durable) durable.path = placementLogPath(this.logFolder, id, p.gen);
    // Where it goes, and where it goes back to if that fails: the old pool worker, or (a worker
    // of its own, which ends with the old placement: pushed()) another new one.
    const places = own ? [() => this.threads.dedicatedSlot(), () => this.threads.dedicatedSlot()] : [() => target!, () => from];
    let wanted: Slot | null = null;
    let busyBefore: number | null = null;
    for (const next of places) {
      // Ended meanwhile (a kill ends a worker of its own at once, move or not).
      if (p.status) break;
      const slot = next();
      wanted ??= slot;
      busyBefore = slot.dedicated ? slot.link.busyMs() : null;
      // Placed before it runs there: an end that comes before the answer is counted on it.
      p.slot = slot;
      slot.live++;
      try {
        const msg: ToScheduler =
          durable && cp.log
            ? {
                // Log mode: its log replayed there (nothing written again), then live.
                op: 'spawn',
                req: 0,
                id,
                gen: p.gen,
                key: this.sendModule(slot, durable.module, await this.store.compiled(durable.module, p.manifest.limits.memory), p.manifest.limits.memory),
                args: [],
                manifest: p.manifest,
                stdin: cp.stdin?.length ? Buffer.concat(cp.stdin) : null,
                closeStdin: cp.stdinClosed === true,
                durable: { path: durable.path, start: durable.start, replay: { log: cp.log.log, memorySha256: cp.log.meta.memorySha256 } },
              }
            : {
                op: 'restore',
                req: 0,
                id,
                gen: p.gen,
                snapshot: cp.snapshot!,
                manifest: p.manifest,
                stdin: cp.stdin ?? [],
                closeStdin: cp.stdinClosed === true,
              };
        this.table.started(p, (await this.threads.request(slot, msg)) as StartedValue);
        placed = slot;
        break;
      } catch (e) {
        slot.live--;
        if (slot.dedicated) this.threads.retire(slot);
        error ??= e as Error;
      }
    }
    p.moving = false;
    if (!placed) {
      if (!p.status) {
        p.slot.live++; // finish() counts it off its slot
        this.table.finish(p, { exitCode: TRAP_EXIT_CODE, error: `host error: lost while moving: ${error?.message}` });
      }
      throw new SupervisorError(500, `picoprocess ${id} could not be restored after its checkpoint: ${error?.message ?? p.status?.error}`);
    }
    if (busyBefore !== null) this.watchDedicated(p, placed, busyBefore);
    if (live && !(await live)) {
      throw new SupervisorError(
        500,
        `picoprocess ${id} ended while its log replayed on worker ${placed.index}: ${p.status?.error ?? `status ${p.status?.exitCode}`}`,
      );
    }
    if (placed !== wanted)
      throw new SupervisorError(
        500,
        `picoprocess ${id} could not be restored on worker ${wanted!.index} (${error?.message}); it goes on on worker ${placed.index}`,
      );
    return p.info();
  }

  /** Kill everything, stop the workers. */
  async shutdown(): Promise<void> {
    this.threads.closing = true;
    const live = this.table.all().filter((p) => !p.status);
    for (const p of live) if (p.slot.dedicated) this.table.finish(p, { exitCode: KILLED_EXIT_CODE, error: 'the daemon is shutting down' });
    this.threads.retireDedicated();
    await Promise.all(this.threads.pool.map((s) => this.threads.request(s, { op: 'shutdown', req: 0 }, 5000).catch(() => {})));
    for (const p of live) if (!p.status) this.table.finish(p, { exitCode: KILLED_EXIT_CODE, error: 'the daemon is shutting down' });
    await this.threads.terminate();
  }

  // --- what the schedulers push --------------------------------------------------------------

  private pushed(slot: Slot, m: Pushed): void {
    const p = this.table.find(m.id);
    if (!p) return;
    if (m.op === 'out') {
      (m.fd === 1 ? p.stdout : p.stderr).append(m.bytes);
      return;
    }
    if (m.op === 'live') {
      p.wentLive(m.gen);
      return;
    }
    if (m.op === 'fb') {
      // From where it runs now (not a placement it is moving away from), while it runs.
      if (p.slot !== slot || p.status) return;
      const had = this.frames.has(m.id);
      this.frames.apply(m);
      if (!had && this.frames.has(m.id)) void p.done.then(() => this.frames.forget(m.id));
      return;
    }
    // op 'exit'
    if (m.gen === p.gen) {
      p.cpuMs = m.cpuMs;
      this.table.finish(p, m.status);
      if (slot.dedicated) this.threads.retireOnceAnswered(slot);
    } else if (m.gen === p.staleGen) {
      // The end of the placement it is moving away from (checkpointed, or an end of its own
      // that raced the checkpoint: move() then applies it).
      p.cpuBefore += m.cpuMs;
      p.cpuMs = 0;
      if (!m.status.checkpointed) p.staleExit = m.status;
      // A worker of its own ends with the placement it ran (once it has answered the checkpoint).
      if (slot.dedicated) this.threads.retireOnceAnswered(slot);
    }
  }

  /** A worker thread failed or ended by itself: what ran there has ended. */
  private lost(slot: Slot, e: Error): void {
    for (const p of this.table.all()) {
      if (p.slot === slot && !p.status && !p.moving)
        this.table.finish(p, { exitCode: TRAP_EXIT_CODE, error: `host error: worker ${slot.index}: ${e.message}` });
    }
  }

  private async refresh(slots: Slot[]): Promise<void> {
    await Promise.all(
      slots.map(async (s) => {
        try {
          const infos = (await this.threads.request(s, { op: 'info', req: 0 }, INFO_TIMEOUT_MS)) as LiveInfo[];
          for (const i of infos) {
            const p = this.table.find(i.id);
            if (p && p.slot === s && !p.status) {
              p.cpuMs = i.cpuMs;
              p.memoryBytes = i.memoryBytes;
            }
          }
        } catch {
          // A dedicated worker in a loop without system calls does not answer: keep what is known.
        }
      }),
    );
  }
}
