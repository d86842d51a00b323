// `node bench/serve-durable.ts [ROUNDS] [REPS]`: what log mode costs a checkpoint and a move in
// `drawbridge serve` (docs/durable.md, "In drawbridge serve"), against a memory snapshot of the
// same program prepared. guests/durable/lines computes ROUNDS rounds for each line it reads;
// each picoprocess is fed two lines, checkpointed with --leave-running (the file's size and the
// time it takes) and moved to the other worker while it waits for its third line: by snapshot,
// the move restores its memory; by log, the new worker replays the two lines of computing.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon } from '../src/server/daemon.ts';
import { call } from '../src/server/client.ts';
import type { ProcessInfo } from '../src/server/supervisor.ts';

const LINES = join(import.meta.dirname, '..', 'build', 'guests', 'durable', 'lines.wasm');
const rounds = process.argv[2] ?? '40000000';
const reps = Number(process.argv[3] ?? 2);
const dir = mkdtempSync(join(tmpdir(), 'db-bench-serve-durable-'));
const d = await startDaemon({ workers: 2, warmUp: 0, connectionFile: null, logFolder: join(dir, 'logs') });
const now = () => performance.now();

const stdout = async (id: number) => Buffer.from((await call(d.connection, 'GET', `/v1/processes/${id}/stdout`)) as Uint8Array).toString();
async function printed(id: number, text: string): Promise<void> {
  while (!(await stdout(id)).includes(text)) await new Promise((r) => setTimeout(r, 2));
}
const feed = (id: number, text: string) => call(d.connection, 'POST', `/v1/processes/${id}/stdin`, { raw: Buffer.from(text) });

try {
  for (let rep = 0; rep < reps; rep++) {
    for (const durable of [false, true]) {
      const { process: p } = (await call(d.connection, 'POST', '/v1/processes', { body: { module: LINES, args: [rounds], durable } })) as {
        process: ProcessInfo;
      };
      await printed(p.id, 'ready');
      let t = now();
      await feed(p.id, 'alpha\n');
      await printed(p.id, 'line 1:');
      await feed(p.id, 'beta\n');
      await printed(p.id, 'line 2:');
      const compute = now() - t;
      t = now();
      const file = (await call(d.connection, 'POST', `/v1/processes/${p.id}/checkpoint?leave_running=1`)) as Uint8Array;
      const checkpointMs = now() - t;
      t = now();
      await call(d.connection, 'POST', `/v1/processes/${p.id}/move`);
      const moveMs = now() - t;
      console.log(
        `${p.capture === 'log' ? 'log     ' : 'snapshot'} (lines, ${rounds} rounds a line): two lines computed in ${compute.toFixed(0)} ms; checkpoint ${checkpointMs.toFixed(1)} ms, ${file.length} bytes; move ${moveMs.toFixed(1)} ms`,
      );
      await call(d.connection, 'POST', `/v1/processes/${p.id}/kill`);
    }
  }
} finally {
  await d.close();
  rmSync(dir, { recursive: true, force: true });
}
