// The process table of a pool, on the main thread: the entries that must outlive a placement
// (the ids, global across the workers; the output rings, so a picoprocess that moves keeps
// its output and its offsets; its manifest; the figures its workers gave), their states, their
// end, and the record of ended ones (the newest keepEnded, oldest forgotten first).

import { rmSync } from 'node:fs';
import type { Manifest } from '../../monitor/manifest/manifest.ts';
import type { CheckpointStart } from '../../checkpoint/durable-run.ts';
import type { ExitStatus } from '../../runtime/picoprocess-types.ts';
import { endReason } from '../end-reason.ts';
import { OutputRing } from '../output-ring.ts';
import { SupervisorError, type CaptureMode, type LoadedModule, type ProcessInfo, type ProcessState } from '../supervisor.ts';
import type { StartedValue } from './protocol.ts';
import type { Slot } from './workers.ts';

/** One picoprocess of the pool, wherever it runs now. */
export class Proc {
  readonly id: number;
  name: string;
  args: string[];
  manifest: Manifest;
  capturable: boolean;
  capture: CaptureMode = null;
  /**
   * Log mode: its module (with its bytes as given, which its log checkpoints carry), how it
   * started, and the log file of its current placement (removed when it ends).
   */
  durable: { module: LoadedModule; source: Uint8Array; start: CheckpointStart; path: string } | null = null;
  /** A replay of placement `gen` going live: told once (the scheduler's 'live'). */
  private liveWaiter: { gen: number; resolve: () => void } | null = null;
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
      reason: endReason(this.status),
      ...(this.status?.backtrace ? { backtrace: [...this.status.backtrace] } : {}),
      startedAt: this.startedAt.toISOString(),
      endedAt: this.endedAt?.toISOString() ?? null,
      cpuMs: Math.round((this.cpuBefore + this.cpuMs) * 1000) / 1000,
      memoryBytes: this.status ? 0 : this.memoryBytes,
      stdoutBytes: this.stdout.total,
      stderrBytes: this.stderr.total,
      capturable: this.capturable,
      capture: this.capture,
      limits: { ...this.manifest.limits },
      worker: this.slot.index,
    };
  }

  /** Resolves once the replay of placement `gen` has gone live (true), or it has ended before (false). */
  untilLive(gen: number): Promise<boolean> {
    return Promise.race([new Promise<boolean>((resolve) => (this.liveWaiter = { gen, resolve: () => resolve(true) })), this.done.then(() => false)]);
  }

  /** The scheduler says placement `gen` went live. */
  wentLive(gen: number): void {
    if (this.liveWaiter?.gen !== gen) return;
    this.liveWaiter.resolve();
    this.liveWaiter = null;
  }
}

export class ProcessTable {
  private readonly procs = new Map<number, Proc>();
  private readonly endedOrder: number[] = [];
  private nextId: number;
  private readonly firstId: number;
  private readonly keepEnded: number;
  private readonly capacity: number;
  /** Told of every change to the table (an entry added, started, ended, forgotten): the console's event stream. */
  onChange: (() => void) | null = null;

  /** firstId: the first id given (a host of a cluster has a range of its own). */
  constructor(keepEnded: number, outputCapacity: number, firstId = 1) {
    this.keepEnded = keepEnded;
    this.capacity = outputCapacity;
    this.firstId = firstId;
    this.nextId = firstId;
  }

  /** Whether any picoprocess has been given an id yet. */
  get used(): boolean {
    return this.nextId !== this.firstId;
  }

  get size(): number {
    return this.procs.size;
  }

  /** A new entry with the next id (or `id`: one that came from another host of a cluster), placed on `slot` (counted there). */
  add(name: string, args: string[], manifest: Manifest, slot: Slot, gen: number, id?: number): Proc {
    if (id !== undefined && this.procs.has(id)) throw new SupervisorError(409, `picoprocess ${id} exists already`);
    const p = new Proc(id ?? this.nextId++, name, args, manifest, slot, gen, this.capacity);
    this.procs.set(p.id, p);
    slot.live++;
    this.onChange?.();
    return p;
  }

  /** Take back an entry whose start failed. */
  drop(p: Proc): void {
    this.procs.delete(p.id);
    p.slot.live--;
    this.onChange?.();
  }

  /** The entry, if it is still known. */
  find(id: number): Proc | undefined {
    return this.procs.get(id);
  }

  get(id: number): Proc {
    const p = this.procs.get(id);
    if (!p) throw new SupervisorError(404, `no picoprocess ${id}`);
    return p;
  }

  /** The entry of a picoprocess that has not ended. */
  live(id: number): Proc {
    const p = this.get(id);
    if (p.status) throw new SupervisorError(409, `picoprocess ${id} has ended`);
    return p;
  }

  all(): Proc[] {
    return [...this.procs.values()];
  }

  /** Forget an ended picoprocess (its output goes with it). */
  remove(id: number): void {
    const p = this.get(id);
    if (!p.status) throw new SupervisorError(409, `picoprocess ${id} is still running; kill it first`);
    this.procs.delete(id);
    this.onChange?.();
  }

  /** Forget every entry: the next id is the first again. */
  clear(): void {
    this.procs.clear();
    this.endedOrder.length = 0;
    this.nextId = this.firstId;
    this.onChange?.();
  }

  /** It ran after it was placed: what its scheduler said of it. */
  started(p: Proc, v: StartedValue): void {
    p.capturable = v.capturable;
    p.capture = v.capture;
    p.args = v.args;
    p.name = v.name;
    if (v.manifest) p.manifest = v.manifest;
    if (!p.status) p.state = 'running';
    this.onChange?.();
  }

  /** Its end (once): counted off its slot, its output ended, remembered among the ended. */
  finish(p: Proc, status: ExitStatus): void {
    if (p.status) return;
    p.status = status;
    p.state = status.checkpointed ? 'checkpointed' : 'exited';
    p.endedAt = new Date();
    p.slot.live--;
    // Its worker removes its log as it ends; one whose thread was ended (a kill) cannot.
    if (p.durable) rmSync(p.durable.path, { force: true });
    p.stdout.end();
    p.stderr.end();
    p.resolveDone();
    this.endedOrder.push(p.id);
    while (this.endedOrder.length > this.keepEnded) this.procs.delete(this.endedOrder.shift()!);
    this.onChange?.();
  }
}
