// The daemon's commands as a user types them (issue 19): serve's stderr (warm-up start and end,
// one line per request, nothing with --quiet), a second serve on the same connection file
// refused in one line, spawn --follow keeping stdout for the program, help that exits 0, and
// spawn --env NAME refused when NAME is unset, as run refuses it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collect } from '../support/child-output.ts';

const BIN = 'bin/drawbridge.js';
const EXIT_CODE = 'build/guests/runtime/exit_code.wasm';

function startServe(file: string, extra: string[]) {
  const serve = spawn(process.execPath, [BIN, 'serve', '--socket', `${file}.sock`, '--connection-file', file, '--workers', '1', ...extra]);
  return { serve, out: collect(serve, 'stdout'), err: collect(serve, 'stderr') };
}

const stopped = (serve: ReturnType<typeof spawn>) => new Promise((r) => serve.on('close', r));

async function run(args: string[], env: NodeJS.ProcessEnv) {
  const c = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
  const out = collect(c, 'stdout');
  const err = collect(c, 'stderr');
  const status = await new Promise((r) => c.on('close', r));
  return { status, stdout: out.text(), stderr: err.text() };
}

test('serve: warm-up start and end lines, a request log on stderr; a second serve on its file is refused; spawn --follow keeps stdout for the program', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'serve-cli-')), 'serve.json');
  const { serve, out, err } = startServe(file, ['--warm-up', '50']);
  try {
    await out.waitFor(/listening on unix:/);
    assert.match(
      err.text(),
      /^drawbridge serve: warming up: 50 starts of a built-in guest before listening\ndrawbridge serve: warmed up by 50 starts in \d+ ms\n$/,
    );

    const second = await run(['serve', '--socket', `${file}.2.sock`, '--connection-file', file, '--workers', '0'], {});
    assert.equal(second.status, 1);
    assert.match(
      second.stderr,
      /^drawbridge serve: a daemon is already running with .*serve\.json \(pid \d+, unix:.*\): stop it, or start this one with --name NAME .*\n$/,
    );

    const env = { DRAWBRIDGE_SERVE_FILE: file };
    const f = await run(['spawn', '--follow', EXIT_CODE, '3'], env);
    assert.equal(f.status, 3, f.stderr);
    assert.equal(f.stdout, 'out\n', 'only the program writes to stdout');
    assert.match(f.stderr, /^drawbridge spawn: id 1\n/);
    const plain = await run(['spawn', EXIT_CODE], env);
    assert.equal(plain.stdout, '2\n', 'without --follow the id is the output');

    await err.waitFor(/POST \/v1\/processes 201 [\d.]+ ms\n[^]*GET \/v1\/processes\/1\/wait 200 [\d.]+ ms\n[^]*POST \/v1\/processes 201/);
    const token = JSON.parse((await import('node:fs')).readFileSync(file, 'utf8')).token as string;
    assert.ok(!err.text().includes(token), 'the token is never logged');
  } finally {
    serve.kill('SIGINT');
  }
  assert.equal(await stopped(serve), 0);
});

test('serve --quiet: no request log and no warm-up lines', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'serve-cli-q-')), 'serve.json');
  const { serve, out, err } = startServe(file, ['--warm-up', '20', '--quiet']);
  try {
    await out.waitFor(/listening on unix:.*warmed up by 20 starts/);
    const ps = await run(['ps'], { DRAWBRIDGE_SERVE_FILE: file });
    assert.equal(ps.status, 0, ps.stderr);
    assert.equal(err.text(), '');
  } finally {
    serve.kill('SIGTERM');
  }
  assert.equal(await stopped(serve), 0);
});

test('ps, kill and logs --help exit 0; their mistakes say what was wrong and exit 2', () => {
  for (const [cmd, re] of [
    ['ps', /^usage: drawbridge ps \[--cluster\] \[--json\]\n.*why it\nended/s],
    ['kill', /^usage: drawbridge kill \[--json\] ID\.\.\.\nStops/],
    ['logs', /^usage: drawbridge logs \[--stderr\] \[--follow\] ID\n/],
  ] as const) {
    const r = spawnSync(process.execPath, [BIN, cmd, '--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${cmd} --help: ${r.stderr}`);
    assert.match(r.stdout, re);
    const bad = spawnSync(process.execPath, [BIN, cmd, '--bogus'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, new RegExp(`^drawbridge ${cmd}: unknown option --bogus\\nusage: drawbridge ${cmd}`));
  }
});

test('spawn --env NAME with NAME unset is refused in one line, as run refuses it', () => {
  const env = { ...process.env };
  delete env.DRAWBRIDGE_TEST_UNSET;
  // No daemon is needed to refuse it: the refusal comes first.
  const r = spawnSync(process.execPath, [BIN, 'spawn', '--env', 'DRAWBRIDGE_TEST_UNSET', EXIT_CODE], {
    encoding: 'utf8',
    env: { ...env, DRAWBRIDGE_SERVE_FILE: '/nonexistent/serve.json' },
  });
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'drawbridge spawn: --env DRAWBRIDGE_TEST_UNSET: expected NAME=VALUE, and "DRAWBRIDGE_TEST_UNSET" is not set here\n');
  const run = spawnSync(process.execPath, [BIN, 'run', '--env', 'DRAWBRIDGE_TEST_UNSET', EXIT_CODE], { encoding: 'utf8', env });
  assert.equal(run.status, 2, 'run refuses it too');
});

test('serve on a TCP address names its web console and where the token to log in with is', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'serve-cli-')), 'serve.json');
  const serve = spawn(process.execPath, [BIN, 'serve', '--listen', '127.0.0.1:0', '--connection-file', file, '--workers', '0', '--quiet']);
  const out = collect(serve, 'stdout');
  try {
    const [, url] = await out.waitFor(/web console at (http:\/\/127\.0\.0\.1:\d+)\/ \(log in with the token in (.*)\)\n/);
    assert.ok(out.text().endsWith(` (log in with the token in ${file})\n`));
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  } finally {
    serve.kill('SIGINT');
    await stopped(serve);
  }
});
