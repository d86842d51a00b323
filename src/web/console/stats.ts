// The figures the sparklines draw, from the stats events: per picoprocess its CPU use (the
// share of one core since the last event, from its CPU time) and its linear memory; for the
// host the daemon's CPU use (a share of all cores) and its resident memory.
import { Series } from './sparkline.ts';
import type { HostStats, StatsEvent } from './types.ts';

export interface Figures {
  cpu: Series;
  memory: Series;
  cpuMs: number;
  at: number;
}

export class Stats {
  readonly hostCpu = new Series();
  readonly hostMemory = new Series();
  host: HostStats | null = null;
  readonly processes = new Map<number, Figures>();

  apply(e: StatsEvent): void {
    this.host = e.host;
    this.hostCpu.push(e.host.cpu);
    this.hostMemory.push(e.host.rssBytes);
    for (const p of e.processes) {
      let f = this.processes.get(p.id);
      if (!f) {
        f = { cpu: new Series(), memory: new Series(), cpuMs: p.cpuMs, at: e.at };
        this.processes.set(p.id, f);
      } else {
        const wall = e.at - f.at;
        f.cpu.push(wall > 0 ? Math.max(0, (p.cpuMs - f.cpuMs) / wall) : 0);
        f.cpuMs = p.cpuMs;
        f.at = e.at;
      }
      f.memory.push(p.memoryBytes);
    }
  }

  /** Forget the figures of picoprocesses that are no longer listed. */
  forget(listed: Set<number>): void {
    for (const id of this.processes.keys()) if (!listed.has(id)) this.processes.delete(id);
  }
}
