// Deterministic time for the memory host. Time moves only two ways:
// - every clock query advances it by a fixed step (so a guest that spins on the clock
//   progresses, and two queries never return the same value);
// - when every green thread is blocked and only timers are left, it jumps to the earliest
//   timer deadline and fires it. "Everyone is blocked" is detected as: a macrotask turn of
//   the event loop went by (all promise/microtask work done) with no yield pending.
// The same sequence of calls thus sees the same times, however fast the machine is.

/** Nanoseconds added by each clock query. */
export const QUERY_STEP_NS = 1000n;
/** 2026-01-01T00:00:00Z: where the deterministic realtime clock starts. */
export const EPOCH_START_NS = 1_767_225_600_000_000_000n;

interface VTimer {
  deadline: bigint;
  seq: number;
  fn: (() => void) | null;
}

export class VirtualClock {
  private now = 0n;
  private readonly timers: VTimer[] = [];
  private seq = 0;
  private pendingYields = 0;
  private advanceScheduled = false;

  /** Monotonic nanoseconds, stepping. */
  tick(): bigint {
    this.now += QUERY_STEP_NS;
    return this.now;
  }
  /** The current time without stepping (for file timestamps). */
  peek(): bigint {
    return this.now;
  }

  setTimer(ns: bigint, fn: () => void): VTimer {
    const t: VTimer = { deadline: this.now + ns, seq: this.seq++, fn };
    // Keep sorted by (deadline, seq): equal deadlines fire in the order they were set.
    let i = this.timers.length;
    while (i > 0 && this.timers[i - 1]!.deadline > t.deadline) i--;
    this.timers.splice(i, 0, t);
    this.scheduleAdvance();
    return t;
  }
  clearTimer(t: VTimer): void {
    t.fn = null;
    const i = this.timers.indexOf(t);
    if (i >= 0) this.timers.splice(i, 1);
  }

  /** A yield: runnable work the clock must not jump over. */
  yieldNow(): Promise<void> {
    this.pendingYields++;
    return new Promise((resolve) =>
      setImmediate(() => {
        this.pendingYields--;
        resolve();
      }),
    );
  }

  private scheduleAdvance(): void {
    if (this.advanceScheduled) return;
    this.advanceScheduled = true;
    setImmediate(this.advance);
  }

  private readonly advance = (): void => {
    this.advanceScheduled = false;
    if (this.timers.length === 0) return;
    if (this.pendingYields > 0) {
      this.scheduleAdvance(); // someone can still run: time stands still
      return;
    }
    const first = this.timers[0]!;
    if (first.deadline > this.now) this.now = first.deadline;
    while (this.timers.length > 0 && this.timers[0]!.deadline <= this.now) {
      const t = this.timers.shift()!;
      const fn = t.fn;
      t.fn = null;
      fn?.();
    }
    if (this.timers.length > 0) this.scheduleAdvance();
  };
}
