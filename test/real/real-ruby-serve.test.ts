// Ruby 3.4 (@ruby/3.4-wasm-wasi, made a command by `drawbridge command-from-reactor`) in log
// mode in `drawbridge serve`, driven as a user would: `drawbridge spawn --durable` with the
// script's folder mounted, its stdin fed through the API, `ps`, `move`. Ruby's module is too
// big to prepare, so it cannot be preempted: it runs on a worker thread of its own, and moves
// to a new one of its own, its log replayed there. The script reads lines and keeps state:
// after the move it answers its third and fourth lines with the state of all the earlier
// ones, and nothing it printed is printed again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon } from '../../src/server/daemon.ts';
import { call } from '../../src/server/client.ts';
import { main } from '../../src/cli/main.ts';
import type { WorkerInfo } from '../../src/server/pool/pool.ts';
import type { ProcessInfo } from '../../src/server/supervisor.ts';
import { rubyCommand } from './programs/ruby-command.ts';
import { LINES_SCRIPT } from './programs/ruby-reactor.ts';

/** How long any one wait may take: Ruby starts, and replays, in seconds. */
const WAIT_MS = 60_000;

const dir = mkdtempSync(join(tmpdir(), 'db-ruby-serve-'));
// Checkpoints are sealed with a host key: this file's own, not the user's.
process.env.DRAWBRIDGE_KEY = join(dir, 'host.key');

test(
  'Ruby in log mode in serve: spawned --durable, ps shows log, moved to a new worker while it waits for its 3rd line, answers the 3rd and 4th with its state intact',
  { timeout: 180_000 },
  async (t) => {
    const ruby = rubyCommand();
    const work = join(dir, 'w');
    mkdirSync(work);
    writeFileSync(join(work, 'script.rb'), LINES_SCRIPT);
    const logs = join(dir, 'logs');
    const file = join(dir, 'serve.json');
    const d = await startDaemon({ workers: 2, warmUp: 0, socket: join(dir, 'api.sock'), connectionFile: file, logFolder: logs });
    t.after(async () => {
      await d.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const cli = async (argv: string[]) => {
      process.env.DRAWBRIDGE_SERVE_FILE = file;
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(argv, { out: (l) => void out.push(l + '\n'), err: (l) => void err.push(l + '\n') });
      return { code, out: out.join(''), err: err.join('') };
    };
    const info = async (id: number) => ((await call(d.connection, 'GET', `/v1/processes/${id}`)) as { process: ProcessInfo }).process;
    const output = async (id: number, which: 'stdout' | 'stderr') =>
      Buffer.from((await call(d.connection, 'GET', `/v1/processes/${id}/${which}`)) as Uint8Array).toString();
    const feed = (id: number, text: string, close = false) =>
      call(d.connection, 'POST', `/v1/processes/${id}/stdin${close ? '?close=1' : ''}`, { raw: Buffer.from(text) });
    const workers = async () => ((await call(d.connection, 'GET', '/v1/workers')) as { workers: WorkerInfo[] }).workers;
    /** Until `id` has printed `text`; a failure naming what it printed when it ends first or the wait runs out. */
    const printed = async (id: number, text: string) => {
      const deadline = Date.now() + WAIT_MS;
      for (;;) {
        const p = await info(id);
        // Read after its state: all it printed before it ended is there.
        const out = await output(id, 'stdout');
        if (out.includes(text)) return;
        if (p.state !== 'running' && p.state !== 'starting') throw new Error(`${id} ended (${p.reason}) before printing "${text}": ${out}`);
        if (Date.now() > deadline) throw new Error(`${id} did not print "${text}" in ${WAIT_MS} ms: ${out}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };

    const until = async (f: () => Promise<boolean>, what: string) => {
      const deadline = Date.now() + WAIT_MS;
      while (!(await f())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };

    const spawned = await cli(['spawn', '--durable', '--dir', `${work}::/w`, ruby, '-EUTF-8', '-r/w/script.rb', '-e_=0']);
    assert.equal(spawned.code, 0, spawned.err);
    const id = Number(spawned.out);
    await printed(id, 'ready\n');
    await feed(id, 'alpha\n');
    await printed(id, '1: alpha');
    await feed(id, 'beta\n');
    await printed(id, '2: beta');

    // Too big to prepare: log mode, on a worker thread of its own (not one of the 2 pool workers).
    const before = await info(id);
    assert.equal(before.capture, 'log');
    assert.ok(before.worker! >= 2, `a worker of its own: ${before.worker}`);
    const ps = await cli(['ps']);
    assert.equal(ps.code, 0, ps.err);
    assert.match(ps.out, new RegExp(`^${id}\\s+running\\s+-\\s+-\\s+${before.worker}\\s+log\\s`, 'm'));
    const oldLogs = readdirSync(logs);
    assert.equal(oldLogs.length, 1, oldLogs.join(' '));

    // A pool worker cannot take it (it would hold that worker's loop): refused, saying where it can go.
    const refused = await cli(['move', String(id), '--worker', '0']);
    assert.equal(refused.code, 1);
    assert.match(
      refused.err,
      /cannot move to worker 0: it cannot be preempted \(its module is not prepared\), so it moves to a worker thread of its own \(move without --worker\)\n$/,
    );

    // Moved while it waits for its 3rd line: a new worker thread of its own, the old one gone.
    const moved = await cli(['move', String(id)]);
    assert.equal(moved.code, 0, moved.err);
    const after = await info(id);
    assert.notEqual(after.worker, before.worker);
    assert.equal(moved.out, `moved ${id} to worker ${after.worker}\n`);
    assert.equal(after.state, 'running');
    assert.equal(after.capture, 'log');
    // The old thread ends once it has told the end of the old placement, and that placement's log goes with it.
    await until(async () => {
      const own = (await workers()).filter((w) => w.dedicated);
      return own.length === 1 && own[0]!.index === after.worker && own[0]!.processes === 1;
    }, 'the old worker thread to end');
    await until(async () => {
      const now = readdirSync(logs);
      return now.length === 1 && now[0] !== oldLogs[0];
    }, 'the old log to go');

    await feed(id, 'gamma\n');
    await printed(id, '3: gamma');
    await feed(id, 'delta\n', true);
    await printed(id, 'bye after');
    const end = (await Promise.race([
      call(d.connection, 'GET', `/v1/processes/${id}/wait`),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`${id} did not end in ${WAIT_MS} ms`)), WAIT_MS).unref()),
    ])) as { process: ProcessInfo };
    assert.equal(end.process.reason, 'exited 0');

    // What Ruby's String#sum gives: the sum of the bytes.
    const sum = (...words: string[]) => Buffer.from(words.join('')).reduce((n, b) => n + b, 0);
    assert.equal(
      await output(id, 'stdout'),
      'ready\n' +
        `1: alpha seen=alpha total=${sum('alpha')}\n` +
        `2: beta seen=alpha,beta total=${sum('alpha', 'beta')}\n` +
        `3: gamma seen=alpha,beta,gamma total=${sum('alpha', 'beta', 'gamma')}\n` +
        `4: delta seen=alpha,beta,gamma,delta total=${sum('alpha', 'beta', 'gamma', 'delta')}\n` +
        'bye after 4\n',
    );
    assert.equal(await output(id, 'stderr'), '');
    assert.deepEqual(readdirSync(logs), [], 'its log is removed when it ends');
    assert.deepEqual(
      (await workers()).filter((w) => w.dedicated),
      [],
      'its worker thread ends with it',
    );
  },
);
