// What the console's event stream says of the host: the daemon's CPU use since the last sample
// (as a fraction of all the machine's cores: worker threads included, process.cpuUsage counts
// the whole process), its resident memory and V8 heap, the machine's free memory and load. The
// picoprocesses' own figures (CPU time from their Governor, linear memory) come from the pool.

import { availableParallelism, freemem, loadavg, totalmem } from 'node:os';

export interface HostStats {
  /** The daemon's CPU use since the last sample, 0 to 1 of all cores. */
  cpu: number;
  cores: number;
  rssBytes: number;
  heapBytes: number;
  freeMemoryBytes: number;
  totalMemoryBytes: number;
  /** The machine's 1-minute load average. */
  load: number;
}

export class HostSampler {
  private lastCpu = process.cpuUsage();
  private lastAt = performance.now();
  private readonly cores = availableParallelism();

  sample(): HostStats {
    const cpu = process.cpuUsage();
    const at = performance.now();
    const usedMs = (cpu.user - this.lastCpu.user + cpu.system - this.lastCpu.system) / 1000;
    const wallMs = at - this.lastAt;
    this.lastCpu = cpu;
    this.lastAt = at;
    const memory = process.memoryUsage();
    return {
      cpu: wallMs > 0 ? Math.min(1, Math.max(0, usedMs / (wallMs * this.cores))) : 0,
      cores: this.cores,
      rssBytes: memory.rss,
      heapBytes: memory.heapUsed,
      freeMemoryBytes: freemem(),
      totalMemoryBytes: totalmem(),
      load: loadavg()[0] ?? 0,
    };
  }
}
