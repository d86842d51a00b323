// The worker threads of a pool and the messages to them: starting the threads (worker.ts is
// each one's entry; with `workers: 0`, one Scheduler on the main thread instead), asking them
// (request/reply, protocol.ts), and placement: which scheduler a picoprocess goes to.
//
// Placement: a new picoprocess goes to the pool worker with the fewest live picoprocesses.
// A module that is not prepared, or prepared without the tick counter (--waits-only), has no
// tick, so a loop without system calls would hold its event loop for ever: it gets a worker
// thread of its own (dedicated), started on demand, which a kill terminates (the only way to
// stop such a loop) and which ends with it. A pool worker that dies is started anew at its index.
//
// What a scheduler pushes unasked (output, ends) and a thread's loss go to the pool (pool.ts),
// which keeps the process table (table.ts).

import { Worker } from 'node:worker_threads';
import type { Limits } from '../../monitor/manifest/manifest.ts';
import { Scheduler } from './scheduler.ts';
import { SupervisorError } from '../supervisor.ts';
import { batching, type FromScheduler, type ToScheduler } from './protocol.ts';

/** What a scheduler pushes without being asked: output, ends, and replays gone live. */
export type Pushed = Extract<FromScheduler, { op: 'out' | 'exit' | 'live' | 'fb' }>;

export interface WorkerEvents {
  /** Output or an end that a scheduler pushed. */
  pushed(slot: Slot, m: Pushed): void;
  /** A worker thread failed or ended by itself: its open requests are rejected, what ran there is gone. */
  lost(slot: Slot, e: Error): void;
}

export interface WorkerInfo {
  index: number;
  /** A worker of one unprepared picoprocess (not a pool member). */
  dedicated: boolean;
  processes: number;
}

interface Link {
  post(m: ToScheduler): void;
  terminate(): Promise<unknown>;
  /** Milliseconds the thread has been busy (its event loop not idle, a guest's loop included); null on the main thread. */
  busyMs(): number | null;
}

/** One scheduler: a worker thread (a pool member, or dedicated to one picoprocess), or the main thread's. */
export class Slot {
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

export class Workers {
  /** The pool's schedulers (index = position); dedicated workers live only in `dedicated`. */
  private readonly slots: Slot[] = [];
  private readonly dedicated = new Set<Slot>();
  private nextSlotIndex: number;
  private nextReq = 1;
  private readonly config: { limits: Limits; prepare: boolean };
  private readonly events: WorkerEvents;
  /** Shutting down: a pool worker that ends is not replaced. */
  closing = false;
  /** workers: 0, everything on this thread (an unprepared module too: it cannot be stopped in a loop). */
  readonly localMode: boolean;

  constructor(count: number, config: { limits: Limits; prepare: boolean }, events: WorkerEvents) {
    this.config = config;
    this.events = events;
    this.localMode = count === 0;
    if (count === 0) this.slots.push(this.localSlot());
    for (let i = 0; i < count; i++) this.slots.push(this.workerSlot(i, false));
    this.nextSlotIndex = Math.max(1, count);
  }

  /** The pool's schedulers (not the dedicated workers). */
  get pool(): readonly Slot[] {
    return this.slots;
  }

  /** Every scheduler, the dedicated workers included. */
  all(): Slot[] {
    return [...this.slots, ...this.dedicated];
  }

  info(): WorkerInfo[] {
    return this.all().map((s) => ({ index: s.index, dedicated: s.dedicated, processes: s.live }));
  }

  // --- placement -------------------------------------------------------------------------

  leastLoaded(except?: Slot): Slot {
    let best: Slot | null = null;
    for (const s of this.slots) if (s !== except && !s.dead && (!best || s.live < best.live)) best = s;
    if (!best) throw new SupervisorError(except ? 409 : 503, except ? 'there is no other worker to move to' : 'no worker is running');
    return best;
  }

  poolSlot(index: number): Slot {
    const s = this.slots.find((x) => x.index === index);
    if (!s || s.dead) throw new SupervisorError(400, `no pool worker ${index} (workers: ${this.slots.map((x) => x.index).join(', ')})`);
    return s;
  }

  /** Whether a picoprocess gets a worker thread of its own: one that cannot be preempted, unless all runs on this thread. */
  ownThread(preemptible: boolean): boolean {
    return !preemptible && !this.localMode;
  }

  dedicatedSlot(): Slot {
    const s = this.workerSlot(this.nextSlotIndex++, true);
    this.dedicated.add(s);
    return s;
  }

  /** End a dedicated worker (its picoprocess ended or was killed). */
  retire(slot: Slot): void {
    if (!this.dedicated.delete(slot)) return;
    slot.dead = true;
    void slot.link.terminate();
  }

  /** End every dedicated worker. */
  retireDedicated(): void {
    for (const s of this.dedicated) this.retire(s);
  }

  /**
   * A dedicated worker ends with its picoprocess, but not before it has answered what was
   * asked of it: a checkpoint's end comes with its answer, in either order.
   */
  retireOnceAnswered(slot: Slot): void {
    if (slot.pending.size === 0) this.retire(slot);
    else slot.retireWhenAnswered = true;
  }

  /** Stop the pool's worker threads. */
  async terminate(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.link.terminate()));
  }

  private localSlot(): Slot {
    const slot = new Slot(0, false);
    const scheduler = new Scheduler((m) => this.onMessage(slot, m), this.config);
    // Delivered a tick later, as a worker's would be: the caller never re-enters itself.
    slot.link = { post: (m) => queueMicrotask(() => scheduler.handle(m)), terminate: async () => {}, busyMs: () => null };
    return slot;
  }

  private workerSlot(index: number, dedicated: boolean): Slot {
    const slot = new Slot(index, dedicated);
    const worker = new Worker(workerUrl(), { workerData: { limits: this.config.limits, prepare: this.config.prepare, dedicated } });
    worker.on('message', (m: FromScheduler) => this.onMessage(slot, m));
    worker.on('error', (e) => this.lost(slot, e));
    worker.on('exit', () => this.lost(slot, new Error('the worker thread ended')));
    slot.link = {
      post: batching<ToScheduler>((m) => worker.postMessage(m)),
      terminate: () => worker.terminate(),
      busyMs: () => worker.performance.eventLoopUtilization().active,
    };
    return slot;
  }

  // --- messages --------------------------------------------------------------------------

  /** Ask a scheduler; resolves with its reply's value (timeoutMs > 0: a 504 after that long). */
  request(slot: Slot, m: ToScheduler & { req: number }, timeoutMs = 0): Promise<unknown> {
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
    this.events.pushed(slot, m);
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
    this.events.lost(slot, e);
    if (!slot.dedicated && !this.closing) this.replace(slot);
  }

  /** Keep the pool at its size: a pool worker that died is started anew at the same index. */
  private replace(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots[i] = this.workerSlot(slot.index, false);
  }
}

/** The worker's entry: next to this file, as .ts (source), or .js (tsc's dist/ or the esbuild bundle). */
function workerUrl(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);
}
