// The memory platform: an in-memory file system, and either deterministic time and
// randomness (a virtual clock, a seeded generator) or the real ones. No real I/O at all:
// 'inherit' stdio is null here (there is no terminal to inherit).

import type { Platform, TimerToken } from '../kernel/platform.ts';
import type { StreamObject } from '../kernel/kobject.ts';
import { NullStream } from '../kernel/stdio.ts';
import { RealTimer } from '../kernel/real-timer.ts';
import { MemoryFileSystem } from './fs.ts';
import { VirtualClock, EPOCH_START_NS } from './clock.ts';
import { SeededRandom } from './prng.ts';

/** getRandomValues fills at most 65536 bytes per call. */
const RANDOM_CHUNK = 65536;
const hrtime = process.hrtime.bigint;

export interface MemoryPlatformOptions {
  deterministic: boolean;
  seed: number;
}

export class MemoryPlatform implements Platform {
  readonly name = 'memory';
  readonly fs: MemoryFileSystem;
  private readonly clock: VirtualClock | null;
  private readonly random: SeededRandom | null;
  private readonly realtimeBase = BigInt(Date.now()) * 1_000_000n - hrtime();

  constructor(options: MemoryPlatformOptions) {
    this.clock = options.deterministic ? new VirtualClock() : null;
    this.random = options.deterministic ? new SeededRandom(options.seed) : null;
    const clock = this.clock;
    // File timestamps read the clock without stepping it.
    this.fs = new MemoryFileSystem({ now: clock ? () => EPOCH_START_NS + clock.peek() : () => this.realtimeNs() });
  }

  realtimeNs(): bigint {
    return this.clock !== null ? EPOCH_START_NS + this.clock.tick() : this.realtimeBase + hrtime();
  }
  monotonicNs(): bigint {
    return this.clock !== null ? this.clock.tick() : hrtime();
  }
  cpuTimeNs(): bigint {
    // Deterministic: the virtual clock stands in for CPU time (it only moves with the guest).
    return this.clock !== null ? this.clock.tick() : BigInt(Math.round(process.cpuUsage().user * 1000));
  }
  randomFill(buffer: Uint8Array): void {
    if (this.random !== null) {
      this.random.fill(buffer);
      return;
    }
    for (let at = 0; at < buffer.length; at += RANDOM_CHUNK) {
      crypto.getRandomValues(buffer.subarray(at, Math.min(at + RANDOM_CHUNK, buffer.length)));
    }
  }
  setTimer(ns: bigint, fn: () => void): TimerToken {
    return this.clock !== null ? this.clock.setTimer(ns, fn) : new RealTimer(hrtime, ns, fn);
  }
  clearTimer(token: TimerToken): void {
    if (this.clock !== null) this.clock.clearTimer(token as Parameters<VirtualClock['clearTimer']>[0]);
    else (token as RealTimer).cancel();
  }
  yieldNow(): Promise<void> {
    return this.clock !== null ? this.clock.yieldNow() : new Promise((resolve) => setImmediate(resolve));
  }
  inheritStdin(): StreamObject {
    return new NullStream('stdin:');
  }
  inheritOutput(fd: 1 | 2): StreamObject {
    return new NullStream(fd === 1 ? 'stdout:' : 'stderr:');
  }
}
