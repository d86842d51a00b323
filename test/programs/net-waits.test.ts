// Waiting right on the network, end to end: a C guest (guests/net/waits.c) under
// `drawbridge run --listen 127.0.0.1:0` gets a connection from a Node client of this test and
// answers its line, whether it blocks in accept() or spins on EAGAIN (non-blocking accept,
// non-blocking read, poll with timeout 0). A host that waits on the wrong readiness, or lets a
// spinning guest starve its event loop, never takes the connection or never delivers the
// bytes: the client then gives up after CLIENT_TIMEOUT_MS and the test fails, bounded.

import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
// build/guests by default; another folder of built guests may be named for a local run.
const GUESTS = process.env.DRAWBRIDGE_GUESTS_DIR ?? join(ROOT, 'build/guests');
const WAITS = join(GUESTS, 'net/waits.wasm');
const CLI = `const { main } = await import(${JSON.stringify(join(ROOT, 'src/cli/main.ts'))}); process.exit(await main(process.argv.slice(1)));`;
const START_TIMEOUT_MS = 20_000;
const CLIENT_TIMEOUT_MS = 10_000;
const RETRY_MS = 100;

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * A port free on 127.0.0.1 a moment ago (the guest's listener must not print it first: waits.c says why),
 * taken below the kernel's ephemeral range. A port the kernel handed out for port 0 goes back to the pool
 * when freed, and another test may still connect to the one it had (to see a refusal, or a server of its
 * own just closed): this guest would then accept that client and leave ours to be reset.
 */
async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port in 20000-31999 on 127.0.0.1');
}

/** Run the guest in `mode` on 127.0.0.1:port; resolves once it printed "ready". */
function start(mode: string, port: number, prepared: boolean): Promise<Run> {
  // DRAWBRIDGE_CHECKPOINT=0 runs the module as it is: no tick counter, so no preemption
  // yields the event loop for it; only the library OS's waits can.
  const env = { ...process.env, DRAWBRIDGE_CHECKPOINT: prepared ? '1' : '0' };
  const args = ['--input-type=module', '-e', CLI, 'run', '--listen', `127.0.0.1:${port}`, WAITS, mode];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`guest did not start: ${out}`)), START_TIMEOUT_MS);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('ready\n')) {
        clearTimeout(timer);
        resolve({ child, output: () => out, exited });
      }
    });
    void exited.then((code) => reject(new Error(`guest exited (${code}) before it was ready: ${out}`)));
  });
}

/** Connect (again while refused: the listen may not have settled), send `line`, read until the peer closes. */
function talk(port: number, line: string): Promise<string> {
  const deadline = Date.now() + CLIENT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    let got = '';
    const attempt = (): void => {
      const sock = net.connect(port, '127.0.0.1');
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`no answer in ${CLIENT_TIMEOUT_MS} ms (got ${JSON.stringify(got)})`));
      }, deadline - Date.now());
      sock.on('connect', () => sock.write(line + '\n'));
      sock.on('data', (c) => (got += c.toString()));
      sock.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (e.code === 'ECONNREFUSED' && Date.now() + RETRY_MS < deadline) setTimeout(attempt, RETRY_MS);
        else reject(e);
      });
      sock.on('close', (hadError) => {
        if (hadError) return;
        clearTimeout(timer);
        resolve(got);
      });
    };
    attempt();
  });
}

async function roundTrip(mode: string, prepared: boolean): Promise<void> {
  const port = await freePort();
  const run = await start(mode, port, prepared);
  try {
    const answer = await talk(port, `hello ${mode}`).catch(async (e: Error) => {
      // What the guest said, and how it ended, is what explains a failed talk.
      const code = await Promise.race([run.exited, new Promise((r) => setTimeout(() => r('still running'), 2000))]);
      throw new Error(`${e.message}; the guest (${String(code)}) printed: ${JSON.stringify(run.output())}`);
    });
    assert.equal(answer, `ok hello ${mode}\n`, run.output());
    assert.equal(await run.exited, 0, run.output());
    assert.match(run.output(), new RegExp(`got hello ${mode}\\n`));
  } finally {
    if (run.child.exitCode === null) run.child.kill('SIGKILL');
  }
}

describe('waiting on the network (guests/net/waits.c under run --listen)', () => {
  before(() => assert.ok(existsSync(WAITS), `guest not built (${WAITS}): node scripts/build-guests.ts`));

  for (const prepared of [false, true]) {
    const how = prepared ? 'prepared (preempted by ticks)' : 'unprepared (no ticks)';
    it(`${how}: a blocking accept() on a pre-opened listener takes a loopback connection`, () => roundTrip('accept', prepared));
    it(`${how}: a guest spinning on a non-blocking accept() (EAGAIN) still gets the connection`, () => roundTrip('spin-accept', prepared));
    it(`${how}: a guest spinning on a non-blocking read() (EAGAIN) still sees the bytes arrive`, () => roundTrip('spin-read', prepared));
    it(`${how}: a guest spinning on poll() with timeout 0 still sees its socket become readable`, () => roundTrip('spin-poll', prepared));
  }
});
