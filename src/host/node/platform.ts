// The Node.js platform of the kernel: real clocks, crypto randomness, libuv timers.

import { nodeCrypto } from './lazy-builtins.ts';
import type { Platform, TimerToken } from '../kernel/platform.ts';
import type { StreamObject } from '../kernel/kobject.ts';
import type { FileSystem } from '../kernel/files/files.ts';
import { NodeFileSystem } from './fs.ts';
import { InheritedStdin, InheritedOutput } from './stdio.ts';
import { RealTimer } from '../kernel/real-timer.ts';

const hrtime = process.hrtime.bigint;
/** Realtime = a wall-clock base plus the monotonic clock: nanosecond resolution, one call. */
const REALTIME_BASE = BigInt(Date.now()) * 1_000_000n - hrtime();
/** randomFillSync takes at most 2^31-1 bytes at once. */
const RANDOM_CHUNK = 1 << 30;

export class NodePlatform implements Platform {
  readonly name = 'node';
  readonly fs: FileSystem = new NodeFileSystem();
  private stdin: InheritedStdin | null = null;
  private readonly outputs: (InheritedOutput | null)[] = [null, null, null];

  realtimeNs(): bigint {
    return REALTIME_BASE + hrtime();
  }
  monotonicNs(): bigint {
    return hrtime();
  }
  cpuTimeNs(): bigint {
    const u = process.cpuUsage();
    return BigInt(u.user + u.system) * 1000n;
  }
  randomFill(buffer: Uint8Array): void {
    for (let at = 0; at < buffer.length; at += RANDOM_CHUNK) {
      nodeCrypto().randomFillSync(buffer, at, Math.min(RANDOM_CHUNK, buffer.length - at));
    }
  }
  setTimer(ns: bigint, fn: () => void): TimerToken {
    return new RealTimer(hrtime, ns, fn);
  }
  clearTimer(token: TimerToken): void {
    (token as RealTimer).cancel();
  }
  yieldNow(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }
  /** One reader of fd 0 for the whole host: every picoprocess that inherits stdin shares it. */
  inheritStdin(): StreamObject {
    return (this.stdin ??= new InheritedStdin());
  }
  inheritOutput(fd: 1 | 2): StreamObject {
    return (this.outputs[fd] ??= new InheritedOutput(fd));
  }
}
