// The daemon's pool of worker threads: placement, moving a picoprocess between workers while
// it prints (no line lost or repeated), stdin across a move, batches, a worker of its own for
// a module that cannot be preempted (and a kill that stops its endless loop), checkpoint and
// restore of a daemon picoprocess from the CLI (--host), and refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type Daemon } from '../../src/server/daemon.ts';
import { ApiError, call } from '../../src/server/client.ts';
import { main } from '../../src/cli/main.ts';
import type { ProcessInfo } from '../../src/server/supervisor.ts';
import type { WorkerInfo } from '../../src/server/pool/pool.ts';

const GUESTS = join(import.meta.dirname, '..', '..', 'build', 'guests', 'density');
const IDLE = join(GUESTS, 'idle.wasm');
const COUNTER = join(GUESTS, 'counter.wasm');
const QUOTA = join(GUESTS, 'quota.wasm');

async function until(f: () => Promise<boolean> | boolean, what: string, ms = 10000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const text = async (d: Daemon, id: number): Promise<string> =>
  Buffer.from((await call(d.connection, 'GET', `/v1/processes/${id}/stdout`)) as Uint8Array).toString();
const info = async (d: Daemon, id: number): Promise<ProcessInfo> =>
  ((await call(d.connection, 'GET', `/v1/processes/${id}`)) as { process: ProcessInfo }).process;
const lines = (s: string): number[] => s.split('\n').filter(Boolean).map(Number);

/** Run the CLI against the daemon `d` (its connection file) and collect what it prints. */
async function cli(d: Daemon, file: string, argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const saved = process.env.DRAWBRIDGE_SERVE_FILE;
  process.env.DRAWBRIDGE_SERVE_FILE = file;
  const out: string[] = [];
  const err: string[] = [];
  try {
    const code = await main(argv, { out: (l) => void out.push(l), err: (l) => void err.push(l) });
    return { code, out, err };
  } finally {
    if (saved === undefined) delete process.env.DRAWBRIDGE_SERVE_FILE;
    else process.env.DRAWBRIDGE_SERVE_FILE = saved;
  }
}

test('a counting picoprocess moves between worker threads and its output goes on, nothing lost or repeated', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'serve-pool-'));
  const file = join(dir, 'serve.json');
  const d = await startDaemon({ workers: 2, socket: join(dir, 'api.sock'), connectionFile: file });
  try {
    const { process: p } = (await call(d.connection, 'POST', '/v1/processes', { body: { module: COUNTER, args: ['2'] } })) as { process: ProcessInfo };
    assert.equal(p.capturable, true);
    const first = p.worker!;
    await until(async () => lines(await text(d, p.id)).length >= 10, 'ten lines');

    // Through the API: to the other worker (the least loaded one but its own).
    const moved = ((await call(d.connection, 'POST', `/v1/processes/${p.id}/move`)) as { process: ProcessInfo }).process;
    assert.equal(moved.id, p.id);
    assert.equal(moved.state, 'running');
    assert.notEqual(moved.worker, first);
    const atMove = lines(await text(d, p.id)).length;
    await until(async () => lines(await text(d, p.id)).length >= atMove + 10, 'ten more lines after the move');

    // Through the CLI: back to where it started; ps says where it runs.
    const back = await cli(d, file, ['move', String(p.id), '--worker', String(first)]);
    assert.equal(back.code, 0, back.err.join('\n'));
    assert.deepEqual(back.out, [`moved ${p.id} to worker ${first}`]);
    const ps = await cli(d, file, ['ps']);
    assert.match(ps.out.join('\n'), new RegExp(`^${p.id}\\s+running\\s+-\\s+-\\s+${first}\\s`, 'm'));
    const atBack = lines(await text(d, p.id)).length;
    await until(async () => lines(await text(d, p.id)).length >= atBack + 10, 'ten more lines after moving back');

    const killed = ((await call(d.connection, 'POST', `/v1/processes/${p.id}/kill`)) as { process: ProcessInfo }).process;
    assert.equal(killed.exitCode, 137);
    const all = lines(await text(d, p.id));
    assert.deepEqual(
      all,
      Array.from({ length: all.length }, (_, i) => i + 1),
      'the lines count 1, 2, 3... without a gap or a repeat',
    );
    assert.ok(all.length >= atBack + 10);

    // Refusals: same worker, unknown worker, ended, unknown id, bad worker text.
    await assert.rejects(call(d.connection, 'POST', `/v1/processes/${p.id}/move`), (e: ApiError) => e.status === 409 && /has ended/.test(e.message));
    await assert.rejects(call(d.connection, 'POST', '/v1/processes/999/move'), (e: ApiError) => e.status === 404);
    const { process: q } = (await call(d.connection, 'POST', '/v1/processes', { body: { module: COUNTER, args: ['50'] } })) as { process: ProcessInfo };
    await assert.rejects(
      call(d.connection, 'POST', `/v1/processes/${q.id}/move?worker=${q.worker}`),
      (e: ApiError) => e.status === 409 && /already/.test(e.message),
    );
    await assert.rejects(
      call(d.connection, 'POST', `/v1/processes/${q.id}/move?worker=7`),
      (e: ApiError) => e.status === 400 && /no pool worker 7/.test(e.message),
    );
    await assert.rejects(call(d.connection, 'POST', `/v1/processes/${q.id}/move?worker=x`), (e: ApiError) => e.status === 400);
    assert.equal((await info(d, q.id)).state, 'running', 'a refused move leaves it running');
  } finally {
    await d.close();
  }
});

test('stdin across a move: what was fed before and after reaches the guest in order', async () => {
  const d = await startDaemon({ workers: 2, connectionFile: null });
  try {
    const { process: p } = (await call(d.connection, 'POST', '/v1/processes', { body: { module: IDLE, stdin: 'one\n' } })) as { process: ProcessInfo };
    await until(async () => (await text(d, p.id)) === 'echo: one\n', 'first echo');
    const moved = ((await call(d.connection, 'POST', `/v1/processes/${p.id}/move`)) as { process: ProcessInfo }).process;
    assert.notEqual(moved.worker, p.worker);
    await call(d.connection, 'POST', `/v1/processes/${p.id}/stdin?close=1`, { raw: new TextEncoder().encode('two\nthree\n') });
    const end = ((await call(d.connection, 'GET', `/v1/processes/${p.id}/wait`)) as { process: ProcessInfo }).process;
    assert.equal(end.exitCode, 0);
    assert.equal(await text(d, p.id), 'echo: one\necho: two\necho: three\n');
  } finally {
    await d.close();
  }
});

test('a batch of picoprocesses is spread over the workers', async () => {
  const d = await startDaemon({ workers: 2, connectionFile: null });
  try {
    const r = (await call(d.connection, 'POST', '/v1/processes', { body: { module: IDLE, count: 40 } })) as { processes: ProcessInfo[] };
    assert.equal(r.processes.length, 40);
    assert.equal(new Set(r.processes.map((p) => p.id)).size, 40);
    assert.ok(r.processes.every((p) => p.state === 'running'));
    const { workers } = (await call(d.connection, 'GET', '/v1/workers')) as { workers: WorkerInfo[] };
    assert.deepEqual(
      workers.map((w) => [w.index, w.dedicated, w.processes]),
      [
        [0, false, 20],
        [1, false, 20],
      ],
    );
    // Each one answers on its own stdin.
    const last = r.processes.at(-1)!;
    await call(d.connection, 'POST', `/v1/processes/${last.id}/stdin`, { raw: new TextEncoder().encode('hi\n') });
    await until(async () => (await text(d, last.id)) === 'echo: hi\n', 'echo of the last one');
    await assert.rejects(call(d.connection, 'POST', '/v1/processes', { body: { module: IDLE, count: 0 } }), (e: ApiError) => e.status === 400);
    await assert.rejects(call(d.connection, 'POST', '/v1/processes', { body: { module: IDLE, count: 1e9 } }), (e: ApiError) => e.status === 400);
  } finally {
    await d.close();
  }
});

test('an unprepared module runs on a worker of its own: a loop without system calls stalls nobody and a kill stops it', async () => {
  const d = await startDaemon({ workers: 1, prepare: false, connectionFile: null });
  try {
    const { process: spin } = (await call(d.connection, 'POST', '/v1/processes', { body: { module: QUOTA, args: ['spin'] } })) as { process: ProcessInfo };
    assert.equal(spin.capturable, false);
    assert.ok(spin.worker! >= 1, 'not on the pool worker 0');
    const { process: echo } = (await call(d.connection, 'POST', '/v1/processes', { body: { module: IDLE } })) as { process: ProcessInfo };
    assert.notEqual(echo.worker, spin.worker);
    // The spinner's thread never answers; the API, the list and the other picoprocess do.
    await call(d.connection, 'POST', `/v1/processes/${echo.id}/stdin`, { raw: new TextEncoder().encode('still here\n') });
    await until(async () => (await text(d, echo.id)) === 'echo: still here\n', 'an answer while the other one spins');
    const { processes } = (await call(d.connection, 'GET', '/v1/processes')) as { processes: ProcessInfo[] };
    assert.deepEqual(
      processes.map((p) => p.state),
      ['running', 'running'],
    );
    await assert.rejects(call(d.connection, 'POST', `/v1/processes/${spin.id}/move`), (e: ApiError) => e.status === 409 && /not prepared/.test(e.message));
    await assert.rejects(call(d.connection, 'POST', `/v1/processes/${spin.id}/checkpoint`), (e: ApiError) => e.status === 409);

    const t0 = Date.now();
    const killed = ((await call(d.connection, 'POST', `/v1/processes/${spin.id}/kill`)) as { process: ProcessInfo }).process;
    assert.equal(killed.exitCode, 137);
    assert.ok(Date.now() - t0 < 2000);
    const { workers } = (await call(d.connection, 'GET', '/v1/workers')) as { workers: WorkerInfo[] };
    assert.deepEqual(
      workers.filter((w) => w.dedicated).map((w) => w.index),
      [echo.worker],
      "the spinner's thread is gone",
    );
    // The other one ends by itself: its own thread goes with it.
    await call(d.connection, 'POST', `/v1/processes/${echo.id}/stdin?close=1`, { raw: new Uint8Array(0) });
    assert.equal(((await call(d.connection, 'GET', `/v1/processes/${echo.id}/wait`)) as { process: ProcessInfo }).process.exitCode, 0);
    await until(async () => ((await call(d.connection, 'GET', '/v1/workers')) as { workers: WorkerInfo[] }).workers.length === 1, 'only the pool worker left');
  } finally {
    await d.close();
  }
});

test('workers 0: everything on the main thread, and a move has nowhere to go', async () => {
  const d = await startDaemon({ workers: 0, connectionFile: null });
  try {
    const { process: p } = (await call(d.connection, 'POST', '/v1/processes', { body: { module: IDLE, stdin: 'x\n' } })) as { process: ProcessInfo };
    assert.equal(p.worker, 0);
    await until(async () => (await text(d, p.id)) === 'echo: x\n', 'echo');
    await assert.rejects(call(d.connection, 'POST', `/v1/processes/${p.id}/move`), (e: ApiError) => e.status === 409 && /no other worker/.test(e.message));
  } finally {
    await d.close();
  }
});

test('CLI: checkpoint --host and restore --host for a picoprocess of the daemon', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'serve-cp-'));
  const file = join(dir, 'serve.json');
  const sock = join(dir, 'api.sock');
  const snap = join(dir, 'echo.snap');
  const d = await startDaemon({ workers: 2, socket: sock, connectionFile: file });
  try {
    const { process: p } = (await call(d.connection, 'POST', '/v1/processes', { body: { module: IDLE, stdin: 'before\n' } })) as { process: ProcessInfo };
    await until(async () => (await text(d, p.id)) === 'echo: before\n', 'first echo');

    // --leave-running: a snapshot, and it goes on; --host without WHERE: the connection file's daemon.
    let r = await cli(d, file, ['checkpoint', '--host', String(p.id), '-o', snap, '--leave-running']);
    assert.equal(r.code, 0, r.err.join('\n'));
    assert.match(r.out[0]!, /^checkpointed \d+ to .*echo\.snap \(\d+ bytes\); it goes on running$/);
    assert.equal((await info(d, p.id)).state, 'running');
    // Without it, it stops; WHERE given as the socket.
    r = await cli(d, file, ['checkpoint', '--host', sock, String(p.id), '-o', snap]);
    assert.equal(r.code, 0, r.err.join('\n'));
    assert.equal((await info(d, p.id)).state, 'checkpointed');
    assert.ok(existsSync(snap));

    // Restore twice: two new ids, each going on from the snapshot (on the worker asked for).
    r = await cli(d, file, ['restore', '--host', `unix:${sock}`, snap, '--worker', '1']);
    assert.equal(r.code, 0, r.err.join('\n'));
    const a = Number(r.out[0]);
    r = await cli(d, file, ['restore', '--host', snap]);
    assert.equal(r.code, 0, r.err.join('\n'));
    const b = Number(r.out[0]);
    assert.ok(a > p.id && b > a);
    assert.equal((await info(d, a)).worker, 1);
    for (const id of [a, b]) {
      await call(d.connection, 'POST', `/v1/processes/${id}/stdin`, { raw: new TextEncoder().encode(`after ${id}\n`) });
      await until(async () => (await text(d, id)) === `echo: after ${id}\n`, `restored ${id} answering`);
    }

    // Refusals: an unknown id, a missing file, a file that is not a snapshot, no ID at all.
    r = await cli(d, file, ['checkpoint', '--host', '999', '-o', snap]);
    assert.equal(r.code, 1);
    assert.match(r.err.join('\n'), /no picoprocess 999/);
    r = await cli(d, file, ['restore', '--host', join(dir, 'missing.snap')]);
    assert.equal(r.code, 1);
    assert.match(r.err.join('\n'), /no such file/);
    r = await cli(d, file, ['restore', '--host', file]);
    assert.equal(r.code, 1, 'the connection file itself is no snapshot');
    r = await cli(d, file, ['checkpoint', '--host', '-o', snap]);
    assert.equal(r.code, 2);
    r = await cli(d, file, ['checkpoint', '--host', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.out.join('\n'), /checkpoint --host \[WHERE\] ID -o FILE/);
  } finally {
    await d.close();
  }
});
