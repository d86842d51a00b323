// Quotas the runtime enforces (the monitor enforces the rest: handles, children, bytes
// written, at the Dk boundary; see monitor.ts). Here:
//
// - CPU time. Picoprocesses share one event loop, so CPU time is the wall time a guest holds
//   the loop: from the moment its entry point (or a resumed Suspending import) gets control
//   to the moment it suspends again (an import that waits, or the tick of a prepared module
//   that yields its slice). The Governor keeps that count. It is checked at every tick (every
//   TICK_INTERVAL countdown steps of a prepared module: loop heads and function entries,
//   wasm/ticks.ts) and at every import that may wait; past the limit the guest is ended by
//   an exception thrown out of that import (QuotaStop), which unwinds the Wasm stack like a
//   trap, so the host and the other picoprocesses carry on. The exit status is 152 (128 + SIGXCPU, what a shell
//   reports for a process killed by RLIMIT_CPU) with a one-line message.
//   A module that is not prepared has no ticks: it is charged and checked only at its imports
//   that wait, and a runaway loop without any such import holds the event loop it runs on
//   (a host service gives such a module a worker thread of its own, which a kill ends and
//   which is ended past the quota: docs/serve.md, "Worker threads"; on a CLI's main thread, a
//   watchdog thread ends the process past it: cpu-watchdog.ts).
// - Stopping from outside (drawbridge kill): the same exception, raised at the next tick or
//   import that waits; a guest waiting now is woken by Picoprocess.kill (its wait ends with
//   EXITED) and stopped when the import returns. Exit status 137 (128 + SIGKILL).
// - Memory: the module's own memory maximum, written into the module before it is compiled
//   (memory-limit.ts), so memory.grow past it returns -1 inside the guest (malloc gets NULL).

import { nowMs } from './clock.ts';
import { IMPORT_MAX_ARGS } from '../libos/index.ts';
import { CPU_EXCEEDED_EXIT_CODE, KILLED_EXIT_CODE } from '../abi/exit-status.ts';
export { limitModuleMemory, MemoryLimitError } from '../wasm/memory-limit.ts';

/** Thrown into a guest to end it (CPU quota, kill). exitStatusOf() turns it into a status. */
export class QuotaStop extends Error {
  readonly exitCode: number;
  constructor(exitCode: number, message: string) {
    super(message);
    this.name = 'QuotaStop';
    this.exitCode = exitCode;
  }
}

type Fn = (...args: any[]) => number | Promise<number>;

/**
 * Imports that return at once between two readings of the clock. Reading it on every call
 * would cost a call as much as the call itself; a guest that computes long between calls is
 * bounded elsewhere all the same: by its tick (checked on every call), by the watchdog thread
 * (cpu-watchdog.ts), or by the pool's timer of its dedicated worker.
 */
const CHECK_EVERY = 64;

/** CPU accounting and stop requests for one picoprocess. */
export class Governor {
  /** Most CPU time (ms) the guest may use; Infinity: no limit. */
  readonly cpuLimitMs: number;
  private usedMs = 0;
  /** nowMs() when the guest last got control; -1 while it is suspended. */
  private mark = -1;
  private stop: QuotaStop | null = null;
  /** Calls since the clock was last read (CHECK_EVERY). */
  private calls = 0;
  /** Called once when the guest is stopped (CPU quota or kill), e.g. to kill its Picoprocess. */
  onStop: ((reason: QuotaStop) => void) | null = null;
  /**
   * The count, for a watchdog on another thread (cpu-watchdog.ts): [0] ms used before the
   * running slice, [1] nowMs() when the slice began (-1 while the guest is suspended).
   */
  shared: Float64Array | null = null;

  constructor(cpuLimitMs: number) {
    this.cpuLimitMs = cpuLimitMs > 0 ? cpuLimitMs : Infinity;
  }

  /** CPU time used so far (ms), the slice running now included. */
  get cpuMs(): number {
    return this.mark < 0 ? this.usedMs : this.usedMs + (nowMs() - this.mark);
  }

  /** Whether a stop was requested or the quota ran out; the reason. */
  get stopped(): QuotaStop | null {
    return this.stop;
  }

  /** The guest gets control (its entry point starts, an import resolved). */
  resumed(): void {
    this.mark = nowMs();
    if (this.shared) {
      this.shared[0] = this.usedMs;
      this.shared[1] = this.mark;
    }
  }
  /** The guest gives control back (suspends, returns, ends). */
  paused(): void {
    if (this.mark < 0) return;
    this.usedMs += nowMs() - this.mark;
    this.mark = -1;
    if (this.shared) {
      this.shared[0] = this.usedMs;
      this.shared[1] = -1;
    }
  }

  /** End the guest at its next tick or import that waits (kill from outside). */
  requestStop(exitCode = KILLED_EXIT_CODE, message = 'killed'): void {
    if (this.stop) return;
    this.stop = new QuotaStop(exitCode, message);
    this.onStop?.(this.stop);
  }

  /** Charge the slice so far and throw when the guest must end. */
  private check(): void {
    if (this.mark >= 0) {
      const now = nowMs();
      this.usedMs += now - this.mark;
      this.mark = now;
    }
    if (this.stop === null && this.usedMs > this.cpuLimitMs) this.requestStop(CPU_EXCEEDED_EXIT_CODE, cpuExceededMessage(this.cpuLimitMs));
    if (this.stop) throw this.stop;
  }

  /**
   * Wrap an import that may wait (and the tick, which yields, with `everyCall`): charged and
   * checked on entry (a stop at once, the CPU time every CHECK_EVERY calls, or on every call
   * of the tick); while its promise is pending the guest is not charged; checked again when it
   * resolves.
   */
  wrap(fn: Fn, everyCall = false): Fn {
    return governedImport(this, fn, everyCall);
  }

  /** On entry of a wrapped import. */
  entered(everyCall: boolean): void {
    if (everyCall || this.stop !== null || ++this.calls >= CHECK_EVERY) {
      this.calls = 0;
      this.check();
    }
  }

  /** A wrapped import that waits: not charged until it resolves, checked then. */
  waiting(r: Promise<number>): Promise<number> {
    this.paused();
    return r.then((v) => {
      this.resumed();
      if (this.stop) throw this.stop;
      return v;
    });
  }
}

/** `fn` under the governor g, called with a fixed list of parameters (IMPORT_MAX_ARGS says why). */
function governedImport(g: Governor, fn: Fn, everyCall: boolean): Fn {
  if (fn.length > IMPORT_MAX_ARGS) {
    return function (this: unknown): number | Promise<number> {
      g.entered(everyCall);
      // eslint-disable-next-line prefer-rest-params
      const r = fn.apply(this, arguments as unknown as unknown[]);
      return typeof r === 'number' ? r : g.waiting(r);
    };
  }
  return (a0?: unknown, a1?: unknown, a2?: unknown, a3?: unknown, a4?: unknown, a5?: unknown, a6?: unknown, a7?: unknown, a8?: unknown, a9?: unknown) => {
    g.entered(everyCall);
    const r = fn(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9);
    return typeof r === 'number' ? r : g.waiting(r);
  };
}

/** The one line of a guest ended at its CPU time limit (here, by a watchdog, by a host service). */
export function cpuExceededMessage(limitMs: number): string {
  return `CPU time limit exceeded (${formatMs(limitMs)} of the manifest's limits.cpu_time)`;
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
}
