// The daemon's control API end to end over loopback HTTP: token, spawn, stdin, output with
// follow, list, kill, checkpoint and restore, refusals; and the same over a unix socket
// through the CLI commands (ps, spawn, kill, logs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon } from '../../src/server/daemon.ts';
import { ApiError, call } from '../../src/server/client.ts';
import { main } from '../../src/cli/main.ts';
import type { ProcessInfo } from '../../src/server/supervisor.ts';

const GUESTS = join(import.meta.dirname, '..', '..', 'build', 'guests', 'density');
const IDLE = join(GUESTS, 'idle.wasm');

async function until(f: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('control API over loopback TCP with a bearer token', async () => {
  const d = await startDaemon({ connectionFile: null, token: 'secret-token' });
  const c = d.connection;
  try {
    assert.match(c.url!, /^http:\/\/127\.0\.0\.1:\d+$/);
    await assert.rejects(call({ ...c, token: 'wrong' }, 'GET', '/v1/processes'), (e: ApiError) => e.status === 401);
    assert.equal((await call(c, 'GET', '/v1/health')).ok, true);

    const { process: p } = (await call(c, 'POST', '/v1/processes', { body: { module: IDLE, stdin: 'first\n' } })) as { process: ProcessInfo };
    assert.equal(p.state, 'running');
    assert.equal(p.capturable, true);
    // Follow stdout while feeding more lines.
    const followed: string[] = [];
    const following = call(c, 'GET', `/v1/processes/${p.id}/stdout?follow=1`, { onData: (b) => void followed.push(Buffer.from(b).toString()) });
    assert.deepEqual(await call(c, 'POST', `/v1/processes/${p.id}/stdin`, { raw: new TextEncoder().encode('second\n') }), { accepted: 7 });
    await until(async () => followed.join('') === 'echo: first\necho: second\n', 'followed output');

    const { processes } = (await call(c, 'GET', '/v1/processes')) as { processes: ProcessInfo[] };
    assert.deepEqual(
      processes.map((x) => [x.id, x.state]),
      [[p.id, 'running']],
    );

    // Checkpoint (it stops), restore as a new picoprocess, which goes on answering.
    const snapshot = (await call(c, 'POST', `/v1/processes/${p.id}/checkpoint`)) as Uint8Array;
    assert.ok(snapshot.length > 1000);
    await following; // the stream ends with the picoprocess
    assert.equal(((await call(c, 'GET', `/v1/processes/${p.id}`)) as { process: ProcessInfo }).process.state, 'checkpointed');
    const { process: r } = (await call(c, 'POST', '/v1/restore', { raw: snapshot })) as { process: ProcessInfo };
    assert.notEqual(r.id, p.id);
    await call(c, 'POST', `/v1/processes/${r.id}/stdin`, { raw: new TextEncoder().encode('third\n') });
    await until(
      async () => Buffer.from((await call(c, 'GET', `/v1/processes/${r.id}/stdout`)) as Uint8Array).toString() === 'echo: third\n',
      'restored answer',
    );

    // Kill: status 137, then it can be removed.
    await assert.rejects(call(c, 'DELETE', `/v1/processes/${r.id}`), (e: ApiError) => e.status === 409);
    const killed = ((await call(c, 'POST', `/v1/processes/${r.id}/kill`)) as { process: ProcessInfo }).process;
    assert.equal(killed.exitCode, 137);
    assert.deepEqual(await call(c, 'DELETE', `/v1/processes/${r.id}`), { removed: r.id });

    // Refusals are clean answers.
    await assert.rejects(call(c, 'POST', '/v1/processes', { body: { module: 'relative.wasm' } }), (e: ApiError) => e.status === 400);
    await assert.rejects(
      call(c, 'POST', '/v1/processes', { body: { module: '/nonexistent.wasm' } }),
      (e: ApiError) => e.status === 400 && /no such file/.test(e.message),
    );
    await assert.rejects(
      call(c, 'POST', '/v1/processes', { body: { module: IDLE, manifest: '[limits]\nhandles = -1' } }),
      (e: ApiError) => e.status === 400 && /limits.handles/.test(e.message),
    );
    await assert.rejects(call(c, 'POST', '/v1/processes', { body: { module: IDLE, manifest: 'nonsense = 1' } }), (e: ApiError) => e.status === 400);
    await assert.rejects(call(c, 'GET', '/v1/processes/999'), (e: ApiError) => e.status === 404);
    await assert.rejects(call(c, 'POST', '/v1/restore', { raw: new Uint8Array(10) }), (e: ApiError) => e.status === 400);
  } finally {
    await d.close();
  }
});

test('the daemon listens on loopback only', async () => {
  await assert.rejects(startDaemon({ connectionFile: null, listen: '0.0.0.0:0' }), /loopback only/);
});

test('CLI: spawn, ps, logs, kill against a daemon on a unix socket', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'serve-'));
  const file = join(dir, 'serve.json');
  const d = await startDaemon({ socket: join(dir, 'api.sock'), connectionFile: file });
  const saved = process.env.DRAWBRIDGE_SERVE_FILE;
  process.env.DRAWBRIDGE_SERVE_FILE = file;
  const lines: string[] = [];
  const errs: string[] = [];
  const io = { out: (l: string) => void lines.push(l), err: (l: string) => void errs.push(l) };
  try {
    assert.equal(await main(['spawn', '--stdin', 'hi\n', IDLE], io), 0, errs.join('\n'));
    const id = Number(lines.pop());
    assert.ok(id > 0);
    assert.equal(await main(['ps'], io), 0);
    assert.match(lines.join('\n'), new RegExp(`^${id}\\s+running\\s+-`, 'm'));
    await until(async () => d.pool.get(id).stdoutBytes > 0, 'output');
    assert.equal(await main(['kill', String(id)], io), 0);
    assert.equal(lines.pop(), `${id} exited 137`);
    assert.equal(await main(['spawn', '--stdin', 'hi\n', IDLE], io), 0, errs.join('\n'));
    const second = Number(lines.pop());
    assert.equal(await main(['kill', '--json', String(second)], io), 0);
    const record = JSON.parse(lines.pop()!) as { id: number; state: string; exitCode: number };
    assert.deepEqual([record.id, record.state, record.exitCode], [second, 'exited', 137]);
    assert.equal(await main(['kill', '12345'], io), 1);
    assert.match(errs.pop()!, /no picoprocess 12345/);
    assert.equal(await main(['spawn', join(dir, 'missing.wasm')], io), 1);
  } finally {
    if (saved === undefined) delete process.env.DRAWBRIDGE_SERVE_FILE;
    else process.env.DRAWBRIDGE_SERVE_FILE = saved;
    await d.close();
  }
});

test('a spawn whose manifest has args runs with them and says the args it was given are not passed, as run says', async () => {
  const d = await startDaemon({ connectionFile: null, workers: 0, warmUp: 0 });
  const c = d.connection;
  try {
    const module = join(import.meta.dirname, '..', '..', 'build', 'guests', 'cli', 'argv_env.wasm');
    const answer = (await call(c, 'POST', '/v1/processes', {
      body: { module, args: ['typed', 'words'], manifest: 'args = ["prog", "from-manifest"]\n', closeStdin: true },
    })) as { process: ProcessInfo; warning?: string };
    assert.equal(answer.warning, "the manifest's args replace the 2 argument(s) given, which are not passed");
    await call(c, 'GET', `/v1/processes/${answer.process.id}/wait`);
    const out = Buffer.from((await call(c, 'GET', `/v1/processes/${answer.process.id}/stdout`)) as Uint8Array).toString();
    assert.match(out, /^argv\[0\]=prog\nargv\[1\]=from-manifest\n/);
    // Without typed args there is nothing to say.
    const quiet = (await call(c, 'POST', '/v1/processes', { body: { module, manifest: 'args = ["prog"]\n', closeStdin: true } })) as { warning?: string };
    assert.equal(quiet.warning, undefined);
  } finally {
    await d.close();
  }
});

test("a picoprocess that traps: its record has the trap's Wasm backtrace, as drawbridge run prints it", async () => {
  const d = await startDaemon({ connectionFile: null, workers: 1, warmUp: 0 });
  const c = d.connection;
  try {
    const module = join(import.meta.dirname, '..', '..', 'build', 'guests', 'wasi', 'trap.wasm');
    const { process: p } = (await call(c, 'POST', '/v1/processes', { body: { module, closeStdin: true } })) as { process: ProcessInfo };
    const { process: end } = (await call(c, 'GET', `/v1/processes/${p.id}/wait`)) as { process: ProcessInfo };
    assert.equal(end.exitCode, 134);
    assert.match(end.reason ?? '', /^trap: /);
    assert.ok(Array.isArray(end.backtrace) && end.backtrace.length > 0, JSON.stringify(end));
    assert.match(end.backtrace[0]!, /^ *0: +0x[0-9a-f]+ - </);
    // A program that ends well has none.
    const ok = (await call(c, 'POST', '/v1/processes', { body: { module: IDLE, closeStdin: true } })) as { process: ProcessInfo };
    const okEnd = (await call(c, 'GET', `/v1/processes/${ok.process.id}/wait`)) as { process: ProcessInfo };
    assert.equal(okEnd.process.backtrace, undefined);
  } finally {
    await d.close();
  }
});
