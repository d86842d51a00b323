// The picoprocess table of `drawbridge serve` over a pool of schedulers: worker threads (one
// per core by default), each running a Scheduler (scheduler.ts: a Supervisor on its own event
// loop), or with `workers: 0` one Scheduler on the main thread.
//
// The main thread owns what must outlive a placement: the ids (global), the output rings (a
// picoprocess that moves keeps its output and its offsets), the manifest and the record of
// ended ones. It reads and prepares each module once and compiles it once per memory limit;
// the compiled WebAssembly.Module is handed to the workers (V8 shares its code across threads).
//
// Placement: a new picoprocess goes to the pool worker with the fewest live picoprocesses.
// A module that is not prepared, or prepared without the tick counter (--waits-only), has no
// tick, so a loop without system calls would hold its event loop for ever: it gets a worker
// thread of its own, started on demand, which a kill terminates (the only way to stop such a
// loop) and which ends with it.
//
// Moving (move()): a checkpoint on the old worker (the picoprocess stops there), its unread
// stdin taken along, and a restore under the same id on the new one.

import { availableParallelism } from 'node:os';
import { decodeSnapshot } from '../../checkpoint/snapshot.ts';
import { isWaitsOnly } from '../../runtime/prepare.ts';
import { Worker } from 'node:worker_threads';
import { DEFAULT_LIMITS, emptyManifest, type Limits, type Manifest } from '../../monitor/manifest/manifest.ts';
import type { ExitStatus } from '../../runtime/picoprocess.ts';
import { KILLED_EXIT_CODE, TRAP_EXIT_CODE } from '../../abi/exit-status.ts';
import { ModuleStore, type LoadedModule } from '../modules.ts';
import { OutputRing, DEFAULT_OUTPUT_CAPACITY } from '../output-ring.ts';
import { Scheduler } from './scheduler.ts';
import { SupervisorError, type ProcessInfo, type ProcessState } from '../supervisor.ts';
import { batching, type CheckpointValue, type FromScheduler, type LiveInfo, type StartedValue, type ToScheduler } from './protocol.ts';
import { tuneV8ForPoolWorkers } from './v8-tuning.ts';

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
}

export interface PoolSpawn {
  module: LoadedModule;
  /** argv after argv[0]. */
  args?: readonly string[];
  manifest?: Manifest;
  stdin?: Uint8Array;
  /** End of input after `stdin`. */
  closeStdin?: boolean;
}

export interface WorkerInfo {
  index: number;
  /** A worker of one unprepared picoprocess (not a pool member). */
  dedicated: boolean;
  processes: number;
}

/** How long list() waits for a worker's figures (a dedicated worker in a loop never answers). */
const INFO_TIMEOUT_MS = 250;

interface Link {
  post(m: ToScheduler): void;
  terminate(): Promise<unknown>;
}

class Slot {
  readonly index: number;
  readonly dedicated: boolean;
  link!: Link;
  /** Module variants sent to it already. */
  readonly modules = new Set<string>();
  live = 0;
  dead = false;
  /** A dedicated worker whose picoprocess ended while requests to it were open (a checkpoint). */
  retireWhenAnswered = false;
  readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  constructor(index: number, dedicated: boolean) {
    this.index = index;
    this.dedicated = dedicated;
  }
}

class Proc {
  readonly id: number;
  name: string;
  args: string[];
  manifest: Manifest;
  capturable: boolean;
  readonly stdout: OutputRing;
  readonly stderr: OutputRing;
  readonly startedAt = new Date();
  endedAt: Date | null = null;
  state: ProcessState = 'starting';
  status: ExitStatus | null = null;
  slot: Slot;
  gen: number;
  /** A move is under way: the old placement's end, when it comes, is kept here. */
  moving = false;
  staleGen = -1;
  staleExit: ExitStatus | null = null;
  /** CPU time on earlier workers, and the last figures the current one gave. */
  cpuBefore = 0;
  cpuMs = 0;
  memoryBytes = 0;
  readonly done: Promise<void>;
  resolveDone!: () => void;

  constructor(id: number, name: string, args: string[], manifest: Manifest, slot: Slot, gen: number, capacity: number) {
    this.id = id;
    this.name = name;
    this.args = args;
    this.manifest = manifest;
    this.capturable = false;
    this.slot = slot;
    this.gen = gen;
    this.stdout = new OutputRing(capacity);
    this.stderr = new OutputRing(capacity);
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  info(): ProcessInfo {
    return {
      id: this.id,
      name: this.name,
      args: this.args,
      state: this.state,
      exitCode: this.status?.exitCode ?? null,
      error: this.status?.error ?? null,
      startedAt: this.startedAt.toISOString(),
      endedAt: this.endedAt?.toISOString() ?? null,
      cpuMs: Math.round((this.cpuBefore + this.cpuMs) * 1000) / 1000,
      memoryBytes: this.status ? 0 : this.memoryBytes,
      stdoutBytes: this.stdout.total,
      stderrBytes: this.stderr.total,
      capturable: this.capturable,
      limits: { ...this.manifest.limits },
      worker: this.slot.index,
    };
  }
}

export class Pool {
  private readonly limits: Limits;
  private readonly capacity: number;
  private readonly keepEnded: number;
  private readonly prepare: boolean;
  private readonly store: ModuleStore;
  /** The pool's schedulers (index = position); dedicated workers live only in `dedicated`. */
  private readonly slots: Slot[] = [];
  private readonly dedicated = new Set<Slot>();
  private nextSlotIndex: number;
  private readonly procs = new Map<number, Proc>();
  private readonly endedOrder: number[] = [];
  private nextId = 1;
  private nextGen = 1;
  private nextReq = 1;
  private closing = false;
  /** workers: 0, everything on this thread (an unprepared module too: it cannot be stopped in a loop). */
  private readonly localMode: boolean;

  constructor(options: PoolOptions = {}) {
    tuneV8ForPoolWorkers();
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.capacity = options.outputCapacity ?? DEFAULT_OUTPUT_CAPACITY;
    this.keepEnded = options.keepEnded ?? 1000;
    this.prepare = options.prepare ?? true;
    this.store = new ModuleStore(this.prepare);
    const n = options.workers ?? availableParallelism();
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`workers: ${n}: expected 0 or more`);
    this.localMode = n === 0;
    if (n === 0) this.slots.push(this.localSlot());
    for (let i = 0; i < n; i++) this.slots.push(this.workerSlot(i, false));
    this.nextSlotIndex = Math.max(1, n);
  }

  /** workers: 0 (its one scheduler runs on this thread). */
  get onMainThread(): boolean {
    return this.localMode;
  }

  /** How many pool schedulers there are (0 workers: one, on this thread). */
  get workerCount(): number {
    return this.slots.length;
  }

  /** Resolves once every worker answers (they load their code first). */
  async ready(): Promise<void> {
    await Promise.all(this.slots.map((s) => this.request(s, { op: 'info', req: 0 })));
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
    const key = `${req.module.hash}:${given.limits.memory}`;
    const slot = this.ownThread(req.module.preemptible) ? this.dedicatedSlot() : this.leastLoaded();
    const id = this.nextId++;
    const gen = this.nextGen++;
    const args = given.args ?? [req.module.name, ...(req.args ?? [])];
    const p = new Proc(id, req.module.name, [...args], given, slot, gen, this.capacity);
    this.procs.set(id, p);
    slot.live++;
    if (!slot.modules.has(key)) {
      slot.modules.add(key);
      slot.link.post({ op: 'module', key, name: req.module.name, hash: req.module.hash, bytes: req.module.bytes, prepared: req.module.prepared, preemptible: req.module.preemptible, compiled });
    }
    try {
      const v = (await this.request(slot, { op: 'spawn', req: 0, id, gen, key, args: [...(req.args ?? [])], manifest: given, stdin: req.stdin ?? null, closeStdin: req.closeStdin === true })) as StartedValue;
      this.started(p, v);
    } catch (e) {
      this.procs.delete(id);
      slot.live--;
      if (slot.dedicated) this.retire(slot);
      throw e;
    }
    return p.info();
  }

  /**
   * Start `starts` picoprocesses of `module` with empty stdin, in batches, let them end, and
   * forget them: the first picoprocess after is id 1 again (warm-up.ts says why). Only before
   * anything else has started. Returns how many ran: none when the module is not preemptible
   * (each would get a worker thread of its own). A start that fails ends it: the error is
   * thrown once the others have ended and been forgotten.
   */
  async warmUp(module: LoadedModule, starts: number): Promise<number> {
    if (this.nextId !== 1) throw new Error('warmUp: picoprocesses have been started already');
    if (this.ownThread(module.preemptible)) return 0;
    let failed: unknown = null;
    for (let left = starts; left > 0 && failed === null; left -= WARM_UP_BATCH) {
      const batch = await Promise.allSettled(Array.from({ length: Math.min(WARM_UP_BATCH, left) }, () => this.spawn({ module, closeStdin: true })));
      for (const r of batch) if (r.status === 'rejected') failed ??= r.reason;
      await Promise.all(batch.map((r) => (r.status === 'fulfilled' ? this.wait(r.value.id) : null)));
    }
    this.procs.clear();
    this.endedOrder.length = 0;
    this.nextId = 1;
    if (failed !== null) throw failed;
    return starts;
  }

  /** Continue a snapshot as a new picoprocess (on the least-loaded worker, or `worker`). */
  async restore(snapshot: Uint8Array, worker?: number): Promise<ProcessInfo> {
    // A module prepared without the tick counter cannot be preempted: a worker of its own.
    const module = decodeSnapshot(snapshot, 'snapshot', { lazyPages: true }).module;
    const own = module !== null && this.ownThread(!isWaitsOnly(module));
    if (own && worker !== undefined) throw new SupervisorError(409, 'this snapshot cannot be preempted (prepared with --waits-only): it gets a worker thread of its own, not worker ' + worker);
    const slot = own ? this.dedicatedSlot() : worker === undefined ? this.leastLoaded() : this.poolSlot(worker);
    const id = this.nextId++;
    const gen = this.nextGen++;
    const p = new Proc(id, 'snapshot', [], this.defaultManifest(), slot, gen, this.capacity);
    this.procs.set(id, p);
    slot.live++;
    try {
      const v = (await this.request(slot, { op: 'restore', req: 0, id, gen, snapshot, manifest: null, stdin: [], closeStdin: false })) as StartedValue;
      this.started(p, v);
    } catch (e) {
      this.procs.delete(id);
      slot.live--;
      if (slot.dedicated) this.retire(slot);
      throw e;
    }
    return p.info();
  }

  get(id: number): ProcessInfo {
    return this.proc(id).info();
  }

  /** The picoprocess with fresh CPU and memory figures from its worker. */
  async fresh(id: number): Promise<ProcessInfo> {
    const p = this.proc(id);
    if (!p.status) await this.refresh([p.slot]);
    return p.info();
  }

  async list(): Promise<ProcessInfo[]> {
    await this.refresh([...this.slots, ...this.dedicated].filter((s) => s.live > 0));
    return [...this.procs.values()].map((p) => p.info());
  }

  get size(): number {
    return this.procs.size;
  }

  workers(): WorkerInfo[] {
    return [...this.slots, ...this.dedicated].map((s) => ({ index: s.index, dedicated: s.dedicated, processes: s.live }));
  }

  /** Where its output is kept (followable). */
  output(id: number, which: 'stdout' | 'stderr'): OutputRing {
    return this.proc(id)[which];
  }

  async wait(id: number): Promise<ProcessInfo> {
    const p = this.proc(id);
    await p.done;
    return p.info();
  }

  /** Stop it (status 137) and wait for its end. */
  async kill(id: number): Promise<ProcessInfo> {
    const p = this.proc(id);
    if (p.status) return p.info();
    if (p.slot.dedicated) {
      // Its loop may never reach an import: ending the thread is the only sure stop.
      const slot = p.slot;
      this.finish(p, { exitCode: KILLED_EXIT_CODE, error: 'killed' });
      this.retire(slot);
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
    const p = this.proc(id);
    if (!p.status) throw new SupervisorError(409, `picoprocess ${id} is still running; kill it first`);
    this.procs.delete(id);
  }

  async feedStdin(id: number, bytes: Uint8Array, close: boolean): Promise<number> {
    const p = this.live(id);
    while (p.moving) await new Promise((r) => setTimeout(r, 1));
    return (await this.request(p.slot, { op: 'stdin', req: 0, id, bytes, close })) as number;
  }

  /** A snapshot; without leaveRunning the picoprocess stops (state 'checkpointed'). */
  async checkpoint(id: number, leaveRunning: boolean): Promise<Uint8Array> {
    const p = this.live(id);
    if (!p.capturable) throw new SupervisorError(409, `picoprocess ${id} cannot be checkpointed: its module is not prepared (drawbridge prepare)`);
    if (p.moving) throw new SupervisorError(409, `picoprocess ${id} is moving`);
    const v = (await this.request(p.slot, { op: 'checkpoint', req: 0, id, leaveRunning, forMove: false })) as CheckpointValue;
    return v.snapshot;
  }

  /**
   * Move a running picoprocess to pool worker `to` (default: the least loaded other one):
   * checkpoint there, restore here, same id; its output goes on in the same rings.
   */
  async move(id: number, to?: number): Promise<ProcessInfo> {
    const p = this.live(id);
    if (!p.capturable) throw new SupervisorError(409, `picoprocess ${id} cannot move: its module is not prepared (drawbridge prepare)`);
    if (p.slot.dedicated) throw new SupervisorError(409, `picoprocess ${id} cannot move: it cannot be preempted (prepared with --waits-only), so it keeps a worker thread of its own`);
    if (p.moving) throw new SupervisorError(409, `picoprocess ${id} is moving already`);
    const from = p.slot;
    const target = to === undefined ? this.leastLoaded(from) : this.poolSlot(to);
    if (target === from) throw new SupervisorError(409, `picoprocess ${id} is on worker ${from.index} already`);
    p.moving = true;
    p.staleGen = p.gen;
    p.staleExit = null;
    p.gen = this.nextGen++;
    let cp: CheckpointValue;
    try {
      cp = (await this.request(from, { op: 'checkpoint', req: 0, id, leaveRunning: false, forMove: true })) as CheckpointValue;
    } catch (e) {
      // Refused (a pipe among its descriptors...): it goes on where it was, or ended meanwhile.
      p.gen = p.staleGen;
      p.moving = false;
      if (p.staleExit) this.finish(p, p.staleExit);
      throw e;
    }
    from.live--;
    let placed: Slot | null = null;
    let error: Error | null = null;
    for (const slot of [target, from]) {
      // Placed before it runs there: an end that comes before the answer is counted on it.
      p.slot = slot;
      slot.live++;
      try {
        const msg: ToScheduler = { op: 'restore', req: 0, id, gen: p.gen, snapshot: cp.snapshot, manifest: p.manifest, stdin: cp.stdin ?? [], closeStdin: cp.stdinClosed === true };
        this.started(p, (await this.request(slot, msg)) as StartedValue);
        placed = slot;
        break;
      } catch (e) {
        slot.live--;
        error ??= e as Error;
      }
    }
    p.moving = false;
    if (!placed) {
      p.slot.live++; // finish() counts it off its slot
      this.finish(p, { exitCode: TRAP_EXIT_CODE, error: `host error: lost while moving: ${error?.message}` });
      throw new SupervisorError(500, `picoprocess ${id} could not be restored after its checkpoint: ${error?.message}`);
    }
    if (placed !== target) throw new SupervisorError(500, `picoprocess ${id} could not be restored on worker ${target.index} (${error?.message}); it goes on on worker ${from.index}`);
    return p.info();
  }

  /** Kill everything, stop the workers. */
  async shutdown(): Promise<void> {
    this.closing = true;
    const live = [...this.procs.values()].filter((p) => !p.status);
    for (const p of live) if (p.slot.dedicated) this.finish(p, { exitCode: KILLED_EXIT_CODE, error: 'the daemon is shutting down' });
    for (const s of this.dedicated) this.retire(s);
    await Promise.all(this.slots.map((s) => this.request(s, { op: 'shutdown', req: 0 }, 5000).catch(() => {})));
    for (const p of live) if (!p.status) this.finish(p, { exitCode: KILLED_EXIT_CODE, error: 'the daemon is shutting down' });
    await Promise.all(this.slots.map((s) => s.link.terminate()));
  }

  // --- placement -------------------------------------------------------------------------

  private leastLoaded(except?: Slot): Slot {
    let best: Slot | null = null;
    for (const s of this.slots) if (s !== except && !s.dead && (!best || s.live < best.live)) best = s;
    if (!best) throw new SupervisorError(except ? 409 : 503, except ? 'there is no other worker to move to' : 'no worker is running');
    return best;
  }

  private poolSlot(index: number): Slot {
    const s = this.slots.find((x) => x.index === index);
    if (!s || s.dead) throw new SupervisorError(400, `no pool worker ${index} (workers: ${this.slots.map((x) => x.index).join(', ')})`);
    return s;
  }

  /** Whether a picoprocess gets a worker thread of its own: one that cannot be preempted, unless all runs on this thread. */
  private ownThread(preemptible: boolean): boolean {
    return !preemptible && !this.localMode;
  }

  private dedicatedSlot(): Slot {
    const s = this.workerSlot(this.nextSlotIndex++, true);
    this.dedicated.add(s);
    return s;
  }

  /** End a dedicated worker (its picoprocess ended or was killed). */
  private retire(slot: Slot): void {
    if (!this.dedicated.delete(slot)) return;
    slot.dead = true;
    void slot.link.terminate();
  }

  private localSlot(): Slot {
    const slot = new Slot(0, false);
    const scheduler = new Scheduler((m) => this.onMessage(slot, m), { limits: this.limits, prepare: this.prepare });
    // Delivered a tick later, as a worker's would be: the caller never re-enters itself.
    slot.link = { post: (m) => queueMicrotask(() => scheduler.handle(m)), terminate: async () => {} };
    return slot;
  }

  private workerSlot(index: number, dedicated: boolean): Slot {
    const slot = new Slot(index, dedicated);
    const worker = new Worker(workerUrl(), { workerData: { limits: this.limits, prepare: this.prepare, dedicated } });
    worker.on('message', (m: FromScheduler) => this.onMessage(slot, m));
    worker.on('error', (e) => this.lost(slot, e));
    worker.on('exit', () => this.lost(slot, new Error('the worker thread ended')));
    slot.link = { post: batching<ToScheduler>((m) => worker.postMessage(m)), terminate: () => worker.terminate() };
    return slot;
  }

  // --- messages --------------------------------------------------------------------------

  private request(slot: Slot, m: ToScheduler & { req: number }, timeoutMs = 0): Promise<unknown> {
    if (slot.dead) return Promise.reject(new SupervisorError(500, `worker ${slot.index} has ended`));
    const req = this.nextReq++;
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | null = null;
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          slot.pending.delete(req);
          this.answered(slot);
          reject(new SupervisorError(504, `worker ${slot.index} did not answer`));
        }, timeoutMs);
      }
      slot.pending.set(req, {
        resolve: (v) => {
          if (timer) clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          if (timer) clearTimeout(timer);
          reject(e);
        },
      });
      slot.link.post({ ...m, req } as ToScheduler);
    });
  }

  private onMessage(slot: Slot, m: FromScheduler): void {
    if (m.op === 'batch') {
      for (const x of m.messages) this.onMessage(slot, x);
      return;
    }
    if (m.op === 'reply') {
      const waiter = slot.pending.get(m.req);
      if (!waiter) return;
      slot.pending.delete(m.req);
      if (m.ok) waiter.resolve(m.value);
      else waiter.reject(new SupervisorError(m.status, m.message));
      this.answered(slot);
      return;
    }
    const p = this.procs.get(m.id);
    if (!p) return;
    if (m.op === 'out') {
      (m.fd === 1 ? p.stdout : p.stderr).append(m.bytes);
      return;
    }
    // op 'exit'
    if (m.gen === p.gen) {
      p.cpuMs = m.cpuMs;
      this.finish(p, m.status);
      // A dedicated worker ends with its picoprocess, but not before it has answered what was
      // asked of it: a checkpoint's end comes with its answer, in either order.
      if (slot.dedicated) {
        if (slot.pending.size === 0) this.retire(slot);
        else slot.retireWhenAnswered = true;
      }
    } else if (m.gen === p.staleGen) {
      // The end of the placement it is moving away from (checkpointed, or an end of its own
      // that raced the checkpoint: move() then applies it).
      p.cpuBefore += m.cpuMs;
      p.cpuMs = 0;
      if (!m.status.checkpointed) p.staleExit = m.status;
    }
  }

  private async refresh(slots: Slot[]): Promise<void> {
    await Promise.all(
      slots.map(async (s) => {
        try {
          const infos = (await this.request(s, { op: 'info', req: 0 }, INFO_TIMEOUT_MS)) as LiveInfo[];
          for (const i of infos) {
            const p = this.procs.get(i.id);
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

  private answered(slot: Slot): void {
    if (slot.retireWhenAnswered && slot.pending.size === 0) this.retire(slot);
  }

  /** A worker thread failed or ended by itself: what ran there is gone. */
  private lost(slot: Slot, e: Error): void {
    if (slot.dead && slot.pending.size === 0) return;
    slot.dead = true;
    for (const w of slot.pending.values()) w.reject(new SupervisorError(500, `worker ${slot.index}: ${e.message}`));
    slot.pending.clear();
    for (const p of this.procs.values()) {
      if (p.slot === slot && !p.status && !p.moving) this.finish(p, { exitCode: TRAP_EXIT_CODE, error: `host error: worker ${slot.index}: ${e.message}` });
    }
    if (!slot.dedicated && !this.closing) this.replace(slot);
  }

  /** Keep the pool at its size: a pool worker that died is started anew at the same index. */
  private replace(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots[i] = this.workerSlot(slot.index, false);
  }

  private started(p: Proc, v: StartedValue): void {
    p.capturable = v.capturable;
    p.args = v.args;
    p.name = v.name;
    if (v.manifest) p.manifest = v.manifest;
    if (!p.status) p.state = 'running';
  }

  private finish(p: Proc, status: ExitStatus): void {
    if (p.status) return;
    p.status = status;
    p.state = status.checkpointed ? 'checkpointed' : 'exited';
    p.endedAt = new Date();
    p.slot.live--;
    p.stdout.end();
    p.stderr.end();
    p.resolveDone();
    this.endedOrder.push(p.id);
    while (this.endedOrder.length > this.keepEnded) this.procs.delete(this.endedOrder.shift()!);
  }

  private proc(id: number): Proc {
    const p = this.procs.get(id);
    if (!p) throw new SupervisorError(404, `no picoprocess ${id}`);
    return p;
  }

  private live(id: number): Proc {
    const p = this.proc(id);
    if (p.status) throw new SupervisorError(409, `picoprocess ${id} has ended`);
    return p;
  }
}

/** The worker's entry: next to this file, as .ts (source), or .js (tsc's dist/ or the esbuild bundle). */
function workerUrl(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);
}
