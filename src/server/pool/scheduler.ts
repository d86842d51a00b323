// One scheduler of a pool: a Supervisor (picoprocesses on one event loop) driven by messages
// (server/pool/protocol.ts). It runs in a worker thread (server/pool/worker.ts), or on the main thread
// with `drawbridge serve --workers 0`. It keeps no output: every chunk goes to the pool, whose
// rings stay put when a picoprocess moves between schedulers.

import { GuestError } from '../../libos/index.ts';
import { ModuleError } from '../../runtime/module-cache.ts';
import { MemoryLimitError } from '../../runtime/quotas.ts';
import { markMemoryBound } from '../../runtime/load.ts';
import { SnapshotError } from '../../checkpoint/snapshot.ts';
import { Supervisor, SupervisorError, type Entry, type LoadedModule, type SupervisorOptions } from '../supervisor.ts';
import type { CheckpointValue, FromScheduler, LiveInfo, StartedValue, ToScheduler } from './protocol.ts';
import type { KernelHost } from '../../host/kernel/kernel.ts';
import { FrameForwarder } from './frame-forward.ts';

/** start() answered already. */
const NO_ANSWER = Symbol('answered');

export type Post = (message: FromScheduler, transfer?: ArrayBuffer[]) => void;

interface Variant {
  module: LoadedModule;
  compiled: WebAssembly.Module;
}

export class Scheduler {
  private readonly sv: Supervisor;
  private readonly post: Post;
  private readonly variants = new Map<string, Variant>();
  /** The placement number of each live id (server/pool/protocol.ts, gen). */
  private readonly gens = new Map<number, number>();
  /** Frame-buffer updates to the pool (when the host has frame buffers). */
  private readonly frames: FrameForwarder | null;
  /** The picoprocess id of a kernel process id, as last found. */
  private readonly byKernelPid = new Map<number, number>();

  constructor(post: Post, options: Pick<SupervisorOptions, 'limits' | 'prepare'> = {}) {
    this.post = post;
    // Ended entries are forgotten at once: the pool keeps what is known of them.
    this.sv = new Supervisor({ ...options, keepEnded: 0, onOutput: (e, which, b) => this.output(e, which, b) });
    const host = this.kernelHost();
    this.frames =
      host &&
      new FrameForwarder(
        host,
        (pid) => this.idOfKernelPid(pid),
        (m, transfer) => this.post(m, transfer),
      );
  }

  private kernelHost(): KernelHost | null {
    const host = this.sv.host as Partial<KernelHost>;
    return typeof host.onFrameBufferUpdate === 'function' && typeof host.injectInput === 'function' ? (host as KernelHost) : null;
  }

  /** Which of this scheduler's picoprocesses kernel process `pid` is (none: a child, or one that ended). */
  private idOfKernelPid(pid: number): number | undefined {
    const known = this.byKernelPid.get(pid);
    if (known !== undefined && this.gens.has(known)) return known;
    for (const id of this.gens.keys()) {
      if (this.sv.get(id).running?.process.id === pid) {
        this.byKernelPid.set(pid, id);
        return id;
      }
    }
    return undefined;
  }

  handle(m: ToScheduler): void {
    switch (m.op) {
      case 'batch':
        for (const x of m.messages) this.handle(x);
        return;
      case 'module':
        markMemoryBound(m.compiled, m.memoryLimit);
        this.variants.set(m.key, {
          module: { name: m.name, hash: m.hash, bytes: m.bytes, prepared: m.prepared, preemptible: m.preemptible, compiled: new Map() },
          compiled: m.compiled,
        });
        return;
      case 'kill':
        if (this.gens.has(m.id)) this.sv.kill(m.id);
        return;
      case 'input': {
        const process = this.gens.has(m.id) ? this.sv.get(m.id).running?.process : undefined;
        if (process) this.kernelHost()?.injectInput(process, m.event);
        return;
      }
      case 'info': {
        const value: LiveInfo[] = [];
        for (const id of this.gens.keys()) {
          const i = this.sv.get(id).info();
          value.push({ id, cpuMs: i.cpuMs, memoryBytes: i.memoryBytes });
        }
        return this.answer(m.req, () => value);
      }
      case 'spawn': {
        const v = this.variants.get(m.key);
        if (!v) return this.answer(m.req, () => Promise.reject(new SupervisorError(500, `module ${m.key} was not sent to this worker`)));
        const stdin = m.closeStdin ? (m.stdin ?? new Uint8Array(0)) : 'open';
        return this.start(m.req, m.gen, false, (onRun) =>
          this.sv.spawn({
            module: v.module,
            compiled: v.compiled,
            args: m.args,
            manifest: m.manifest,
            stdin,
            id: m.id,
            onRun: (entry) => {
              if (m.stdin && !m.closeStdin) entry.stdin.feed(m.stdin);
              onRun(entry);
            },
            // Log mode is the pool's choice (with the log's path): none here unless it is asked for.
            durable: m.durable ?? undefined,
            onLive: () => this.post({ op: 'live', id: m.id, gen: m.gen }),
          }),
        );
      }
      case 'restore':
        return this.start(m.req, m.gen, true, (onRun) =>
          this.sv.restore(m.snapshot, m.manifest ?? undefined, m.id, (entry) => {
            for (const chunk of m.stdin) entry.stdin.feed(chunk);
            if (m.closeStdin) entry.stdin.close();
            onRun(entry);
          }),
        );
      case 'stdin':
        return this.answer(m.req, () => this.sv.feedStdin(m.id, m.bytes, m.close));
      case 'checkpoint':
        return this.answer(m.req, async () => {
          const entry = this.sv.get(m.id);
          const stdinClosed = entry.stdin.isClosed;
          // Log mode: the log and its META go back; the pool, which holds the module's bytes as given, adds them.
          const value: CheckpointValue = entry.durable
            ? { snapshot: null, log: await this.sv.captureLog(m.id, m.leaveRunning) }
            : { snapshot: await this.sv.checkpoint(m.id, m.leaveRunning), log: null };
          if (m.forMove) {
            value.stdin = entry.stdin.takeUnread();
            value.stdinClosed = stdinClosed;
          }
          return value;
        });
      case 'shutdown':
        return this.answer(m.req, () => this.sv.shutdown());
    }
  }

  /**
   * Start a picoprocess and answer `req` just before the guest first runs: an unprepared guest
   * in a loop without system calls never gives this thread back (its worker is its own, and a
   * kill terminates it), so the answer cannot wait for start() to return.
   */
  private start(req: number, gen: number, withManifest: boolean, start: (onRun: (entry: Entry) => void) => Promise<Entry>): void {
    let answered = false;
    const onRun = (entry: Entry) => {
      answered = true;
      this.post({ op: 'reply', req, ok: true, value: this.started(entry, gen, withManifest) });
    };
    this.answer(req, async () => {
      const entry = await start(onRun);
      if (!answered) onRun(entry);
      return NO_ANSWER;
    });
  }

  private started(entry: Entry, gen: number, withManifest: boolean): StartedValue {
    this.gens.set(entry.id, gen);
    entry.done.then((status) => {
      this.gens.delete(entry.id);
      const pid = entry.running?.process.id;
      if (pid !== undefined) {
        this.byKernelPid.delete(pid);
        this.frames?.forget(pid);
      }
      this.post({ op: 'exit', id: entry.id, gen, status, cpuMs: entry.governor.cpuMs });
    });
    const capture = entry.capture;
    return { capturable: capture !== null, capture, args: entry.args, name: entry.name, manifest: withManifest ? entry.manifest : undefined };
  }

  private output(entry: Entry, which: 'stdout' | 'stderr', bytes: Uint8Array): void {
    // The chunk is a view the guest's next write may reuse: send a copy, and hand its buffer over.
    const copy = bytes.slice();
    this.post({ op: 'out', id: entry.id, fd: which === 'stdout' ? 1 : 2, bytes: copy }, [copy.buffer]);
  }

  private answer(req: number, f: () => unknown): void {
    Promise.resolve()
      .then(f)
      .then(
        (value) => {
          if (value !== NO_ANSWER) this.post({ op: 'reply', req, ok: true, value });
        },
        (e: unknown) => {
          const status =
            e instanceof SupervisorError
              ? e.status
              : e instanceof ModuleError || e instanceof MemoryLimitError || e instanceof SnapshotError || e instanceof GuestError
                ? 400
                : 500;
          this.post({ op: 'reply', req, ok: false, status, message: e instanceof Error ? e.message : String(e) });
        },
      );
  }
}
