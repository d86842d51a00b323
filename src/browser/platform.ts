// The browser host's platform (host/kernel/platform.ts): the memory host's in-memory file
// system, with the page's real clocks, WebCrypto's randomness and the page's timers. No I/O
// leaves the page: standard streams are the embedder's callbacks (stdio.ts), and there is no
// network but the loopback between this host's own picoprocesses.

import type { Platform, TimerToken } from '../host/kernel/platform.ts';
import type { StreamObject } from '../host/kernel/kobject.ts';
import { NullStream } from '../host/kernel/stdio.ts';
import { RealTimer } from '../host/kernel/real-timer.ts';
import { MemoryFileSystem } from '../host/memory/fs.ts';
import { afterOtherWork } from './event-loop.ts';

/** getRandomValues fills at most 65536 bytes per call. */
const RANDOM_CHUNK = 65536;

/** Monotonic nanoseconds: performance.now(), which the page may coarsen (to 100 us or so). */
const monotonic = (): bigint => BigInt(Math.round(performance.now() * 1e6));

export class BrowserPlatform implements Platform {
  readonly name = 'browser';
  readonly fs: MemoryFileSystem;
  private readonly realtimeBase = BigInt(Date.now()) * 1_000_000n - monotonic();

  constructor() {
    this.fs = new MemoryFileSystem({ now: () => this.realtimeNs() });
  }

  realtimeNs(): bigint {
    return this.realtimeBase + monotonic();
  }
  monotonicNs(): bigint {
    return monotonic();
  }
  /** A page cannot read its CPU time: the monotonic clock stands in (an upper bound of it). */
  cpuTimeNs(): bigint {
    return monotonic();
  }
  randomFill(buffer: Uint8Array): void {
    for (let at = 0; at < buffer.length; at += RANDOM_CHUNK) {
      crypto.getRandomValues(buffer.subarray(at, Math.min(at + RANDOM_CHUNK, buffer.length)));
    }
  }
  setTimer(ns: bigint, fn: () => void): TimerToken {
    return new RealTimer(monotonic, ns, fn);
  }
  clearTimer(token: TimerToken): void {
    (token as RealTimer).cancel();
  }
  yieldNow(): Promise<void> {
    return new Promise((resolve) => afterOtherWork(resolve));
  }
  inheritStdin(): StreamObject {
    return new NullStream('stdin:');
  }
  inheritOutput(fd: 1 | 2): StreamObject {
    return new NullStream(fd === 1 ? 'stdout:' : 'stderr:');
  }
}
