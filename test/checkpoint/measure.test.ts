// Measured launch (docs/manifest.md, "Measurement"): `drawbridge measure` prints the digest of a
// module and of the canonical manifest; a manifest that pins module_sha256 runs that module only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = 'bin/drawbridge.js';
const COUNTER = 'build/guests/checkpoint/counter.wasm';
const SPIN = 'build/guests/checkpoint/spin.wasm';
const dir = mkdtempSync(join(tmpdir(), 'db-measure-'));
const env = { ...process.env, DRAWBRIDGE_CACHE: join(dir, 'cache') };
const cli = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, timeout: 60_000 });

test('drawbridge measure prints the module, manifest and launch digests; the same manifest in another spelling measures the same', () => {
  const a = join(dir, 'a.toml');
  const b = join(dir, 'b.toml');
  writeFileSync(a, `[env]\nB = "2"\nA = "1"\n[limits]\nmemory = "64MiB"\n[[mounts]]\nhost = "${dir}"\nguest = "/data"\nmode = "ro"\n`);
  writeFileSync(b, `[[mounts]]\nguest = "/data/"\nmode = "ro"\nhost = "${dir}/"\n[limits]\nmemory = 67108864\n[env]\nA = "1"\nB = "2"\n`);
  const ra = cli(['measure', COUNTER, '--manifest', a]);
  const rb = cli(['measure', '--manifest', b, COUNTER]);
  assert.equal(ra.status, 0, ra.stderr);
  const moduleHash = createHash('sha256').update(readFileSync(COUNTER)).digest('hex');
  assert.match(ra.stdout, new RegExp(`^module_sha256 ${moduleHash}\\nmanifest_sha256 [0-9a-f]{64}\\nmeasurement [0-9a-f]{64}\\n$`));
  assert.equal(rb.stdout, ra.stdout);
  const none = cli(['measure', COUNTER]);
  assert.notEqual(none.stdout, ra.stdout);
  const missing = cli(['measure']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^drawbridge measure: missing MODULE.wasm; usage: drawbridge measure MODULE.wasm/);
});

test('a manifest that pins module_sha256 runs that module and refuses any other', () => {
  const hash = createHash('sha256').update(readFileSync(COUNTER)).digest('hex');
  const pin = join(dir, 'pin.toml');
  writeFileSync(pin, `module_sha256 = "${hash}"\n`);
  const good = cli(['run', '--manifest', pin, COUNTER, '3', '0']);
  assert.equal(good.status, (0 + 1 + 4) % 7, good.stderr);
  const other = cli(['run', '--manifest', pin, SPIN]);
  assert.equal(other.status, 2, other.stderr);
  assert.match(
    other.stderr,
    new RegExp(
      `^drawbridge run: .*spin\\.wasm has sha256 [0-9a-f]{64}; the manifest pins module_sha256 = ${hash}: run the module it names, or change the pin \\(drawbridge measure\\)\\n$`,
    ),
  );
});
