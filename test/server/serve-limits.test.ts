// Limits and hostile modules under `drawbridge serve` (issue: a child grew to 1 GiB under a
// 64 MiB parent; a spinning child wedged its worker thread and its neighbour stopped
// answering; crafted modules made preparation run without bound; a start function that loops
// left the spawn unanswered or answered 500; a 2 MiB body reset the connection).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startDaemon, type Daemon } from '../../src/server/daemon.ts';
import { ApiError, call } from '../../src/server/client.ts';
import type { ProcessInfo } from '../../src/server/supervisor.ts';
import { loopingStartModule, manyLocalsModule, nestedBlocksModule, nestedLoopsModule } from '../runtime/crafted-modules.ts';

const IDLE = join(import.meta.dirname, '..', '..', 'build', 'guests', 'density', 'idle.wasm');
/** guests/runtime/limits.c, built by `npm run guests` (DRAWBRIDGE_LIMITS_GUEST: a build of it elsewhere). */
const LIMITS = process.env.DRAWBRIDGE_LIMITS_GUEST ?? join(import.meta.dirname, '..', '..', 'build', 'guests', 'runtime', 'limits.wasm');
const noGuest = existsSync(LIMITS) ? false : `${LIMITS} is missing: run npm run guests (needs clang, lld and wasi-libc: apt-get install clang lld wasi-libc)`;

const dir = mkdtempSync(join(tmpdir(), 'drawbridge-serve-limits-'));
process.env.DRAWBRIDGE_CACHE = mkdtempSync(join(tmpdir(), 'drawbridge-serve-limits-cache-'));

function file(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** A liveness bound: a hang becomes a failure that names what was awaited. */
function bounded<T>(p: Promise<T>, what: string, ms = 30_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer: ${what}`)), ms))),
  ]);
}

async function withDaemon(f: (d: Daemon) => Promise<void>): Promise<void> {
  const d = await startDaemon({ workers: 1, warmUp: 0, connectionFile: null });
  try {
    await f(d);
  } finally {
    await d.close();
  }
}

const spawn = (d: Daemon, body: Record<string, unknown>) =>
  call(d.connection, 'POST', '/v1/processes', { body }) as Promise<{ process: ProcessInfo; warning?: string }>;
const wait = async (d: Daemon, id: number) => ((await call(d.connection, 'GET', `/v1/processes/${id}/wait`)) as { process: ProcessInfo }).process;
const stdout = async (d: Daemon, id: number) => new TextDecoder().decode((await call(d.connection, 'GET', `/v1/processes/${id}/stdout`)) as Uint8Array);

test('serve: a body over the limit is answered 413, not reset', async () => {
  await withDaemon(async (d) => {
    const err = await call(d.connection, 'POST', '/v1/processes', { raw: new Uint8Array(2 * 1024 * 1024) }).catch((e: unknown) => e);
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 413, err.message);
    assert.match(err.message, /request body over 1048576 bytes/);
  });
});

test('serve: crafted modules are each answered, in one line (2^32-1 locals, 50 000 nested loops, 200 000 nested blocks)', async (t) => {
  // A tight preparation cap for this daemon only (its worker threads copy the environment when
  // they start): the other tests prepare real guests, which a loaded machine may take longer on.
  process.env.DRAWBRIDGE_PREPARE_TIMEOUT = '2s';
  t.after(() => delete process.env.DRAWBRIDGE_PREPARE_TIMEOUT);
  await withDaemon(async (d) => {
    const locals = await bounded(
      spawn(d, { module: file('locals.wasm', manyLocalsModule()) }).catch((e: unknown) => e),
      'locals',
    );
    assert.ok(locals instanceof ApiError);
    assert.equal(locals.status, 400);
    assert.match(locals.message, /^\S*locals\.wasm: invalid WebAssembly module: [^\n]*$/);
    const loops = await bounded(spawn(d, { module: file('loops.wasm', nestedLoopsModule(50_000)) }), 'loops');
    assert.match(loops.warning ?? '', /loops\.wasm cannot be checkpointed: preparing took longer than 2 s/);
    assert.equal(loops.process.capturable, false);
    assert.equal((await bounded(wait(d, loops.process.id), 'loops wait')).exitCode, 0);
    const blocks = await bounded(spawn(d, { module: file('blocks.wasm', nestedBlocksModule(200_000)) }), 'blocks');
    assert.equal((await bounded(wait(d, blocks.process.id), 'blocks wait')).exitCode, 0);
  });
});

test('serve: a start function that loops is answered by spawn and ended at cpu_time (152)', async () => {
  await withDaemon(async (d) => {
    const r = await bounded(spawn(d, { module: file('start.wasm', loopingStartModule()), manifest: { limits: { cpu_time: '1s' } } }), 'spawn');
    assert.equal(r.process.state, 'running');
    const p = await bounded(wait(d, r.process.id), 'wait');
    assert.equal(p.exitCode, 152);
    assert.equal(p.error, "CPU time limit exceeded (1 s of the manifest's limits.cpu_time)");
  });
});

const parentManifest = (limits: Record<string, unknown>) => ({
  mounts: [{ host: dirname(LIMITS), guest: '/g', mode: 'ro' }],
  limits: { children: 4, ...limits },
});

test("serve: a child gets its parent's limits.memory", { skip: noGuest }, async () => {
  await withDaemon(async (d) => {
    const r = await spawn(d, { module: LIMITS, args: ['parent', '/g/limits.wasm', 'grow', '200'], manifest: parentManifest({ memory: '64MiB' }) });
    assert.equal((await bounded(wait(d, r.process.id), 'parent')).exitCode, 0);
    assert.match(await stdout(d, r.process.id), /out of memory after \d+ MiB\nchild status 3\n/);
  });
});

test('serve: a spinning child is ended at cpu_time (152) and never wedges its neighbour; kill answers', { skip: noGuest }, async () => {
  await withDaemon(async (d) => {
    const short = await spawn(d, { module: LIMITS, args: ['parent', '/g/limits.wasm', 'spin'], manifest: parentManifest({ cpu_time: '1s' }) });
    assert.equal((await bounded(wait(d, short.process.id), 'parent of a child at its cpu_time')).exitCode, 0);
    assert.match(await stdout(d, short.process.id), /child status 152\n/);
    // A child spinning for long, and a neighbour on the same (only) worker that must still answer.
    const long = await spawn(d, { module: LIMITS, args: ['parent', '/g/limits.wasm', 'spin'], manifest: parentManifest({ cpu_time: '60s' }) });
    const neighbour = await bounded(spawn(d, { module: IDLE, stdin: 'x\n', closeStdin: true }), 'neighbour spawn');
    assert.equal(neighbour.process.worker, long.process.worker);
    assert.equal((await bounded(wait(d, neighbour.process.id), 'neighbour wait')).exitCode, 0);
    const killed = ((await bounded(call(d.connection, 'POST', `/v1/processes/${long.process.id}/kill`), 'kill')) as { process: ProcessInfo }).process;
    assert.equal(killed.exitCode, 137);
  });
});
