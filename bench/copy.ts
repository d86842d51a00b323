// 3. A 256 MiB file copy through read/write with a 64 KiB buffer (fd_read/fd_write), from
// and to a temporary directory mounted into both runtimes as /data. The guest times open to
// close; throughput in MB/s (10^6 bytes). The output is checked equal to the input.
// 'db prepared' runs the module as `drawbridge run` does, prepared (the tick counter): no CPU
// watchdog thread starts beside it, where the unprepared module on the main thread gets one
// (src/runtime/cpu-watchdog.ts), whose start shares the guest's core under taskset.

import { createHash } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Benchmark, BenchContext } from './lib/context.ts';
import { reportValue } from './lib/guest-report.ts';
import { runGuest, type Runner } from './lib/spawn.ts';
import { fixed, median, ratio } from './lib/stats.ts';
import { printTable } from './lib/table.ts';
import { nativePath, wasmPath } from './lib/paths.ts';

const SIZE = 256 * 1024 * 1024;
const RUNNERS: Runner[] = ['native', 'node:wasi', 'drawbridge'];
type Column = Runner | 'db prepared';
const COLUMNS: Column[] = [...RUNNERS, 'db prepared'];

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function writeInput(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(1 << 20);
  let x = 2463534242;
  for (let done = 0; done < SIZE; done += chunk.length) {
    for (let i = 0; i < chunk.length; i += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      chunk.writeUInt32LE(x >>> 0, i);
    }
    writeSync(fd, chunk);
  }
  closeSync(fd);
}

export const copy: Benchmark = {
  name: 'copy',
  description: '256 MiB file copy through fd_read/fd_write, 64 KiB buffer',
  byDefault: true,
  async run(ctx: BenchContext) {
    const dir = mkdtempSync(join(tmpdir(), 'drawbridge-bench-'));
    try {
      writeInput(join(dir, 'in.bin'));
      const want = sha256File(join(dir, 'in.bin'));
      const mbps: Record<Column, number[]> = { native: [], 'node:wasi': [], drawbridge: [], 'db prepared': [] };
      for (let rep = 0; rep < ctx.reps; rep++) {
        for (const column of COLUMNS) {
          const runner: Runner = column === 'db prepared' ? 'drawbridge' : column;
          const args = runner === 'native' ? ['copy', join(dir, 'in.bin'), join(dir, 'out.bin')] : ['copy', '/data/in.bin', '/data/out.bin'];
          const spec = { module: wasmPath('copy'), args, dirs: [{ host: dir, guest: '/data' }], prepared: column === 'db prepared' };
          const o = await runGuest(runner, spec, nativePath('copy'));
          const bytes = reportValue(o.stdout, 'bytes');
          if (o.exitCode !== 0 || bytes !== SIZE) ctx.fail(`copy ${column}: exit ${o.exitCode}, ${bytes} bytes: ${o.stderr.trim()}`);
          else if (rep === 0 && sha256File(join(dir, 'out.bin')) !== want) ctx.fail(`copy ${column}: the copy differs from the input`);
          mbps[column].push(SIZE / 1e6 / (reportValue(o.stdout, 'elapsed_ns') / 1e9));
          rmSync(join(dir, 'out.bin'), { force: true });
        }
      }
      const [n, w, d, p] = COLUMNS.map((c) => median(mbps[c]));
      printTable(
        `256 MiB file copy (MB/s, median of ${ctx.reps}; timed by the guest, open to close)`,
        ['native', 'node:wasi', 'drawbridge', 'db prepared', 'db/node:wasi', 'prepared/node:wasi'],
        [[fixed(n!, 0), fixed(w!, 0), fixed(d!, 0), fixed(p!, 0), ratio(d! / w!), ratio(p! / w!)]],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
