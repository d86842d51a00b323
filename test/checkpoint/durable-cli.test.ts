// Log mode from the command line, as a user would (docs/durable.md): `drawbridge run --durable`
// of a program that is not prepared, computing between the lines it reads; `drawbridge
// checkpoint PID` while it waits for its third line; `drawbridge restore` in a new process fed
// the rest: the output is an uninterrupted run's, and nothing printed before the checkpoint is
// printed again. Then the attacks: changed answers in the log, a cut or garbage log, a request
// for a mount the restorer did not grant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeLogCheckpoint, encodeLogCheckpoint } from '../../src/checkpoint/log-checkpoint.ts';
import { readSealedSnapshot } from '../../src/checkpoint/snapshot-file.ts';
import { decodeHeader, decodeLog, encodeEntry } from '../../src/extensions/durable-log.ts';

const BIN = 'bin/drawbridge.js';
const GUEST = 'build/guests/durable/lines.wasm';
/** Rounds of computing per line (the guest's argv[1]). */
const ROUNDS = '40000000';
const dir = mkdtempSync(join(tmpdir(), 'db-durable-'));
// Checkpoints are sealed with a host key: this file's own, not the user's.
process.env.DRAWBRIDGE_KEY = join(dir, 'host.key');
const env = { ...process.env, DRAWBRIDGE_CACHE: join(dir, 'cache') };
const cli = (args: string[], input?: string) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, input });

const INPUT = ['alpha', 'beta', 'gamma', 'delta'];
const whole = cli(['run', GUEST, ROUNDS], INPUT.map((l) => l + '\n').join(''));

/** A `drawbridge run` reading its stdin from a pipe this test writes. */
function start(args: string[]): {
  child: ChildProcessWithoutNullStreams;
  out: () => string;
  until: (text: string) => Promise<void>;
  closed: Promise<number | null>;
} {
  const child = spawn(process.execPath, [BIN, ...args], { env });
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    out += d;
    for (const w of waiters.splice(0)) w();
  });
  child.stderr.on('data', (d: string) => (err += d));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  const until = async (text: string) => {
    while (!out.includes(text)) {
      const more = new Promise<void>((r) => waiters.push(r));
      const ended = closed.then(() => {
        throw new Error(`ended before "${text}": ${out} ${err}`);
      });
      await Promise.race([more, ended]);
    }
  };
  return { child, out: () => out, until, closed };
}

/** Run with --durable, feed two lines, checkpoint it while it waits for the third. */
async function checkpointAtThirdLine(file: string, extra: string[] = [], guestArgs: string[] = []): Promise<string> {
  const run = start(['run', '--durable', ...extra, GUEST, ROUNDS, ...guestArgs]);
  await run.until('ready\n');
  run.child.stdin.write('alpha\n');
  await run.until('line 1:');
  run.child.stdin.write('beta\n');
  await run.until('line 2:');
  const ck = cli(['checkpoint', String(run.child.pid), '-o', file]);
  assert.equal(ck.status, 0, ck.stderr);
  assert.match(ck.stdout, /^checkpointed \d+ to .* \(\d+ bytes\); it stopped\n$/);
  assert.equal(await run.closed, 0);
  return run.out();
}

test("run --durable, checkpoint while it waits for its 3rd line, restore in a new process: an uninterrupted run's output, nothing printed twice", async () => {
  assert.equal(whole.stderr, '');
  assert.match(whole.stdout, /^ready\nline 1: alpha state=[0-9a-f]{16}\n.*line 4: delta .*\ndone after 4 lines, first was alpha/s);
  const file = join(dir, 'lines.ckpt');
  const before = await checkpointAtThirdLine(file);
  assert.match(before, /^ready\nline 1: alpha .*\nline 2: beta .*\n$/);
  // The default log was removed when the run ended; the checkpoint holds what it needs.
  assert.equal(existsSync(join(dir, 'cache', 'durable')) ? spawnSync('ls', [join(dir, 'cache', 'durable')], { encoding: 'utf8' }).stdout : '', '');

  const shown = cli(['inspect', file]);
  assert.equal(shown.status, 0, shown.stderr);
  assert.match(shown.stdout, /^mode: +log \(restore replays \d+ calls/m);
  assert.match(shown.stdout, /^module: +build\/guests\/durable\/lines\.wasm \(sha256 [0-9a-f]{64}, \d+ bytes\)$/m);
  assert.match(shown.stdout, /^seal: +sealed with this host's key/m);
  assert.match(shown.stdout, /^log: +\d+ calls, \d+ bytes$/m);
  const j = JSON.parse(cli(['inspect', '--json', file]).stdout) as { mode: string; snapshot: null; log: { calls: number; memory: { sha256: string } } };
  assert.equal(j.mode, 'log');
  assert.equal(j.snapshot, null);
  assert.ok(j.log.calls > 10);
  assert.match(j.log.memory.sha256, /^[0-9a-f]{64}$/);

  const restored = cli(['restore', file], 'gamma\ndelta\n');
  assert.equal(restored.stderr, '');
  assert.equal(restored.status, whole.status);
  assert.equal(before + restored.stdout, whole.stdout);
});

test('a restored program logs on: checkpointed again at its 4th line and restored again, the output is still whole', async () => {
  const first = join(dir, 'again-1.ckpt');
  const before = await checkpointAtThirdLine(first);
  const log2 = join(dir, 'again.dlog');
  const restored = start(['restore', `--durable=${log2}`, first]);
  restored.child.stdin.write('gamma\n');
  await restored.until('line 3:');
  const second = join(dir, 'again-2.ckpt');
  const ck = cli(['checkpoint', String(restored.child.pid), '-o', second]);
  assert.equal(ck.status, 0, ck.stderr);
  assert.equal(await restored.closed, 0);
  // The new log holds the old one and what followed it.
  assert.ok(readFileSync(log2).length > decodeLogCheckpoint(readSealedSnapshot(first).bytes, first).log.length);
  const last = cli(['restore', second], 'delta\n');
  assert.equal(last.stderr, '');
  assert.equal(before + restored.out() + last.stdout, whole.stdout);
});

/** The checkpoint's plain bytes with its log rebuilt by `edit` (as an attacker who knows the format would), unsealed. */
function tampered(file: string, out: string, edit: (log: Uint8Array) => Uint8Array): string {
  const cp = decodeLogCheckpoint(readSealedSnapshot(file).bytes, file);
  writeFileSync(out, encodeLogCheckpoint({ ...cp, log: edit(cp.log) }));
  return out;
}

test('attacks on a log checkpoint: changed answers, a cut or garbage log, an altered seal: one line each, no crash', async () => {
  const file = join(dir, 'attacked.ckpt');
  await checkpointAtThirdLine(file);

  // A sealed file with one byte changed: the seal says so.
  const raw = readFileSync(file);
  raw[raw.length - 100] = raw[raw.length - 100]! ^ 1;
  writeFileSync(join(dir, 'flipped.ckpt'), raw);
  const flipped = cli(['restore', join(dir, 'flipped.ckpt')]);
  assert.equal(flipped.status, 1);
  assert.match(flipped.stderr, /^drawbridge restore: .*its seal does not match its contents: the file was altered or damaged\n$/);

  // The answer to a read changed ("alpha" -> "alphb"), every check recomputed: the replay notices.
  const answer = tampered(file, join(dir, 'answer.ckpt'), (log) => {
    const { header, at } = decodeHeader(log);
    void header;
    const entries = decodeLog(log).entries.map((e) => {
      if (!e.out || !Buffer.from(e.out).toString().startsWith('alpha')) return e;
      const out = Buffer.from(e.out);
      out[4] = 'b'.charCodeAt(0);
      return { ...e, out };
    });
    return Buffer.concat([log.subarray(0, at), ...entries.map(encodeEntry)]);
  });
  const changed = cli(['restore', '--trust-unsealed', answer], 'gamma\n');
  assert.equal(changed.status, 125, changed.stderr);
  assert.equal(changed.stdout, '');
  assert.match(changed.stderr, /^drawbridge: .*lines\.wasm: restore: (diverged at call \d+: .*|memory differs at call \d+ .*)\n$/);

  // The log cut in the middle of an entry, or garbage after its header: refused before running.
  const cut = tampered(file, join(dir, 'cut.ckpt'), (log) => log.subarray(0, log.length - 7));
  const garbage = tampered(file, join(dir, 'garbage.ckpt'), (log) => {
    const { at } = decodeHeader(log);
    const g = Buffer.from(log);
    for (let i = at; i < g.length; i++) g[i] = (i * 131 + 7) & 0xff;
    return g;
  });
  for (const bad of [cut, garbage]) {
    const r = cli(['restore', '--trust-unsealed', bad], 'gamma\n');
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^drawbridge restore: .*: its log is damaged: entry \d+ \(byte \d+\): .*\n$/);
  }
  // The whole file cut short: its checksum says so.
  writeFileSync(join(dir, 'short.ckpt'), readSealedSnapshot(file).bytes.subarray(0, 5000));
  const short = cli(['restore', '--trust-unsealed', join(dir, 'short.ckpt')]);
  assert.equal(short.status, 1);
  assert.match(short.stderr, /^drawbridge restore: .*short\.ckpt: not a valid log checkpoint: .*\n$/);
});

test('a log checkpoint asks for the mounts it ran with; a restorer that does not grant them refuses', async () => {
  const data = mkdtempSync(join(tmpdir(), 'db-durable-data-'));
  const file = join(dir, 'mounted.ckpt');
  const before = await checkpointAtThirdLine(file, ['--dir', `${data}::/data`]);
  const refused = cli(['restore', file], 'gamma\ndelta\n');
  assert.equal(refused.status, 1);
  assert.equal(refused.stdout, '');
  assert.equal(refused.stderr, 'drawbridge restore: the snapshot asks for mount /data (rw), not granted: give --dir HOST::/data or a manifest\n');
  const granted = cli(['restore', '--dir', `${data}::/data`, file], 'gamma\ndelta\n');
  assert.equal(granted.stderr, '');
  assert.equal(before + granted.stdout, whole.stdout);
});

test('files open across the checkpoint are reopened at their position; what was written before it is not written again', async () => {
  const words = 'one\ntwo\nthree\nfour\nfive\n';
  const ref = mkdtempSync(join(tmpdir(), 'db-durable-ref-'));
  writeFileSync(join(ref, 'words.txt'), words);
  const all = cli(['run', '--dir', `${ref}::/data`, GUEST, ROUNDS, '/data'], INPUT.map((l) => l + '\n').join(''));
  assert.equal(all.stderr, '');
  assert.match(all.stdout, /line 3: gamma word=three\n/);
  const data = mkdtempSync(join(tmpdir(), 'db-durable-files-'));
  writeFileSync(join(data, 'words.txt'), words);
  const file = join(dir, 'files.ckpt');
  const before = await checkpointAtThirdLine(file, ['--dir', `${data}::/data`], ['/data']);
  assert.equal(readFileSync(join(data, 'seen.txt'), 'utf8'), '1 alpha\n2 beta\n');
  const restored = cli(['restore', '--dir', `${data}::/data`, file], 'gamma\ndelta\n');
  assert.equal(restored.stderr, '');
  assert.equal(before + restored.stdout, all.stdout);
  assert.equal(readFileSync(join(data, 'seen.txt'), 'utf8'), readFileSync(join(ref, 'seen.txt'), 'utf8'));
});

test('--leave-running --encrypt: the run goes on to its end; the checkpoint restores the same rest', async () => {
  const file = join(dir, 'leave.ckpt');
  const run = start(['run', '--durable', GUEST, ROUNDS]);
  await run.until('ready\n');
  run.child.stdin.write('alpha\nbeta\n');
  await run.until('line 2:');
  const ck = cli(['checkpoint', String(run.child.pid), '-o', file, '--leave-running', '--encrypt']);
  assert.equal(ck.status, 0, ck.stderr);
  assert.match(ck.stdout, /; it goes on running\n$/);
  const before = run.out();
  run.child.stdin.end('gamma\ndelta\n');
  assert.equal(await run.closed, whole.status);
  assert.equal(run.out(), whole.stdout);
  const restored = cli(['restore', file], 'gamma\ndelta\n');
  assert.equal(restored.stderr, '');
  assert.equal(before + restored.stdout, whole.stdout);
});

test('a checkpoint asked for while the program computes is taken at its next wait', async () => {
  const file = join(dir, 'computing.ckpt');
  // Ten times the rounds: the checkpoint arrives while it computes its first line.
  const run = start(['run', '--durable', GUEST, String(Number(ROUNDS) * 10)]);
  await run.until('ready\n');
  // Its control socket opens while it waits (the event loop does not run while it computes).
  await new Promise((r) => setTimeout(r, 300));
  run.child.stdin.write('alpha\n');
  const ck = cli(['checkpoint', String(run.child.pid), '-o', file]);
  assert.equal(ck.status, 0, ck.stderr);
  assert.equal(await run.closed, 0);
  // It finished the line it computed, and stopped in the wait for the next one.
  assert.match(run.out(), /^ready\nline 1: alpha state=[0-9a-f]{16}\n$/);
  const all = cli(['run', GUEST, String(Number(ROUNDS) * 10)], 'alpha\nbeta\n');
  const restored = cli(['restore', file], 'beta\n');
  assert.equal(restored.stderr, '');
  assert.equal(run.out() + restored.stdout, all.stdout);
});

/** A `drawbridge receive --once` on a free loopback port, its stdin a pipe this test writes. */
async function receiver(tokenFile: string) {
  const r = start(['receive', '--once', '--listen', '127.0.0.1:0', '--token-file', tokenFile]);
  await r.until('listening on');
  const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(r.out())![1]);
  /** What the program printed there (after receive's own lines). */
  const program = () => r.out().replace(/^(token .*\n)?listening on .*\n/, '');
  return { ...r, port, program };
}

test("drawbridge migrate of a run in log mode, then on again: each receive replays the log and goes on; the output is an uninterrupted run's", async () => {
  const tokenFile = join(mkdtempSync(join(tmpdir(), 'db-durable-tok-')), 'token');
  const a = await receiver(tokenFile);
  const b = await receiver(tokenFile);
  try {
    const run = start(['run', '--durable', GUEST, ROUNDS]);
    await run.until('ready\n');
    run.child.stdin.write('alpha\n');
    await run.until('line 1:');
    run.child.stdin.write('beta\n');
    await run.until('line 2:');
    const first = cli(['migrate', String(run.child.pid), '--to', `127.0.0.1:${a.port}`, '--token-file', tokenFile]);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /^migrated \d+ to 127\.0\.0\.1:\d+ in log mode: sent its log \(\d+ calls, \d+ bytes\) and the module\n$/);
    assert.equal(await run.closed, 0);
    // The next line goes to the host it runs on now; then on to the third host, by the pid of receive A.
    a.child.stdin.write('gamma\n');
    await a.until('line 3:');
    const second = cli(['migrate', String(a.child.pid), '--to', `127.0.0.1:${b.port}`, '--token-file', tokenFile]);
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, / in log mode: sent its log /);
    assert.equal(await a.closed, 0);
    b.child.stdin.end('delta\n');
    assert.equal(await b.closed, whole.status);
    assert.equal(run.out() + a.program() + b.program(), whole.stdout);
  } finally {
    a.child.kill();
    b.child.kill();
  }
});

/** Until the durable log (its last entry possibly torn) satisfies `ok`; bounded. */
async function logHolds(log: string, ok: (entries: ReturnType<typeof decodeLog>['entries']) => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (ok(decodeLog(readFileSync(log), { tolerateTail: true, keep: true }).entries)) return;
    assert.ok(Date.now() < deadline, 'the durable log never held what the test waits for');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('after a crash: the durable log alone restores the program (with --trust-unsealed and its module), nothing printed twice', async () => {
  const log = join(dir, 'crash.dlog');
  const run = start(['run', `--durable=${log}`, GUEST, ROUNDS]);
  await run.until('ready\n');
  run.child.stdin.write('alpha\n');
  await run.until('line 1:');
  run.child.stdin.write('beta\n');
  await run.until('line 2:');
  // The write is logged when it returns: killed between the two, a restore writes it again (at
  // least once, docs/durable.md). The crash comes once the log holds all three writes.
  await logHolds(log, (entries) => entries.filter((e) => e.spec.name === 'DkStreamWrite').length >= 3);
  run.child.kill('SIGKILL');
  await run.closed;
  const unsealed = cli(['restore', log], 'gamma\n');
  assert.equal(unsealed.status, 1);
  assert.match(unsealed.stderr, /^drawbridge restore: .*crash\.dlog is a durable log, which is not sealed: .*--trust-unsealed\n$/);
  const other = cli(['restore', '--trust-unsealed', '--module', 'build/guests/durable/filemix.wasm', log], 'gamma\n');
  assert.equal(other.status, 1);
  assert.match(other.stderr, /^drawbridge restore: .*crash\.dlog is the log of module [0-9a-f]{64}; the module given has sha256 [0-9a-f]{64}\n$/);
  const restored = cli(['restore', '--trust-unsealed', '--module', GUEST, log], 'gamma\ndelta\n');
  assert.equal(restored.stderr, '');
  assert.equal(restored.status, whole.status);
  assert.equal(run.out() + restored.stdout, whole.stdout);
});

test('[continuity] mode = "log" in a manifest turns the log on; a bad mode is named', async () => {
  const log = join(dir, 'manifest.dlog');
  const manifest = join(dir, 'log.toml');
  writeFileSync(manifest, `[continuity]\nmode = "log"\nlog = "${log}"\n`);
  const r = cli(['run', '--manifest', manifest, GUEST, ROUNDS], 'alpha\n');
  assert.equal(r.stderr, '');
  const d = decodeLog(readFileSync(log));
  assert.ok(d.entries.some((e) => e.spec.name === 'DkStreamRead' && Buffer.from(e.out ?? []).toString() === 'alpha\n'));
  writeFileSync(manifest, '[continuity]\nmode = "always"\n');
  const bad = cli(['run', '--manifest', manifest, GUEST, ROUNDS], '');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /continuity\.mode: expected "log" or "snapshot"/);
});
