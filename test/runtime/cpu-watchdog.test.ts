// The CPU watchdog of unticked modules on a main thread (src/runtime/cpu-watchdog.ts): one thread
// for the whole process, each program a slot of it; a slot is given back when its program ends
// and taken by the next, whose limit still holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spinModule } from './crafted-modules.ts';

test('programs run one after another in one process share one watchdog thread, and the last one is still stopped at its cpu_time', () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-watchdog-'));
  const spin = join(dir, 'spin.wasm');
  writeFileSync(spin, spinModule());
  const script = `
    import { isMainThread } from 'node:worker_threads';
    import { runCommand } from ${JSON.stringify(resolve('src/runtime/run.ts'))};
    import { startCpuWatchdog } from ${JSON.stringify(resolve('src/runtime/cpu-watchdog.ts'))};
    import { emptyManifest } from ${JSON.stringify(resolve('src/monitor/manifest/manifest.ts'))};
    const first = startCpuWatchdog();
    for (let i = 0; i < 5; i++) {
      const r = await runCommand({ module: ${JSON.stringify(resolve('build/guests/runtime/exit_code.wasm'))}, args: ['exit_code', '0'], capture: true, prepared: false });
      if (r.exitCode !== 0) throw new Error('exit ' + r.exitCode);
    }
    process.stderr.write('same thread: ' + (startCpuWatchdog() === first) + ', slots free: ' + first.free.length + '\\n');
    const manifest = emptyManifest();
    manifest.limits = { ...manifest.limits, cpuTimeMs: 300 };
    await runCommand({ module: ${JSON.stringify(spin)}, args: ['spin'], manifest, prepared: false });
    process.stderr.write('not stopped\\n');
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.signal, 'SIGXCPU', `status ${r.status}: ${r.stderr}`);
  assert.match(r.stderr, /^same thread: true, slots free: 1024\n.*CPU time limit exceeded \(300 ms of the manifest's limits\.cpu_time\)\n$/);
});
