// Log mode in `drawbridge serve` (docs/durable.md, docs/serve.md), driven as a user would: the
// CLI client (spawn, ps, move, checkpoint and restore with --host, inspect) against daemons
// this file starts, stdin through the API. guests/durable/lines keeps a state across the lines
// it reads and prints it: a picoprocess moved or restored by replay goes on with the state of
// its earlier lines, and nothing it printed is printed again. Then the attacks: a log
// checkpoint that asks for more than the daemon grants, and one whose answers were changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type Daemon } from '../../src/server/daemon.ts';
import { call } from '../../src/server/client.ts';
import { main } from '../../src/cli/main.ts';
import { decodeLogCheckpoint, encodeLogCheckpoint } from '../../src/checkpoint/log-checkpoint.ts';
import { readSealedSnapshot } from '../../src/checkpoint/snapshot-file.ts';
import { decodeHeader, decodeLog, encodeEntry } from '../../src/extensions/durable-log.ts';
import { Supervisor, type ProcessInfo } from '../../src/server/supervisor.ts';
import type { WorkerInfo } from '../../src/server/pool/pool.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const LINES = join(ROOT, 'build', 'guests', 'durable', 'lines.wasm');
/** Rounds of computing per line (the guest's argv[1]): a little, so that a replay computes too. */
const ROUNDS = '100000';
const INPUT = ['alpha', 'beta', 'gamma', 'delta'];

const dir = mkdtempSync(join(tmpdir(), 'serve-durable-'));
// Checkpoints are sealed with a host key: this file's own, not the user's.
process.env.DRAWBRIDGE_KEY = join(dir, 'host.key');

interface Served {
  d: Daemon;
  file: string;
  logs: string;
}

async function serve(name: string, options: { prepare?: boolean } = {}): Promise<Served> {
  const home = mkdtempSync(join(dir, `${name}-`));
  const file = join(home, 'serve.json');
  const logs = join(home, 'logs');
  const d = await startDaemon({ workers: 2, warmUp: 0, socket: join(home, 'api.sock'), connectionFile: file, logFolder: logs, ...options });
  return { d, file, logs };
}

/** Run the CLI against daemon `s` (its connection file) and collect what it prints. */
async function cli(s: Served, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const saved = process.env.DRAWBRIDGE_SERVE_FILE;
  process.env.DRAWBRIDGE_SERVE_FILE = s.file;
  const out: string[] = [];
  const err: string[] = [];
  try {
    const code = await main(argv, { out: (l) => void out.push(l), err: (l) => void err.push(l) });
    return { code, out: out.map((l) => l + '\n').join(''), err: err.map((l) => l + '\n').join('') };
  } finally {
    if (saved === undefined) delete process.env.DRAWBRIDGE_SERVE_FILE;
    else process.env.DRAWBRIDGE_SERVE_FILE = saved;
  }
}

const info = async (s: Served, id: number): Promise<ProcessInfo> =>
  ((await call(s.d.connection, 'GET', `/v1/processes/${id}`)) as { process: ProcessInfo }).process;
const stdout = async (s: Served, id: number): Promise<string> =>
  Buffer.from((await call(s.d.connection, 'GET', `/v1/processes/${id}/stdout`)) as Uint8Array).toString();
const feed = (s: Served, id: number, text: string, close = false) =>
  call(s.d.connection, 'POST', `/v1/processes/${id}/stdin${close ? '?close=1' : ''}`, { raw: Buffer.from(text) });
const waitEnd = async (s: Served, id: number): Promise<ProcessInfo> =>
  ((await call(s.d.connection, 'GET', `/v1/processes/${id}/wait`)) as { process: ProcessInfo }).process;

/** Until picoprocess `id` has printed `text` (or has ended without it: a failure naming what it printed). */
async function printed(s: Served, id: number, text: string): Promise<void> {
  for (;;) {
    const out = await stdout(s, id);
    if (out.includes(text)) return;
    const p = await info(s, id);
    if (p.state !== 'running' && p.state !== 'starting') throw new Error(`${id} ended (${p.reason}) before printing "${text}": ${out}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function until(f: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!f()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Spawn lines in log mode with `flags`, and feed it its first two lines. */
async function twoLinesIn(s: Served, flags: string[]): Promise<number> {
  const spawned = await cli(s, ['spawn', ...flags, LINES, ROUNDS]);
  assert.equal(spawned.code, 0, spawned.err);
  const id = Number(spawned.out);
  await printed(s, id, 'ready\n');
  await feed(s, id, 'alpha\n');
  await printed(s, id, 'line 1:');
  await feed(s, id, 'beta\n');
  await printed(s, id, 'line 2:');
  return id;
}

const a = await serve('a');
const b = await serve('b', { prepare: false });
test.after(async () => {
  await a.d.close();
  await b.d.close();
});

// What an uninterrupted run of the four lines prints, and its status.
const whole = await (async () => {
  const { process: p } = (await call(a.d.connection, 'POST', '/v1/processes', {
    body: { module: LINES, args: [ROUNDS], stdin: INPUT.map((l) => l + '\n').join(''), closeStdin: true },
  })) as { process: ProcessInfo };
  const end = await waitEnd(a, p.id);
  return { stdout: await stdout(a, p.id), exitCode: end.exitCode };
})();

test('spawn --durable: ps shows log; moved to the other worker while it waits, it goes on with the state of its earlier lines, nothing printed twice', async () => {
  assert.match(whole.stdout, /^ready\nline 1: alpha state=[0-9a-f]{16}\n.*line 4: delta .*\ndone after 4 lines, first was alpha/s);
  const id = await twoLinesIn(a, ['--durable']);
  const before = await info(a, id);
  assert.equal(before.capture, 'log');
  assert.equal(before.capturable, true);

  // Its log: in the daemon's folder, 0600, one file for this placement.
  const logs = readdirSync(a.logs);
  assert.equal(logs.length, 1, logs.join(' '));
  assert.match(logs[0]!, new RegExp(`^serve-${process.pid}-${id}-\\d+\\.dlog$`));
  assert.equal(statSync(join(a.logs, logs[0]!)).mode & 0o777, 0o600);
  assert.equal(statSync(a.logs).mode & 0o777, 0o700);

  const ps = await cli(a, ['ps']);
  assert.equal(ps.code, 0, ps.err);
  assert.match(ps.out, /^ID\s+STATE\s+EXIT\s+REASON\s+WORKER\s+CAPTURE\s+CPU/);
  assert.match(ps.out, new RegExp(`^${id}\\s+running\\s+-\\s+-\\s+${before.worker}\\s+log\\s`, 'm'));
  const json = JSON.parse((await cli(a, ['ps', '--json'])).out) as ProcessInfo[];
  assert.equal(json.find((p) => p.id === id)?.capture, 'log');

  const other = before.worker === 0 ? 1 : 0;
  const moved = await cli(a, ['move', String(id), '--worker', String(other)]);
  assert.equal(moved.code, 0, moved.err);
  assert.equal(moved.out, `moved ${id} to worker ${other}\n`);
  const after = await info(a, id);
  assert.equal(after.worker, other);
  assert.equal(after.state, 'running');
  assert.equal(after.capture, 'log');
  // The old placement's log goes with it; the new one logs on in a file of its own.
  await until(() => readdirSync(a.logs).length === 1 && readdirSync(a.logs)[0] !== logs[0], 'the old log to go');

  await feed(a, id, 'gamma\n');
  await printed(a, id, 'line 3:');
  await feed(a, id, 'delta\n', true);
  const end = await waitEnd(a, id);
  assert.equal(end.reason, `exited ${whole.exitCode}`);
  assert.equal(await stdout(a, id), whole.stdout);
  assert.deepEqual(readdirSync(a.logs), [], 'its log is removed when it ends');
});

test('checkpoint --host of a picoprocess whose manifest says [continuity] mode = "log": a sealed log checkpoint, restored in the daemon by replay and in a plain restore', async () => {
  const manifest = join(dir, 'log.toml');
  writeFileSync(manifest, '[continuity]\nmode = "log"\n');
  const id = await twoLinesIn(a, ['--manifest', manifest]);
  assert.equal((await info(a, id)).capture, 'log');
  const before = await stdout(a, id);
  const ck = join(dir, 'lines.ckpt');
  const taken = await cli(a, ['checkpoint', '--host', String(id), '-o', ck]);
  assert.equal(taken.code, 0, taken.err);
  assert.match(taken.out, new RegExp(`^checkpointed ${id} to .*lines\\.ckpt \\(\\d+ bytes\\); it stopped\\n$`));
  const stopped = await waitEnd(a, id);
  assert.equal(stopped.state, 'checkpointed');
  assert.equal(await stdout(a, id), before, 'nothing more printed');

  const shown = await cli(a, ['inspect', ck]);
  assert.equal(shown.code, 0, shown.err);
  assert.match(shown.out, /^mode: +log \(restore replays \d+ calls/m);
  assert.match(shown.out, /^seal: +sealed with this host's key/m);

  // Into the daemon, on worker 1: it replays, then goes live; answered once it has.
  const restored = await cli(a, ['restore', '--host', ck, '--worker', '1']);
  assert.equal(restored.code, 0, restored.err);
  const rid = Number(restored.out);
  const r = await info(a, rid);
  assert.equal(r.state, 'running');
  assert.equal(r.capture, 'log');
  assert.equal(r.worker, 1);
  await feed(a, rid, 'gamma\ndelta\n', true);
  const end = await waitEnd(a, rid);
  assert.equal(end.exitCode, whole.exitCode);
  assert.equal(before + (await stdout(a, rid)), whole.stdout);

  // The same file restored by `drawbridge restore`, which runs the module unprepared.
  const plain = spawnSync(process.execPath, [join(ROOT, 'bin', 'drawbridge.js'), 'restore', ck], { encoding: 'utf8', input: 'gamma\ndelta\n' });
  assert.equal(plain.stderr, '');
  assert.equal(plain.status, whole.exitCode);
  assert.equal(before + plain.stdout, whole.stdout);
});

test('checkpoint --leave-running of a log-mode picoprocess: it goes on; a second checkpoint later holds more of the log', async () => {
  const id = await twoLinesIn(a, ['--durable']);
  const first = join(dir, 'leave-1.ckpt');
  const left = await cli(a, ['checkpoint', '--host', String(id), '-o', first, '--leave-running']);
  assert.equal(left.code, 0, left.err);
  assert.match(left.out, /; it goes on running\n$/);
  await feed(a, id, 'gamma\n');
  await printed(a, id, 'line 3:');
  const second = join(dir, 'leave-2.ckpt');
  assert.equal((await cli(a, ['checkpoint', '--host', String(id), '-o', second])).code, 0);
  const calls = (f: string) => decodeLogCheckpoint(readSealedSnapshot(f).bytes, f).meta.calls;
  assert.ok(calls(second) > calls(first), `${calls(second)} > ${calls(first)}`);
  const restored = await cli(a, ['restore', '--host', second]);
  assert.equal(restored.code, 0, restored.err);
  const rid = Number(restored.out);
  await feed(a, rid, 'delta\n', true);
  await waitEnd(a, rid);
  assert.equal((await stdout(a, id)) + (await stdout(a, rid)), whole.stdout);
});

test('serve --no-prepare: log mode still checkpoints an unprepared module (a worker thread of its own; a move gives it a new one); its checkpoint restores in a daemon that prepares', async () => {
  const plain = await cli(b, ['spawn', '--stdin', 'x\n', LINES, ROUNDS]);
  assert.equal((await info(b, Number(plain.out))).capture, null);
  const refused = await cli(b, ['checkpoint', '--host', plain.out.trim(), '-o', join(dir, 'never.ckpt')]);
  assert.equal(refused.code, 1);
  assert.match(refused.err, /cannot be checkpointed: its module is not prepared .*and it does not run in log mode \(spawn --durable\)\n$/);

  const id = await twoLinesIn(b, ['--durable']);
  const p = await info(b, id);
  assert.equal(p.capture, 'log');
  assert.ok(p.worker! >= 2, `a worker of its own, not a pool worker: ${p.worker}`);
  const ps = await cli(b, ['ps']);
  assert.match(ps.out, new RegExp(`^${id}\\s+running\\s+-\\s+-\\s+${p.worker}\\s+log\\s`, 'm'));
  assert.match(ps.out, new RegExp(`^${plain.out.trim()}\\s+\\S+\\s+\\S+\\s+.*\\s+-\\s+\\d`, 'm'));
  const move = await cli(b, ['move', String(id), '--worker', '0']);
  assert.equal(move.code, 1);
  assert.match(
    move.err,
    /cannot move to worker 0: it cannot be preempted \(its module is not prepared\), so it moves to a worker thread of its own \(move without --worker\)\n$/,
  );
  // Moved by its log to a new worker thread of its own; the old one ends.
  const moved = await cli(b, ['move', String(id)]);
  assert.equal(moved.code, 0, moved.err);
  const q = await info(b, id);
  assert.ok(q.worker! >= 2 && q.worker !== p.worker, `a new worker of its own: ${p.worker} -> ${q.worker}`);
  assert.equal(q.capture, 'log');
  assert.equal(moved.out, `moved ${id} to worker ${q.worker}\n`);
  // Its old and new threads (the plain one above keeps its own).
  const own = async () =>
    ((await call(b.d.connection, 'GET', '/v1/workers')) as { workers: WorkerInfo[] }).workers.filter((w) => w.index === p.worker || w.index === q.worker);
  const deadline = Date.now() + 10_000;
  let threads = await own();
  while (threads.length !== 1 && Date.now() < deadline) threads = await new Promise((r) => setTimeout(r, 5)).then(own);
  assert.deepEqual(threads, [{ index: q.worker, dedicated: true, processes: 1 }], 'the old worker thread ends');

  const before = await stdout(b, id);
  const ck = join(dir, 'unprepared.ckpt');
  assert.equal((await cli(b, ['checkpoint', '--host', String(id), '-o', ck])).code, 0);
  const restored = await cli(a, ['restore', '--host', ck]);
  assert.equal(restored.code, 0, restored.err);
  const rid = Number(restored.out);
  await feed(a, rid, 'gamma\ndelta\n', true);
  await waitEnd(a, rid);
  assert.equal(before + (await stdout(a, rid)), whole.stdout);
});

/** `ck` as an attacker would rewrite it (no host key: unsealed), META and log edited. */
function tampered(ck: string, out: string, edit: (cp: ReturnType<typeof decodeLogCheckpoint>) => ReturnType<typeof decodeLogCheckpoint>): string {
  writeFileSync(out, encodeLogCheckpoint(edit(decodeLogCheckpoint(readSealedSnapshot(ck).bytes, ck))));
  return out;
}

test('attacks: a log checkpoint that asks for a mount and a network grant the daemon does not give is refused, naming them; changed answers stop the replay in one line', async () => {
  const id = await twoLinesIn(a, ['--durable']);
  const ck = join(dir, 'attacked.ckpt');
  assert.equal((await cli(a, ['checkpoint', '--host', String(id), '-o', ck])).code, 0);
  const count = async () => ((await call(a.d.connection, 'GET', '/v1/processes')) as { processes: ProcessInfo[] }).processes.length;
  const known = await count();

  const greedy = tampered(ck, join(dir, 'greedy.ckpt'), (cp) => ({
    ...cp,
    meta: { ...cp.meta, mounts: [{ guest: '/etc', mode: 'rw' }], network: { connect: ['*:*'], listen: [] } },
  }));
  const unsealed = await cli(a, ['restore', '--host', greedy]);
  assert.equal(unsealed.code, 1);
  assert.match(unsealed.err, /^drawbridge restore: .*greedy\.ckpt is not sealed: .*--trust-unsealed\n$/);
  const refused = await cli(a, ['restore', '--host', '--trust-unsealed', greedy]);
  assert.equal(refused.code, 1);
  assert.equal(
    refused.err,
    'drawbridge restore: the snapshot asks for mount /etc (rw), not granted: give --dir HOST::/etc or a manifest; connect to *:*, not granted: give --connect *:* or a manifest\n',
  );
  assert.equal(await count(), known, 'nothing was started');

  // The answer to a read changed ("alpha" -> "alphb"), every check recomputed: the replay notices.
  const changed = tampered(ck, join(dir, 'changed.ckpt'), (cp) => {
    const { at } = decodeHeader(cp.log);
    const entries = decodeLog(cp.log).entries.map((e) => {
      if (!e.out || !Buffer.from(e.out).toString().startsWith('alpha')) return e;
      const out = Buffer.from(e.out);
      out[4] = 'b'.charCodeAt(0);
      return { ...e, out };
    });
    return { ...cp, log: Buffer.concat([cp.log.subarray(0, at), ...entries.map(encodeEntry)]) };
  });
  const diverged = await cli(a, ['restore', '--host', '--trust-unsealed', changed]);
  assert.equal(diverged.code, 1);
  assert.equal(diverged.out, '');
  assert.match(diverged.err, /^drawbridge restore: .*lines\.wasm: restore: (diverged at call \d+: .*|memory differs at call \d+ .*)\n$/);
  // It ended there, saying why, and printed nothing.
  const ended = ((await call(a.d.connection, 'GET', '/v1/processes')) as { processes: ProcessInfo[] }).processes.at(-1)!;
  assert.equal(ended.exitCode, 125);
  assert.match(ended.reason!, /^halted: restore: /);
  assert.equal(ended.stdoutBytes, 0);
});

test('a lone Supervisor (the library the workers run) does the same: spawn in log mode, a log checkpoint, a restore by replay', async () => {
  const logs = mkdtempSync(join(dir, 'lone-'));
  const sv = new Supervisor({ keepEnded: 10, logFolder: logs });
  const module = await sv.load(readFileSync(LINES), LINES);
  const e = await sv.spawn({ module, args: [ROUNDS], durable: {} });
  assert.equal(e.info().capture, 'log');
  const out = () => Buffer.from(e.stdout.read(0).bytes).toString();
  e.stdin.feed(Buffer.from('alpha\nbeta\n'));
  await until(() => out().includes('line 2:'), 'two lines');
  assert.equal(readdirSync(logs).length, 1);
  const ck = await sv.checkpoint(e.id, false);
  assert.equal((await e.done).checkpointed, true);
  const r = await sv.restore(ck);
  assert.equal(r.info().capture, 'log');
  r.stdin.feed(Buffer.from('gamma\ndelta\n'));
  r.stdin.close();
  assert.equal((await r.done).exitCode, whole.exitCode);
  assert.equal(out() + Buffer.from(r.stdout.read(0).bytes).toString(), whole.stdout);
  assert.deepEqual(readdirSync(logs), []);
});
