// A one-shot timer on the real event loop that never fires before its deadline: libuv
// rounds to whole milliseconds and caps setTimeout at 2^31-1 ms, so it re-arms until the
// monotonic clock has really reached the deadline.

const MAX_TIMEOUT_MS = 0x7fffffff;

export class RealTimer {
  private handle: ReturnType<typeof setTimeout> | null = null;
  private readonly deadline: bigint;
  private readonly fn: () => void;
  private readonly clock: () => bigint;

  constructor(clock: () => bigint, ns: bigint, fn: () => void) {
    this.clock = clock;
    this.deadline = clock() + ns;
    this.fn = fn;
    this.arm();
  }
  private arm(): void {
    const left = this.deadline - this.clock();
    if (left <= 0n) {
      this.handle = null;
      this.fn();
      return;
    }
    const ms = (left + 999_999n) / 1_000_000n;
    this.handle = setTimeout(this.fire, ms > BigInt(MAX_TIMEOUT_MS) ? MAX_TIMEOUT_MS : Number(ms));
  }
  private readonly fire = (): void => this.arm();
  cancel(): void {
    if (this.handle !== null) clearTimeout(this.handle);
    this.handle = null;
  }
}
