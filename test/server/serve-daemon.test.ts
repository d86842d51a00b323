// Living with the daemon (issue 19): one connection file per daemon (a second daemon refuses a
// live one's file and replaces a dead one's), a request log that never shows the token, why a
// picoprocess ended (GET /v1/processes/ID and ps), and what the warm-up shows while it runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type Daemon } from '../../src/server/daemon.ts';
import { call } from '../../src/server/client.ts';
import { endReason, noteMemoryFull } from '../../src/server/end-reason.ts';
import { warmUpDisplay } from '../../src/cli/warm-up-progress.ts';
import { main } from '../../src/cli/main.ts';
import type { ProcessInfo } from '../../src/server/supervisor.ts';

const GUESTS = join(import.meta.dirname, '..', '..', 'build', 'guests');
const IDLE = join(GUESTS, 'density', 'idle.wasm');
const EXIT_CODE = join(GUESTS, 'runtime', 'exit_code.wasm');
const TRAP = join(GUESTS, 'wasi', 'trap.wasm');
const SPIN = join(GUESTS, 'checkpoint', 'spin.wasm');
/** guests/runtime/limits.c: `grow MIB` exits 3 when malloc fails. */
const LIMITS = join(GUESTS, 'runtime', 'limits.wasm');

const info = async (d: Daemon, id: number) => ((await call(d.connection, 'GET', `/v1/processes/${id}`)) as { process: ProcessInfo }).process;
const spawn = async (d: Daemon, body: Record<string, unknown>) =>
  ((await call(d.connection, 'POST', '/v1/processes', { body })) as { process: ProcessInfo }).process;
const wait = async (d: Daemon, id: number) => ((await call(d.connection, 'GET', `/v1/processes/${id}/wait`)) as { process: ProcessInfo }).process;

test("a second daemon refuses a live daemon's connection file, in one line that says what to do; the first stays reachable", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'serve-one-file-'));
  const file = join(dir, 'serve.json');
  const a = await startDaemon({ workers: 0, warmUp: 0, connectionFile: file, token: 'token-a' });
  try {
    const before = readFileSync(file, 'utf8');
    await assert.rejects(startDaemon({ workers: 0, warmUp: 0, connectionFile: file, token: 'token-b' }), (e: Error) => {
      assert.match(e.message, /already running with .*serve\.json \(pid \d+, http:\/\/127\.0\.0\.1:\d+\): stop it, or start this one with --name NAME/);
      assert.doesNotMatch(e.message, /token-a/);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
    assert.equal(readFileSync(file, 'utf8'), before);
    assert.equal((await call(a.connection, 'GET', '/v1/health')).ok, true);
    // A socket a live daemon listens on is not taken over either.
    const sock = join(dir, 'a.sock');
    const s = await startDaemon({ workers: 0, warmUp: 0, connectionFile: null, socket: sock });
    try {
      await assert.rejects(startDaemon({ workers: 0, warmUp: 0, connectionFile: null, socket: sock }), /already listens on unix:/);
      assert.equal((await call(s.connection, 'GET', '/v1/health')).ok, true);
    } finally {
      await s.close();
    }
  } finally {
    await a.close();
  }
  assert.equal(existsSync(file), false, 'removed at close');
});

test("a dead daemon's connection file is replaced; a daemon that lost its file does not remove the new one's", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'serve-stale-'));
  const file = join(dir, 'serve.json');
  // The pid of a process that has ended.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  writeFileSync(file, JSON.stringify({ url: 'http://127.0.0.1:1', token: 'old', pid: Number(dead.stdout) }));
  // The client commands say why they cannot reach it.
  const saved = process.env.DRAWBRIDGE_SERVE_FILE;
  process.env.DRAWBRIDGE_SERVE_FILE = file;
  const errs: string[] = [];
  try {
    assert.equal(await main(['ps'], { out: () => {}, err: (l) => void errs.push(l) }), 1);
  } finally {
    if (saved === undefined) delete process.env.DRAWBRIDGE_SERVE_FILE;
    else process.env.DRAWBRIDGE_SERVE_FILE = saved;
  }
  assert.match(
    errs.join('\n'),
    new RegExp(`^drawbridge ps: cannot reach the drawbridge daemon: .*\\(its pid ${dead.stdout} is not running: start one with drawbridge serve\\)$`),
  );
  const a = await startDaemon({ workers: 0, warmUp: 0, connectionFile: file });
  try {
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).url, a.connection.url);
    // A file naming a live pid whose address answers nothing (a reused pid) is stale too.
    writeFileSync(file, JSON.stringify({ socket: join(dir, 'none.sock'), token: 'x', pid: process.pid }));
    const b = await startDaemon({ workers: 0, warmUp: 0, connectionFile: file });
    await a.close();
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).url, b.connection.url, "a's close left b's file");
    await b.close();
  } finally {
    await a.close().catch(() => {});
  }
});

test('serve --name: daemons side by side, each reached by name (DRAWBRIDGE_DAEMON, --host NAME)', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'serve-names-'));
  const saved = { xdg: process.env.XDG_CACHE_HOME, daemon: process.env.DRAWBRIDGE_DAEMON };
  process.env.XDG_CACHE_HOME = cache;
  const { defaultConnectionFile } = await import('../../src/server/connection-file.ts');
  const a = await startDaemon({ workers: 0, warmUp: 0, connectionFile: defaultConnectionFile('a') });
  const b = await startDaemon({ workers: 0, warmUp: 0, connectionFile: defaultConnectionFile('b') });
  const out: string[] = [];
  const errs: string[] = [];
  const io = { out: (l: string) => void out.push(l), err: (l: string) => void errs.push(l) };
  try {
    assert.ok(existsSync(join(cache, 'drawbridge', 'serve-a.json')) && existsSync(join(cache, 'drawbridge', 'serve-b.json')));
    process.env.DRAWBRIDGE_DAEMON = 'b';
    assert.equal(await main(['spawn', '--stdin', 'x\n', IDLE], io), 0, errs.join('\n'));
    const id = Number(out.pop());
    assert.equal(b.pool.get(id).state, 'running');
    assert.equal(a.pool.size, 0);
    process.env.DRAWBRIDGE_DAEMON = 'a';
    assert.equal(await main(['ps', '--json'], io), 0, errs.join('\n'));
    assert.deepEqual(JSON.parse(out.pop()!), []);
    // checkpoint --host NAME reaches the named one.
    const snap = join(cache, 'one.snap');
    assert.equal(await main(['checkpoint', '--host', 'b', String(id), '-o', snap, '--leave-running'], io), 0, errs.join('\n'));
    process.env.DRAWBRIDGE_DAEMON = '../x';
    assert.equal(await main(['ps'], io), 1);
    assert.match(errs.pop()!, /DRAWBRIDGE_DAEMON=\.\.\/x: a daemon name is letters/);
  } finally {
    for (const [k, v] of [
      ['XDG_CACHE_HOME', saved.xdg],
      ['DRAWBRIDGE_DAEMON', saved.daemon],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await a.close();
    await b.close();
  }
});

test('the request log: one line per request with method, path, status and time; never the token', async () => {
  const lines: string[] = [];
  const token = 'very-secret-token-123';
  const d = await startDaemon({ workers: 0, warmUp: 0, connectionFile: null, token, log: (l) => void lines.push(l) });
  try {
    await call(d.connection, 'GET', '/v1/health');
    await call({ ...d.connection, token: 'wrong' }, 'GET', '/v1/processes').catch(() => {});
    await call(d.connection, 'GET', '/v1/processes/99').catch(() => {});
    const p = await spawn(d, { module: IDLE, stdin: 'hi\n', closeStdin: true });
    await wait(d, p.id);
    await call(d.connection, 'GET', `/v1/processes/${p.id}/stdout?follow=1`, { onData: () => {} });
    await new Promise((r) => setTimeout(r, 20)); // the last 'close' event
    const stamp = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`;
    const ms = String.raw`\d+(\.\d)? ms`;
    assert.equal(lines.length, 6, lines.join('\n'));
    assert.match(lines[0]!, new RegExp(`^${stamp} GET /v1/health 200 ${ms}$`));
    assert.match(lines[1]!, new RegExp(`^${stamp} GET /v1/processes 401 ${ms}$`));
    assert.match(lines[2]!, new RegExp(`^${stamp} GET /v1/processes/99 404 ${ms}$`));
    assert.match(lines[3]!, new RegExp(`^${stamp} POST /v1/processes 201 ${ms}$`));
    assert.match(lines[5]!, new RegExp(`^${stamp} GET /v1/processes/${p.id}/stdout\\?follow=1 200 ${ms}$`));
    assert.ok(lines.every((l) => !l.includes(token) && !l.includes('wrong')));
  } finally {
    await d.close();
  }
});

test('GET /v1/processes/ID and ps say why a picoprocess ended: its status, killed, a trap with its message, the CPU limit', async () => {
  const d = await startDaemon({ workers: 1, warmUp: 0, connectionFile: null });
  try {
    const running = await spawn(d, { module: IDLE });
    assert.equal((await info(d, running.id)).reason, null);
    const three = await spawn(d, { module: EXIT_CODE, args: ['3'] });
    const zero = await spawn(d, { module: EXIT_CODE, args: [] });
    const trap = await spawn(d, { module: TRAP });
    const spin = await spawn(d, { module: SPIN, args: ['1000', '100000000'], manifest: '[limits]\ncpu_time = "200ms"\n' });
    const full = await spawn(d, { module: LIMITS, args: ['grow', '200'], manifest: '[limits]\nmemory = "64MiB"\n' });
    const fits = await spawn(d, { module: LIMITS, args: ['grow', '8'], manifest: '[limits]\nmemory = "64MiB"\n' });
    for (const p of [three, zero, trap, spin, full, fits]) await wait(d, p.id);
    await call(d.connection, 'POST', `/v1/processes/${running.id}/kill`);
    assert.equal((await info(d, three.id)).reason, 'exited 3');
    assert.equal((await info(d, zero.id)).reason, 'exited 0');
    assert.equal((await info(d, trap.id)).reason, 'trap: wasm `unreachable` instruction executed');
    assert.match((await info(d, spin.id)).reason!, /^cpu time limit exceeded \(200 ms of the manifest's limits\.cpu_time\)$/);
    assert.equal((await info(d, running.id)).reason, 'killed');
    // The memory limit ends nothing itself: the program's own failure is said with it.
    assert.equal((await info(d, full.id)).reason, 'exited 3 (memory full: limits.memory 64MiB)');
    assert.equal((await info(d, fits.id)).reason, 'exited 0');

    const file = join(mkdtempSync(join(tmpdir(), 'serve-reason-')), 'serve.json');
    writeFileSync(file, JSON.stringify(d.connection), { mode: 0o600 });
    const saved = process.env.DRAWBRIDGE_SERVE_FILE;
    process.env.DRAWBRIDGE_SERVE_FILE = file;
    const out: string[] = [];
    try {
      assert.equal(await main(['ps'], { out: (l) => void out.push(l), err: () => {} }), 0);
    } finally {
      if (saved === undefined) delete process.env.DRAWBRIDGE_SERVE_FILE;
      else process.env.DRAWBRIDGE_SERVE_FILE = saved;
    }
    assert.match(out[0]!, /^ID\s+STATE\s+EXIT\s+REASON\s+WORKER/);
    assert.match(out.join('\n'), new RegExp(`^${trap.id}\\s+exited\\s+134\\s+trap: wasm \`unreachable\` instruction executed\\s+0\\s`, 'm'));
    assert.match(out.join('\n'), new RegExp(`^${running.id}\\s+exited\\s+137\\s+killed\\s`, 'm'));
  } finally {
    await d.close();
  }
});

test('endReason follows the exit statuses of abi/exit-status.ts', () => {
  assert.equal(endReason(null), null);
  assert.equal(endReason({ exitCode: 0 }), 'exited 0');
  assert.equal(endReason({ exitCode: 1 }), 'exited 1');
  assert.equal(endReason({ exitCode: 1, error: 'bad pointer' }), 'error: bad pointer');
  assert.equal(endReason({ exitCode: 126, error: 'no _start' }), 'cannot execute: no _start');
  assert.equal(endReason({ exitCode: 137, error: 'killed' }), 'killed');
  assert.equal(endReason({ exitCode: 137, error: 'the daemon is shutting down' }), 'killed: the daemon is shutting down');
  assert.equal(endReason({ exitCode: 134, error: 'host error: worker 0: gone' }), 'trap: host error: worker 0: gone');
  assert.equal(
    endReason({ exitCode: 152, error: "CPU time limit exceeded (1 s of the manifest's limits.cpu_time)" }),
    "cpu time limit exceeded (1 s of the manifest's limits.cpu_time)",
  );
  assert.equal(endReason({ exitCode: 0, checkpointed: true }), 'checkpointed');
  assert.equal(
    endReason(noteMemoryFull({ exitCode: 134, error: 'wasm trap: wasm `unreachable` instruction executed' }, 2 ** 20, 2 ** 20)),
    'trap: wasm `unreachable` instruction executed (memory full: limits.memory 1MiB)',
  );
  assert.equal(endReason(noteMemoryFull({ exitCode: 137, error: 'killed' }, 2 ** 20, 2 ** 20)), 'killed');
  assert.equal(endReason(noteMemoryFull({ exitCode: 3 }, 2 ** 20 - 65536, 2 ** 20)), 'exited 3');
});

test('warm-up progress: rewritten in place on a terminal at most every 100 ms and wiped; a start and an end line elsewhere', () => {
  let t = 0;
  let tty = '';
  const d = warmUpDisplay({ isTTY: true, write: (s: string) => (tty += s) }, () => t);
  d.start(2000);
  for (let i = 1; i <= 2000; i++) {
    t += 0.2; // 400 ms in all
    d.ended(i);
  }
  d.finish({ starts: 2000, ms: 400 });
  const frames = tty.split('\r').filter(Boolean);
  assert.equal(frames[0], 'drawbridge serve: warming up: 0/2000 starts');
  assert.equal(frames.at(-2), 'drawbridge serve: warming up: 2000/2000 starts');
  assert.equal(frames.at(-1), '\x1b[2K');
  assert.ok(frames.length >= 4 && frames.length <= 7, `${frames.length} frames`);
  assert.ok(!tty.includes('\n'));

  let log = '';
  const p = warmUpDisplay({ isTTY: false, write: (s: string) => (log += s) });
  p.start(100);
  for (let i = 1; i <= 100; i++) p.ended(i);
  p.finish({ starts: 100, ms: 12 });
  assert.equal(log, 'drawbridge serve: warming up: 100 starts of a built-in guest before listening\ndrawbridge serve: warmed up by 100 starts in 12 ms\n');
  // A skipped warm-up shows nothing.
  let none = '';
  warmUpDisplay({ isTTY: false, write: (s: string) => (none += s) }).finish({ starts: 0, ms: 0, skipped: 'asked for none' });
  assert.equal(none, '');
});
