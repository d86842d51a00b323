// Ruby 3.4 (@ruby/3.4-wasm-wasi, 30 MB, a module that already uses Asyncify itself, so it
// cannot be prepared for snapshots) checkpointed in log mode (docs/durable.md): a script that
// reads lines from stdin and keeps state runs with a durable log in its own process
// (programs/ruby-durable.ts); `drawbridge checkpoint PID` takes it while it waits for its third
// line; a new process restores it from the file and feeds it the third and fourth lines: it
// answers them with the state of the first two intact, and prints nothing twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = 'bin/drawbridge.js';
const HELPER = 'test/real/programs/ruby-durable.ts';
const dir = mkdtempSync(join(tmpdir(), 'db-ruby-durable-'));
const env = { ...process.env, DRAWBRIDGE_KEY: join(dir, 'host.key') };

const SCRIPT = `$stdout.sync = true
seen = []
total = 0
puts "ready"
while (line = $stdin.gets)
  line = line.chomp
  seen << line
  total += line.sum
  puts "#{seen.size}: #{line} seen=#{seen.join(",")} total=#{total}"
end
puts "bye after #{seen.size}"
`;

test(
  'Ruby in log mode: checkpointed while it waits for its 3rd line, restored in a new process, answers the 4th with its state intact',
  { timeout: 240_000 },
  async () => {
    writeFileSync(join(dir, 'script.rb'), SCRIPT);
    const child = spawn(process.execPath, [HELPER, 'run', dir, join(dir, 'run.dlog')], { env });
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
    const ck = spawnSync(process.execPath, [BIN, 'checkpoint', String(child.pid), '-o', file], { env, encoding: 'utf8' });
    assert.equal(ck.status, 0, ck.stderr);
    assert.equal(await closed, 0, err);
    // What Ruby's String#sum gives: the sum of the bytes.
    const sum = (...words: string[]) =>
      words
        .join('')
        .split('')
        .reduce((n, c) => n + c.charCodeAt(0), 0);
    assert.equal(out, `ready\n1: alpha seen=alpha total=${sum('alpha')}\n2: beta seen=alpha,beta total=${sum('alpha', 'beta')}\n`);

    const shown = spawnSync(process.execPath, [BIN, 'inspect', file], { env, encoding: 'utf8' });
    assert.match(shown.stdout, /^mode: +log \(restore replays \d+ calls/m);
    assert.match(shown.stdout, /^ +mounts: +\/w \(rw\)$/m);

    const restored = spawnSync(process.execPath, [HELPER, 'restore', dir, file, join(dir, 'restored.dlog')], {
      env,
      encoding: 'utf8',
      input: 'gamma\ndelta\n',
    });
    assert.equal(restored.stderr, '');
    assert.equal(restored.status, 0);
    assert.equal(
      restored.stdout,
      `3: gamma seen=alpha,beta,gamma total=${sum('alpha', 'beta', 'gamma')}\n4: delta seen=alpha,beta,gamma,delta total=${sum('alpha', 'beta', 'gamma', 'delta')}\nbye after 4\n`,
    );
  },
);
