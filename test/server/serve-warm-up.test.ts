// The daemon's warm-up (src/server/pool/warm-up.ts) and its workers' young-generation floor
// (v8-tuning.ts): its built-in guest runs like any program,
// the warm-up leaves nothing behind (no picoprocess listed, ids from 1), it is skipped where
// it would cost a worker thread per start, `serve --warm-up` checks its count, and the CLI's
// daemon says what its warm-up did.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon } from '../../src/server/daemon.ts';
import { call } from '../../src/server/client.ts';
import { main } from '../../src/cli/main.ts';
import { Supervisor } from '../../src/server/supervisor.ts';
import { Pool } from '../../src/server/pool/pool.ts';
import { POOL_MIN_SEMI_SPACE_MB } from '../../src/server/pool/v8-tuning.ts';
import { Worker } from 'node:worker_threads';
import { warmUpModuleBytes, warmUpPool, WARM_UP_STARTS } from '../../src/server/pool/warm-up.ts';
import { concat, MODULE_HEADER, nameBytes, section, sleb } from '../../src/wasm/binary.ts';
import type { ProcessInfo } from '../../src/server/supervisor.ts';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { collect } from '../support/child-output.ts';

const IDLE = join(import.meta.dirname, '..', '..', 'build', 'guests', 'density', 'idle.wasm');

test('the warm-up guest reads stdin once and exits 0, prepared like any module', async () => {
  const sv = new Supervisor({ keepEnded: 10 });
  const m = await sv.load(warmUpModuleBytes(), 'warm-up');
  assert.equal(m.prepared, true);
  assert.equal(m.preemptible, true);
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(warmUpModuleBytes() as Uint8Array<ArrayBuffer>));
  assert.deepEqual(
    imports.map((i) => `${i.module}.${i.name}`),
    ['wasi_snapshot_preview1.fd_read', 'wasi_snapshot_preview1.proc_exit'],
  );
  for (const stdin of [new Uint8Array(0), new TextEncoder().encode('more than sixteen bytes of input\n')]) {
    const e = await sv.spawn({ module: m, stdin });
    assert.deepEqual(await e.done, { exitCode: 0 });
    assert.equal(e.stdout.total + e.stderr.total, 0);
  }
  // Waiting for stdin, it is a picoprocess like the others: it can be checkpointed.
  const open = await sv.spawn({ module: m });
  assert.equal(open.state, 'running');
  assert.ok((await sv.checkpoint(open.id, true)).length > 0);
  sv.kill(open.id);
  assert.equal((await open.done).exitCode, 137);
});

test('a daemon warms up before it listens and then lists nothing; its first picoprocess is id 1', async () => {
  const d = await startDaemon({ workers: 2, connectionFile: null });
  try {
    assert.equal(d.warmUp.starts, WARM_UP_STARTS);
    assert.equal(d.warmUp.skipped, undefined);
    assert.ok(d.warmUp.ms > 0);
    assert.deepEqual(((await call(d.connection, 'GET', '/v1/processes')) as { processes: ProcessInfo[] }).processes, []);
    const health = (await call(d.connection, 'GET', '/v1/health')) as { processes: number; warmUp: { starts: number; ms: number } };
    assert.deepEqual([health.processes, health.warmUp], [0, d.warmUp]);
    assert.deepEqual(
      d.pool.workers().map((w) => w.processes),
      [0, 0],
    );
    const { process: p } = (await call(d.connection, 'POST', '/v1/processes', { body: { module: IDLE, stdin: 'x\n', closeStdin: true } })) as {
      process: ProcessInfo;
    };
    assert.equal(p.id, 1);
    assert.equal(((await call(d.connection, 'GET', `/v1/processes/${p.id}/wait`)) as { process: ProcessInfo }).process.exitCode, 0);
    // Warming again is refused once anything has started.
    await assert.rejects(d.pool.warmUp(await d.pool.load(warmUpModuleBytes(), 'warm-up'), 10), /started already/);
  } finally {
    await d.close();
  }
});

test('no warm-up when asked for none, or when modules are not prepared (each start would get a thread); a bad count is refused', async () => {
  for (const bad of [-1, 1.5, Number.NaN])
    await assert.rejects(startDaemon({ workers: 1, warmUp: bad, connectionFile: null }), /warm-up: .*expected a count of 0 or more/);
  const none = await startDaemon({ workers: 1, warmUp: 0, connectionFile: null });
  try {
    assert.deepEqual(none.warmUp, { starts: 0, ms: 0, skipped: 'asked for none' });
  } finally {
    await none.close();
  }
  const unprepared = await startDaemon({ workers: 1, prepare: false, connectionFile: null });
  try {
    assert.equal(unprepared.warmUp.starts, 0);
    assert.match(unprepared.warmUp.skipped!, /not prepared/);
    assert.deepEqual(
      unprepared.pool.workers().map((w) => w.dedicated),
      [false],
      'no worker thread was started for it',
    );
  } finally {
    await unprepared.close();
  }
});

test('with workers 0: no warm-up by default; asked for, it runs on the main thread', async () => {
  const d = await startDaemon({ workers: 0, connectionFile: null });
  try {
    assert.deepEqual(d.warmUp, { starts: 0, ms: 0, skipped: 'none by default with --workers 0' });
  } finally {
    await d.close();
  }
  const asked = await startDaemon({ workers: 0, warmUp: 30, connectionFile: null });
  try {
    assert.equal(asked.warmUp.starts, 30);
    assert.equal(asked.pool.size, 0);
  } finally {
    await asked.close();
  }
});

test('serve --warm-up: a count from 0 to 100000, and --help says what it does', async () => {
  for (const bad of ['-1', 'many', '100001', '']) {
    const err: string[] = [];
    const code = await main(['serve', '--warm-up', ...(bad ? [bad] : [])], { out: () => {}, err: (l) => void err.push(l) });
    assert.equal(code, 2, bad);
    assert.match(err.join('\n'), /--warm-up needs a count from 0 to 100000/);
  }
  const out: string[] = [];
  assert.equal(await main(['serve', '--help'], { out: (l) => void out.push(l), err: () => {} }), 0);
  assert.match(out.join('\n'), /--warm-up N .*built-in guest/s);
});

test('drawbridge serve says how it warmed up, lists nothing after it, and stops on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'serve-warm-'));
  const file = join(dir, 'serve.json');
  const serve = spawn(process.execPath, [
    'bin/drawbridge.js',
    'serve',
    '--socket',
    join(dir, 'api.sock'),
    '--connection-file',
    file,
    '--workers',
    '1',
    '--warm-up',
    '100',
  ]);
  try {
    const out = collect(serve, 'stdout');
    await out.waitFor(/listening on unix:.*\(pid \d+, 1 worker thread; warmed up by 100 starts in \d+ ms\)/);
    const ps = spawnSync(process.execPath, ['bin/drawbridge.js', 'ps', '--json'], { encoding: 'utf8', env: { ...process.env, DRAWBRIDGE_SERVE_FILE: file } });
    assert.equal(ps.status, 0, ps.stderr);
    assert.deepEqual(JSON.parse(ps.stdout), []);
  } finally {
    serve.kill('SIGTERM');
  }
  assert.equal(await new Promise((r) => serve.on('close', r)), 0);
});

test("a pool's worker threads start with a young generation of at least POOL_MIN_SEMI_SPACE_MB", async () => {
  const pool = new Pool({ workers: 1 });
  try {
    await pool.ready();
    // The flag is process-wide and reaches every isolate made after the pool: probe one.
    const newSpace = await new Promise<{ space_size: number }>((resolve, reject) => {
      const w = new Worker(
        "const v8 = require('node:v8'); require('node:worker_threads').parentPort.postMessage(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space'));",
        { eval: true },
      );
      w.once('message', (m) => void w.terminate().then(() => resolve(m)));
      w.once('error', reject);
    });
    assert.ok(newSpace.space_size >= POOL_MIN_SEMI_SPACE_MB * 2 ** 20, `new space ${newSpace.space_size} bytes`);
  } finally {
    await pool.shutdown();
  }
});

test('a warm-up whose starts fail leaves the pool empty and usable, and says why', async () => {
  // A valid command whose data segment lies past its one page of memory: every instantiation fails.
  const broken = concat([
    MODULE_HEADER,
    section(1, [1, 0x60, 0, 0]),
    section(3, [1, 0]),
    section(5, [1, 0, 1]),
    section(7, [2, ...nameBytes('memory'), 2, 0, ...nameBytes('_start'), 0, 0]),
    section(10, [1, 2, 0, 0x0b]),
    section(11, [1, 0, 0x41, ...sleb(4 * 65536), 0x0b, 1, 42]),
  ]);
  // workers 0: a module that cannot be prepared is started too (on this thread, not on a thread of its own).
  const pool = new Pool({ workers: 0 });
  try {
    await pool.ready();
    const r = await warmUpPool(pool, 20, broken);
    assert.equal(r.starts, 0);
    assert.match(r.skipped!, /^failed: .*(data segment|out of bounds)/i);
    assert.equal(pool.size, 0);
    const p = await pool.spawn({ module: await pool.load(warmUpModuleBytes(), 'warm-up'), closeStdin: true });
    assert.equal(p.id, 1);
    assert.equal((await pool.wait(p.id)).exitCode, 0);
  } finally {
    await pool.shutdown();
  }
});
