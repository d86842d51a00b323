// Ruby 3.4 (@ruby/3.4-wasm-wasi, 30 MB, a module that already uses Asyncify itself, so it
// cannot be prepared for snapshots) checkpointed in log mode (docs/durable.md) from the command
// line alone, as a user does it: `drawbridge command-from-reactor` makes the reactor a command;
// `drawbridge run --durable` runs a script that reads lines from stdin and keeps state;
// `drawbridge checkpoint PID` takes it while it waits for its third line; `drawbridge restore`
// in a new process, fed the third and fourth lines, answers them with the state of the first
// two intact, and prints nothing twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LINES_SCRIPT, RUBY_INIT, rubyModulePath } from './programs/ruby-reactor.ts';

const BIN = 'bin/drawbridge.js';
const dir = mkdtempSync(join(tmpdir(), 'db-ruby-durable-'));
// Checkpoints are sealed with a host key, and logs go to the cache: this file's own, not the user's.
const env = { ...process.env, DRAWBRIDGE_KEY: join(dir, 'host.key'), DRAWBRIDGE_CACHE: join(dir, 'cache') };
const cli = (args: string[], input?: string) => spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', input });

test(
  'Ruby made a command, in log mode: checkpointed while it waits for its 3rd line, restored in a new process, answers the 4th with its state intact',
  { timeout: 240_000 },
  async (t) => {
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const ruby = join(dir, 'ruby.wasm');
    const made = cli(['command-from-reactor', rubyModulePath, '--entry', RUBY_INIT, '-o', ruby]);
    assert.equal(made.status, 0, made.stderr);
    const work = join(dir, 'w');
    mkdirSync(work);
    writeFileSync(join(work, 'script.rb'), LINES_SCRIPT);
    // ruby-init runs the file of -r while it reads its options, and never the -e program (which
    // keeps Ruby from reading a program from stdin).
    const rubyArgs = [ruby, '-EUTF-8', '-r/w/script.rb', '-e_=0'];

    const child = spawn(process.execPath, [BIN, 'run', `--durable=${join(dir, 'run.dlog')}`, '--dir', `${work}::/w`, ...rubyArgs], { env });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (err += d));
    const closed = new Promise<number | null>((r) => child.on('close', r));
    const waiters: (() => void)[] = [];
    child.stdout.on('data', (d: string) => {
      out += d;
      for (const w of waiters.splice(0)) w();
    });
    const until = async (text: string) => {
      while (!out.includes(text)) {
        const ended = closed.then(() => {
          throw new Error(`ended before "${text}": ${out}\n${err}`);
        });
        await Promise.race([new Promise<void>((r) => waiters.push(r)), ended]);
      }
    };
    await until('ready\n');
    child.stdin.write('alpha\n');
    await until('1: alpha');
    child.stdin.write('beta\n');
    await until('2: beta');
    const file = join(dir, 'ruby.ckpt');
    const ck = cli(['checkpoint', String(child.pid), '-o', file]);
    assert.equal(ck.status, 0, ck.stderr);
    assert.equal(await closed, 0, err);
    // What Ruby's String#sum gives: the sum of the bytes.
    const sum = (...words: string[]) =>
      words
        .join('')
        .split('')
        .reduce((n, c) => n + c.charCodeAt(0), 0);
    assert.equal(out, `ready\n1: alpha seen=alpha total=${sum('alpha')}\n2: beta seen=alpha,beta total=${sum('alpha', 'beta')}\n`);
    assert.equal(err, '');

    const shown = cli(['inspect', file]);
    assert.match(shown.stdout, /^mode: +log \(restore replays \d+ calls/m);
    assert.match(shown.stdout, /^ +mounts: +\/w \(rw\)$/m);

    const restored = cli(['restore', '--dir', `${work}::/w`, file], 'gamma\ndelta\n');
    assert.equal(restored.stderr, '');
    assert.equal(restored.status, 0);
    assert.equal(
      restored.stdout,
      `3: gamma seen=alpha,beta,gamma total=${sum('alpha', 'beta', 'gamma')}\n4: delta seen=alpha,beta,gamma,delta total=${sum('alpha', 'beta', 'gamma', 'delta')}\nbye after 4\n`,
    );
  },
);
