// Node built-ins loaded on first use (src/host/node/lazy-builtins.ts): isTerminal answers
// without loading node:tty (and node:net behind it) for what is never a terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTerminal } from '../../src/host/node/lazy-builtins.ts';

test('isTerminal: /dev/null, a file and a closed descriptor are not terminals', () => {
  for (const path of ['/dev/null', '/dev/zero', tmpdir()]) {
    const fd = openSync(path, 'r');
    try {
      assert.equal(isTerminal(fd), false, path);
    } finally {
      closeSync(fd);
    }
  }
  assert.equal(isTerminal(1_000_000), false);
});

test('isTerminal: /dev/null as stdin does not load node:tty', { skip: process.platform !== 'linux' && 'Linux device numbers' }, () => {
  const script = `
    const { isTerminal } = await import(${JSON.stringify(join(import.meta.dirname, '../../src/host/node/lazy-builtins.ts'))});
    const answer = isTerminal(0);
    console.log(JSON.stringify({ answer, tty: process.moduleLoadList.includes('NativeModule tty') }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { answer: false, tty: false });
});
