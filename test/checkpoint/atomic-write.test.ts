// Snapshot files are written through a temporary file created O_EXCL|O_NOFOLLOW under a random
// name beside the target, then renamed into place: a symbolic link planted where the temporary
// file used to be (its name was the target's plus the writer's pid) is never followed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/checkpoint/snapshot.ts';

test('a symlink planted at the old predictable temporary name is not followed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-atomic-'));
  const victim = join(dir, 'victim.txt');
  writeFileSync(victim, 'precious\n');
  const target = join(dir, 'out.snap');
  symlinkSync(victim, `${target}.${process.pid}.tmp`);
  writeFileAtomic(target, new TextEncoder().encode('snapshot bytes'));
  assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
  assert.equal(readFileSync(target, 'utf8'), 'snapshot bytes');
  assert.equal(statSync(target).mode & 0o777, 0o600);
  // Nothing is left behind but the planted link (untouched) and the two files.
  assert.deepEqual(readdirSync(dir).sort(), ['out.snap', `out.snap.${process.pid}.tmp`, 'victim.txt'].sort());
});
