// Preemption on one event loop: a guest that computes forever (no system call at all) next
// to an interactive one. The spinning guest's prepared module calls drawbridge.tick, which
// yields every 10 ms, so the interactive one keeps answering; the spinner is charged CPU time
// and can be stopped from outside.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Supervisor } from '../../src/server/supervisor.ts';
import { KILLED_EXIT_CODE } from '../../src/abi/exit-status.ts';

const GUESTS = join(import.meta.dirname, '..', '..', 'build', 'guests', 'density');

test('a spinning guest does not stall an interactive one', async () => {
  const sv = new Supervisor();
  const quota = await sv.load(readFileSync(join(GUESTS, 'quota.wasm')), 'quota');
  const idle = await sv.load(readFileSync(join(GUESTS, 'idle.wasm')), 'idle');
  const spinners = [await sv.spawn({ module: quota, args: ['spin'] }), await sv.spawn({ module: quota, args: ['spin'] })];
  const chat = await sv.spawn({ module: idle });
  const latencies: number[] = [];
  for (let i = 0; i < 20; i++) {
    const from = chat.stdout.total;
    const t = performance.now();
    chat.stdin.feed(new TextEncoder().encode(`question ${i}\n`));
    while (!new TextDecoder().decode(chat.stdout.read(from).bytes).endsWith('\n')) {
      // A liveness bound, generous for a loaded CI machine (speed is measured in bench/).
      assert.ok(performance.now() - t < 15000, `question ${i} unanswered after 15 s`);
      await new Promise((r) => setTimeout(r, 1));
    }
    latencies.push(performance.now() - t);
    assert.equal(new TextDecoder().decode(chat.stdout.read(from).bytes), `echo: question ${i}\n`);
  }
  latencies.sort((a, b) => a - b);
  // Every question was answered while both spinners kept running (checked below); how fast is
  // a benchmark's business, not a test's (the median here is usually a few ms).
  for (const s of spinners) {
    assert.equal(s.state, 'running');
    assert.ok(s.governor.cpuMs > 20, `spinner charged ${s.governor.cpuMs} ms; answers took ${latencies.map((x) => x.toFixed(1)).join(' ')} ms`);
    sv.kill(s.id);
    const status = await s.done;
    assert.equal(status.exitCode, KILLED_EXIT_CODE);
  }
  // The interactive one waited, so it was charged little.
  assert.ok(chat.governor.cpuMs < 200, `chat charged ${chat.governor.cpuMs} ms`);
  chat.stdin.close();
  assert.equal((await chat.done).exitCode, 0);
});
