// The frame-buffer examples build as their first lines say, with clang --target=wasm32-wasi -O2
// and no other flag (the header is found relative to the source), without a warning; the built
// modules in examples/ import the fb functions and nothing of the drawbridge module besides.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clangMissing } from '../support/toolchain.ts';

for (const name of ['life', 'paint']) {
  test(`examples/${name}.c builds with clang --target=wasm32-wasi -O2, as its comment says`, { skip: clangMissing() }, () => {
    const source = readFileSync(`examples/${name}.c`, 'utf8');
    assert.match(source, new RegExp(`Built with: clang --target=wasm32-wasi -O2 examples/${name}.c -o examples/${name}.wasm`));
    const out = join(mkdtempSync(join(tmpdir(), 'db-fb-example-')), `${name}.wasm`);
    const r = spawnSync('clang', ['--target=wasm32-wasi', '-O2', '-Wall', `examples/${name}.c`, '-o', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
  });

  test(`examples/${name}.wasm imports the frame-buffer functions of the drawbridge module`, async () => {
    const module = await WebAssembly.compile(readFileSync(`examples/${name}.wasm`));
    const drawbridge = WebAssembly.Module.imports(module)
      .filter((i) => i.module === 'drawbridge')
      .map((i) => i.name)
      .sort();
    assert.deepEqual(drawbridge, ['fb_export', 'fb_update', 'input_wait']);
  });
}
