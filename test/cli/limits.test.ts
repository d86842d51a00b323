// The manifest's [limits] memory and cpu_time under `drawbridge run` (issue: a guest grew to
// 4 GiB under memory = "64MiB"; a spinner ran on under cpu_time = "3s"), and crafted modules
// that made preparation run without bound (2^32-1 locals, 1000 nested loops, 200 000 nested
// blocks): each is answered with one line, within the preparation caps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { growModule, loopingStartModule, manyLocalsModule, nestedBlocksModule, nestedLoopsModule, spinModule } from '../runtime/crafted-modules.ts';

const BIN = 'bin/drawbridge.js';
const dir = mkdtempSync(join(tmpdir(), 'drawbridge-limits-'));
/** A cache of its own: a preparation made here is never reused by another test. */
const cache = mkdtempSync(join(tmpdir(), 'drawbridge-limits-cache-'));

function file(name: string, bytes: Uint8Array | string): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** `drawbridge run`; the liveness bound only turns a hang into a failure that says so. */
function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, 'run', ...args], {
    encoding: 'utf8',
    timeout: 90_000,
    env: { ...process.env, DRAWBRIDGE_CACHE: cache, DRAWBRIDGE_PREPARE_TIMEOUT: '5s', ...env },
  });
  assert.notEqual(r.signal, 'SIGTERM', `drawbridge run ${args.join(' ')} did not end: ${r.stderr}`);
  // A watchdog ends a process whose guest holds its thread with SIGXCPU: a shell's status 152.
  return { status: r.signal === 'SIGXCPU' ? 152 : r.status, out: r.stdout, err: r.stderr };
}

const manifest = (limits: string) => file(`m-${limits.replace(/\W/g, '')}.toml`, `[limits]\n${limits}\n`);

test('run: limits.memory bounds the guest (memory.grow past it fails inside the guest)', () => {
  const grow = file('grow.wasm', growModule(2000)); // 125 MiB
  assert.equal(run([grow]).status, 0, 'the default limit (256 MiB) allows 125 MiB');
  const r = run(['--manifest', manifest('memory = "64MiB"'), grow]);
  assert.equal(r.status, 3, `memory.grow past 64 MiB must fail: ${r.err}`);
});

test('run: limits.cpu_time ends a spinning guest with status 152 and one line', () => {
  const r = run(['--manifest', manifest('cpu_time = "1s"'), file('spin.wasm', spinModule())]);
  assert.equal(r.status, 152, r.err);
  assert.match(r.err, /^drawbridge: .*spin\.wasm: CPU time limit exceeded \(1 s of the manifest's limits\.cpu_time\)\n$/);
});

test('run: an unprepared spinner (checkpoints off) is ended at its cpu_time too', () => {
  const r = run(['--manifest', manifest('cpu_time = "1s"'), file('spin.wasm', spinModule())], { DRAWBRIDGE_CHECKPOINT: '0' });
  assert.equal(r.status, 152, r.err);
  assert.match(r.err, /CPU time limit exceeded/);
  assert.equal(r.err.trim().split('\n').length, 1, r.err);
});

test('run: the CPU watchdog of an unprepared spinner works in a process started with --input-type=module (its worker inherits the flag)', () => {
  const cli = `const { main } = await import(${JSON.stringify(join(process.cwd(), 'src/cli/main.ts'))}); process.exit(await main(process.argv.slice(1)));`;
  const args = ['--input-type=module', '-e', cli, 'run', '--manifest', manifest('cpu_time = "1s"'), file('spin.wasm', spinModule())];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, DRAWBRIDGE_CHECKPOINT: '0' }, timeout: 60_000 });
  // Ended by SIGXCPU, which a shell reports as 152.
  assert.equal(r.signal, 'SIGXCPU', `status ${r.status}: ${r.stderr}`);
  assert.match(r.stderr, /^drawbridge: .*CPU time limit exceeded \(1 s of the manifest's limits\.cpu_time\)\n$/);
});

test('run: a module declaring 2^32-1 locals is refused in one line, before any rewrite', () => {
  const r = run([file('locals.wasm', manyLocalsModule())]);
  assert.equal(r.status, 2);
  assert.match(r.err, /^drawbridge run: .*locals\.wasm: invalid WebAssembly module: .*\n$/);
});

test('run: 1000 nested loops, which took wasm-opt past a 2 s cap, are prepared within it by drawbridge', () => {
  const r = run([file('loops.wasm', nestedLoopsModule(1000))], { DRAWBRIDGE_PREPARE_TIMEOUT: '2s' });
  assert.equal(r.status, 0, r.err);
  assert.equal(r.err, '');
});

test('run: 50 000 nested loops (slow to prepare) run unprepared past the time cap, with one line saying it cannot be checkpointed', () => {
  const r = run([file('loops50k.wasm', nestedLoopsModule(50_000))], { DRAWBRIDGE_PREPARE_TIMEOUT: '1s' });
  assert.equal(r.status, 0, r.err);
  assert.match(r.err, /^drawbridge: .*loops50k\.wasm cannot be checkpointed: preparing took longer than 1 s \(DRAWBRIDGE_PREPARE_TIMEOUT\)\n$/);
});

test('run: 200 000 nested blocks are answered, with one line at most', () => {
  const r = run([file('blocks.wasm', nestedBlocksModule(200_000))], { DRAWBRIDGE_PREPARE_TIMEOUT: '2s' });
  assert.equal(r.status, 0, r.err);
  assert.ok(r.err.split('\n').filter(Boolean).length <= 1, r.err);
});

test('run: a start function that loops is bounded by cpu_time', () => {
  const r = run(['--manifest', manifest('cpu_time = "1s"'), file('start.wasm', loopingStartModule())]);
  assert.equal(r.status, 152, r.err);
  assert.match(r.err, /CPU time limit exceeded/);
});
