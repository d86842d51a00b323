// checkpoint and restore from the command line, as a user would: a `drawbridge run` in the
// background, `drawbridge checkpoint PID -o FILE`, then `drawbridge restore FILE`.
import { test } from 'node:test';
import { testNeedingBinaryen } from '../support/toolchain.ts';
import { withPadding } from '../support/wasm-padding.ts';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRunOnly } from '../../src/runtime/prepare.ts';
import { decodeSnapshot } from '../../src/checkpoint/snapshot.ts';
import { readSealedSnapshot } from '../../src/checkpoint/snapshot-file.ts';
import { collect } from '../support/child-output.ts';

const BIN = 'bin/drawbridge.js';
// Snapshots are sealed with a host key (docs/snapshot.md): this file's own, not the user's.
process.env.DRAWBRIDGE_KEY = join(mkdtempSync(join(tmpdir(), 'db-cli-key-')), 'host.key');
const cli = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

testNeedingBinaryen('checkpoint a running program by its pid, restore it elsewhere: same output, files and status', async () => {
  const ref = mkdtempSync(join(tmpdir(), 'db-cli-ref-'));
  const whole = cli(['run', '--dir', `${ref}::/data`, 'build/guests/checkpoint/counter.wasm', '100', '20']);
  assert.equal(whole.status, 328350 % 7, whole.stderr); // the sum of the squares below 100, mod 7

  const dir = mkdtempSync(join(tmpdir(), 'db-cli-ckpt-'));
  const snap = join(dir, 'counter.snap');
  const child = spawn(process.execPath, [BIN, 'run', '--dir', `${dir}::/data`, 'build/guests/checkpoint/counter.wasm', '100', '20']);
  let out = '';
  child.stdout.setEncoding('utf8');
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d: string) => {
      out += d;
      if (out.split('\n').length > 5) resolve();
    });
  });
  const ck = cli(['checkpoint', String(child.pid), '-o', snap]);
  assert.equal(ck.status, 0, `status ${ck.status}: ${ck.stderr} ${ck.stdout} ${ck.error}`);
  assert.match(ck.stdout, /^checkpointed \d+ to .*counter\.snap \(\d+ bytes\); it stopped\n$/);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0);
  assert.ok(!out.includes('done'));

  // The restorer names the host folder again: a snapshot grants nothing.
  const refused = cli(['restore', snap]);
  assert.equal(refused.status, 1);
  assert.equal(refused.stderr, 'drawbridge restore: the snapshot asks for mount /data (rw), not granted: give --dir HOST::/data or a manifest\n');
  const restored = cli(['restore', '--dir', `${dir}::/data`, snap]);
  assert.equal(restored.status, whole.status, restored.stderr);
  assert.equal(out + restored.stdout, whole.stdout);
  assert.equal(readFileSync(join(dir, 'log.txt'), 'utf8'), readFileSync(join(ref, 'log.txt'), 'utf8'));
});

test('checkpoint and restore mistakes get one clear line', () => {
  const cases: [string[], number, RegExp][] = [
    [['checkpoint', '999999', '-o', '/tmp/x.snap'], 1, /no running drawbridge with pid 999999/],
    [['checkpoint', '123'], 2, /missing -o FILE/],
    [['restore', '/nonexistent.snap'], 1, /no such file/],
    [['restore', 'README.md'], 1, /not a drawbridge snapshot|too short/],
    [['prepare'], 2, /usage: drawbridge prepare/],
    [['prepare', 'README.md'], 2, /not a WebAssembly module/],
  ];
  for (const [args, status, re] of cases) {
    const r = cli(args);
    assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
});

testNeedingBinaryen('a module too big to prepare at first run: checkpoint says how; after drawbridge prepare it works', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-cli-big-'));
  // counter.wasm with a 1.2 MiB custom section: over the automatic preparation limit.
  const big = join(dir, 'big.wasm');
  writeFileSync(big, withPadding(readFileSync('build/guests/checkpoint/counter.wasm'), 1200 * 1024));
  const env = { ...process.env, DRAWBRIDGE_CACHE: join(dir, 'cache') };
  const start = () => {
    const child = spawn(process.execPath, [BIN, 'run', '--dir', `${dir}::/data`, big, '200', '20'], { env });
    const ready = new Promise<void>((resolve) => child.stdout.on('data', () => resolve()));
    return { child, ready };
  };
  const first = start();
  await first.ready;
  const refused = spawnSync(process.execPath, [BIN, 'checkpoint', String(first.child.pid), '-o', join(dir, 'a.snap')], { encoding: 'utf8', env });
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /big\.wasm is not prepared for checkpoints .*run `drawbridge prepare .*big\.wasm`, then start it again/);
  first.child.kill();
  // Past the automatic size, prepare picks waits-only and says so.
  const prep = spawnSync(process.execPath, [BIN, 'prepare', big], { encoding: 'utf8', env });
  assert.equal(prep.status, 0, prep.stderr);
  assert.match(prep.stdout, /^prepared .*big\.wasm \(waits only\): \d+ -> \d+ bytes/);
  assert.match(prep.stderr, /big\.wasm is over 256 KiB: preparing it waits-only/);
  // --full: the tick counter all the same. Progress by steps on stderr (a bar on a terminal, a line per step here).
  const full = spawnSync(process.execPath, [BIN, 'prepare', '--full', big], { encoding: 'utf8', env });
  assert.equal(full.status, 0, full.stderr);
  assert.match(full.stdout, /^prepared .*big\.wasm: \d+ -> \d+ bytes/);
  assert.match(full.stderr, /\[-{20}\] step 1\/4: marking loops[^]*step 2\/4: tick counter[^]*step 3\/4: indirect calls[^]*step 4\/4: asyncify/);
  const second = start();
  await second.ready;
  const ck = spawnSync(process.execPath, [BIN, 'checkpoint', String(second.child.pid), '-o', join(dir, 'b.snap')], { encoding: 'utf8', env });
  assert.equal(ck.status, 0, ck.stderr);
  assert.equal(await new Promise((r) => second.child.on('close', r)), 0);
});

testNeedingBinaryen("drawbridge prepare --wasm-opt: Binaryen's preparation replaces drawbridge's in the cache, and later runs use it", () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-cli-wasm-opt-'));
  const env = { ...process.env, DRAWBRIDGE_CACHE: join(dir, 'cache') };
  const counter = 'build/guests/checkpoint/counter.wasm';
  const prepare = (...flags: string[]) => {
    const r = spawnSync(process.execPath, [BIN, 'prepare', ...flags, counter], { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    const m = /^prepared .*counter\.wasm: (\d+) -> (\d+) bytes .* s: (.*\.v\d+\.wasm)\n$/.exec(r.stdout);
    assert.ok(m, r.stdout);
    return { size: Number(m[2]), entry: m[3]! };
  };
  const own = prepare();
  const binaryen = prepare('--wasm-opt');
  assert.equal(binaryen.entry, own.entry);
  // drawbridge's Asyncify keeps a rewind version of each function; Binaryen's module is smaller.
  assert.ok(binaryen.size < own.size, `${binaryen.size} against ${own.size}`);
  assert.equal(statSync(own.entry).size, binaryen.size);
  const run = spawnSync(process.execPath, [BIN, 'run', '--dir', `${dir}::/data`, counter, '3', '1'], { encoding: 'utf8', env });
  // The counter's exit status is its sum.
  assert.match(run.stdout, /done sum 5\n$/);
  assert.equal(run.status, 5, run.stderr);
  assert.equal(statSync(own.entry).size, binaryen.size, 'the run used the entry as it was');
});

testNeedingBinaryen('drawbridge prepare --waits-only: three steps, no tick counter; the program is then checkpointed while it waits', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-cli-waits-'));
  const big = join(dir, 'big.wasm');
  writeFileSync(big, withPadding(readFileSync('build/guests/checkpoint/counter.wasm'), 300 * 1024));
  const env = { ...process.env, DRAWBRIDGE_CACHE: join(dir, 'cache') };
  const bad = spawnSync(process.execPath, [BIN, 'prepare', '--wait-only', big], { encoding: 'utf8', env });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown option --wait-only\n.*usage: drawbridge prepare \[--waits-only \| --full\] \[--wasm-opt\] MODULE\.wasm/);
  const prep = spawnSync(process.execPath, [BIN, 'prepare', '--waits-only', big], { encoding: 'utf8', env });
  assert.equal(prep.status, 0, prep.stderr);
  assert.match(prep.stdout, /^prepared .*big\.wasm \(waits only\): \d+ -> \d+ bytes .*\.waits\.wasm\n$/);
  assert.match(prep.stderr, /step 1\/3: call graph[^]*step 2\/3: asyncify[^]*step 3\/3: merging/);
  assert.doesNotMatch(prep.stderr, /marking loops|tick counter/);
  const child = spawn(process.execPath, [BIN, 'run', '--dir', `${dir}::/data`, big, '200', '20'], { env });
  let out = '';
  child.stdout.setEncoding('utf8');
  await new Promise<void>((resolve) =>
    child.stdout.on('data', (d: string) => {
      out += d;
      if (out.includes('step 3 ')) resolve();
    }),
  );
  const snap = join(dir, 'c.snap');
  const ck = spawnSync(process.execPath, [BIN, 'checkpoint', String(child.pid), '-o', snap], { encoding: 'utf8', env });
  assert.equal(ck.status, 0, ck.stderr);
  assert.equal(await new Promise((r) => child.on('close', r)), 0);
  const restored = spawnSync(process.execPath, [BIN, 'restore', '--dir', `${dir}::/data`, snap], { encoding: 'utf8', env });
  assert.match(restored.stdout, /step 199 hash/);
});

testNeedingBinaryen(
  'a waits-only module runs without its rewind versions: checkpointed with --leave-running it goes on (on the whole module), its snapshot carries the whole one; with the whole one gone, a checkpoint is refused and it runs on',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'db-cli-runonly-'));
    const big = join(dir, 'big.wasm');
    writeFileSync(big, withPadding(readFileSync('build/guests/checkpoint/counter.wasm'), 300 * 1024));
    const cache = join(dir, 'cache');
    const env = { ...process.env, DRAWBRIDGE_CACHE: cache };
    const prep = spawnSync(process.execPath, [BIN, 'prepare', '--waits-only', big], { encoding: 'utf8', env });
    assert.equal(prep.status, 0, prep.stderr);
    const entries = readdirSync(join(cache, 'prepared'));
    const whole = entries.find((f) => f.endsWith('.waits.wasm'))!;
    const run = entries.find((f) => f.endsWith('.waits.run.wasm'))!;
    assert.ok(whole && run, `the cache holds both modules: ${entries.join(' ')}`);
    assert.ok(isRunOnly(readFileSync(join(cache, 'prepared', run))) && !isRunOnly(readFileSync(join(cache, 'prepared', whole))));
    const uninterrupted = spawnSync(process.execPath, [BIN, 'run', '--dir', `${dir}::/data`, big, '40', '10'], { encoding: 'utf8', env });
    assert.equal(uninterrupted.stderr, '');

    const started = (n: string) => {
      const child = spawn(process.execPath, [BIN, 'run', '--dir', `${dir}::/data`, big, n, '10'], { env });
      const out = collect(child, 'stdout');
      const err = collect(child, 'stderr');
      return { child, out, err, closed: new Promise<number | null>((r) => child.on('close', r)) };
    };
    const a = started('40');
    await a.out.waitFor(/step 3 /);
    const snap = join(dir, 'left.snap');
    const ck = spawnSync(process.execPath, [BIN, 'checkpoint', String(a.child.pid), '-o', snap, '--leave-running'], { encoding: 'utf8', env });
    assert.equal(ck.status, 0, ck.stderr);
    assert.equal(await a.closed, uninterrupted.status, a.err.text());
    assert.equal(a.out.text(), uninterrupted.stdout, 'it went on after the checkpoint as if none had been taken');
    const snapshot = decodeSnapshot(readSealedSnapshot(snap).bytes);
    assert.deepEqual(Buffer.from(snapshot.module!), readFileSync(join(cache, 'prepared', whole)));
    const restored = spawnSync(process.execPath, [BIN, 'restore', '--dir', `${dir}::/data`, snap], { encoding: 'utf8', env });
    assert.equal(restored.status, uninterrupted.status, restored.stderr);
    assert.match(restored.stdout, /step 39 hash/);

    const b = started('40');
    await b.out.waitFor(/step 3 /);
    rmSync(join(cache, 'prepared', whole));
    const refused = spawnSync(process.execPath, [BIN, 'checkpoint', String(b.child.pid), '-o', join(dir, 'no.snap')], { encoding: 'utf8', env });
    assert.equal(refused.status, 1);
    assert.match(
      refused.stderr,
      /^drawbridge checkpoint: cannot checkpoint: the prepared module .* is gone from the cache .*: run drawbridge prepare again\n$/,
    );
    assert.equal(await b.closed, uninterrupted.status, b.err.text());
    assert.equal(b.out.text(), uninterrupted.stdout);
  },
);

testNeedingBinaryen('a program waiting to read a pipe is checkpointed and continues reading from the restored stdin', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-cli-pipe-'));
  const snap = join(dir, 'echo.snap');
  const child = spawn(process.execPath, [BIN, 'run', 'build/guests/runtime/echo_upper.wasm']);
  let out = '';
  child.stdout.setEncoding('utf8');
  const first = new Promise<void>((resolve) => child.stdout.on('data', (d: string) => ((out += d), out.includes('\n') && resolve())));
  child.stdin.write('hello\n');
  await first;
  // It now waits in fd_read on a pipe that stays open.
  const ck = cli(['checkpoint', String(child.pid), '-o', snap]);
  assert.equal(ck.status, 0, ck.stderr);
  assert.equal(await new Promise((r) => child.on('close', r)), 0);
  assert.equal(out, 'HELLO\n');
  const restored = spawnSync(process.execPath, [BIN, 'restore', snap], { input: 'world\n', encoding: 'utf8' });
  assert.equal(restored.status, 0, restored.stderr);
  assert.equal(restored.stdout, 'WORLD\n');
  // The byte count lives in the guest's memory: it went on counting after the restore.
  assert.equal(restored.stderr, '12 bytes\n');
});

testNeedingBinaryen('extension state joins the snapshot: a restored trace goes on numbering where it stopped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-cli-ext-'));
  const trace = join(dir, 'trace.log');
  const snap = join(dir, 'c.snap');
  const child = spawn(process.execPath, [
    BIN,
    'run',
    '--ext',
    `trace:file=${trace}`,
    '--dir',
    `${dir}::/data`,
    'build/guests/checkpoint/counter.wasm',
    '100',
    '20',
  ]);
  await new Promise<void>((resolve) => child.stdout.on('data', () => resolve()));
  const ck = cli(['checkpoint', String(child.pid), '-o', snap]);
  assert.equal(ck.status, 0, ck.stderr);
  assert.equal(await new Promise((r) => child.on('close', r)), 0);
  const before = readFileSync(trace, 'utf8').trim().split('\n');
  const lastSeq = Number(before[before.length - 1]!.split(' ')[0]);
  assert.ok(lastSeq > 5, `traced ${lastSeq} calls before the checkpoint`);
  // The restorer stacks the trace again (a snapshot loads no extension); it gets the saved state.
  const restored = cli(['restore', '--ext', `trace:file=${trace}`, '--dir', `${dir}::/data`, snap]);
  assert.equal(restored.status, 328350 % 7, restored.stderr);
  const after = readFileSync(trace, 'utf8').trim().split('\n');
  // The numbering goes on from the capture (the stopped source traced its own teardown after it).
  const first = Number(after[0]!.split(' ')[0]);
  assert.ok(first > 5 && first <= lastSeq + 1, `restored trace starts at ${first}, the source's ended at ${lastSeq}`);
});

testNeedingBinaryen('a listening socket follows a checkpoint: the restored server listens again at its address', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-cli-listen-'));
  const snap = join(dir, 'server.snap');
  const server = spawn(process.execPath, [BIN, 'run', '--listen', '127.0.0.1:0', 'build/guests/net/http_server.wasm']);
  let out = '';
  server.stdout.setEncoding('utf8');
  const port = await new Promise<number>((resolve) =>
    server.stdout.on('data', (d: string) => {
      out += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    }),
  );
  const get = async (): Promise<string> => (await fetch(`http://127.0.0.1:${port}/`)).text();
  assert.equal(await get(), 'hello from drawbridge\n');
  const ck = cli(['checkpoint', String(server.pid), '-o', snap]);
  assert.equal(ck.status, 0, ck.stderr);
  assert.equal(await new Promise((r) => server.on('close', r)), 0);
  // Listening again needs a listen grant: port 0 grants the port the snapshot's socket has.
  const restored = spawn(process.execPath, [BIN, 'restore', '--listen', '127.0.0.1:0', snap]);
  try {
    let answer = '';
    for (let i = 0; i < 100 && answer === ''; i++) {
      answer = await get().catch(() => '');
      if (answer === '') await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(answer, 'hello from drawbridge\n');
  } finally {
    restored.kill();
  }
});
