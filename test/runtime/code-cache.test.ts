// The on-disk code cache of eagerly compiled modules (src/runtime/code-cache.ts): a later
// process loads the machine code instead of compiling, and a damaged, foreign or untrusted
// entry is ignored (the module compiles as usual) instead of reaching V8, which would crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { withPadding } from '../support/wasm-padding.ts';
import { Reader, concat, leb, nameBytes, section, sections } from '../../src/wasm/binary.ts';
import { rebuild } from '../../src/wasm/add-imports.ts';

const NODE = process.execPath;
const SRC = resolve('src/runtime');
const EXIT_CODE = resolve('build/guests/runtime/exit_code.wasm');
const OTHER = resolve('build/guests/runtime/echo_upper.wasm');

/**
 * In a fresh process: what loadCompiled answers for `module` ('hit' or 'miss'), then compile
 * it through compileModule (which writes the cache on a miss) and run its exit status.
 */
function probe(cache: string, module: string, asHost = false): string {
  // asHost: first what a host service's pool does before it compiles (tuneV8ForPoolWorkers).
  const host = asHost ? `(await import(${JSON.stringify(resolve('src/server/pool/v8-tuning.ts'))})).tuneV8ForPoolWorkers();` : '';
  const script = `
    ${host}
    import { readFileSync } from 'node:fs';
    import { loadCompiled } from ${JSON.stringify(join(SRC, 'code-cache.ts'))};
    import { compileModule } from ${JSON.stringify(join(SRC, 'module-cache.ts'))};
    const bytes = readFileSync(${JSON.stringify(module)});
    const hit = loadCompiled(bytes);
    const m = hit ?? await compileModule(bytes, 'm');
    const names = WebAssembly.Module.exports(m).map((e) => e.name).sort().join(',');
    process.stdout.write((hit ? 'hit' : 'miss') + ' ' + names);
  `;
  return execFileSync(NODE, ['--input-type=module', '-e', script], { env: { ...process.env, DRAWBRIDGE_CACHE: cache }, encoding: 'utf8' });
}

function entries(cache: string): string[] {
  try {
    return readdirSync(join(cache, 'code')).filter((f) => f.endsWith('.code'));
  } catch {
    return [];
  }
}

test('the first process compiles and stores the code; the next one loads it', () => {
  const cache = mkdtempSync(join(tmpdir(), 'db-code-'));
  try {
    assert.equal(probe(cache, EXIT_CODE), 'miss _start,memory');
    assert.equal(entries(cache).length, 1);
    assert.equal(probe(cache, EXIT_CODE), 'hit _start,memory');
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('drawbridge run and a host service share entries: the GC flag a service sets is set wherever the cache is used', () => {
  // V8 accepts serialized code only under the flags it was compiled with; the pool's
  // --external-memory-accounted-in-global-limit is one V8 counts, so without it everywhere a
  // daemon missed every entry the CLI wrote (and compiled each new module with TurboFan).
  const cache = mkdtempSync(join(tmpdir(), 'db-code-'));
  try {
    assert.equal(probe(cache, EXIT_CODE), 'miss _start,memory');
    assert.equal(probe(cache, EXIT_CODE, true), 'hit _start,memory', 'a service loads what a run stored');
    rmSync(join(cache, 'code'), { recursive: true });
    assert.equal(probe(cache, EXIT_CODE, true), 'miss _start,memory');
    assert.equal(probe(cache, EXIT_CODE), 'hit _start,memory', 'a run loads what a service stored');
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('a damaged entry, or one copied to another module, is ignored and then replaced', () => {
  const cache = mkdtempSync(join(tmpdir(), 'db-code-'));
  try {
    probe(cache, EXIT_CODE);
    const [name] = entries(cache);
    const path = join(cache, 'code', name!);
    const good = readFileSync(path);
    // One byte of machine code flipped: V8 would run it; the payload hash refuses it.
    const bad = Buffer.from(good);
    bad[bad.length - 100]! ^= 0xff;
    writeFileSync(path, bad, { mode: 0o600 });
    assert.equal(probe(cache, EXIT_CODE), 'miss _start,memory');
    assert.equal(probe(cache, EXIT_CODE), 'hit _start,memory', 'the compile after a miss rewrote the entry');
    // Truncated.
    writeFileSync(path, good.subarray(0, 50), { mode: 0o600 });
    assert.equal(probe(cache, EXIT_CODE), 'miss _start,memory');
    // The entry of one module under the name of another (V8 crashes on other wire bytes).
    probe(cache, OTHER);
    const other = entries(cache).find((f) => f !== name)!;
    copyFileSync(path, join(cache, 'code', other));
    assert.equal(probe(cache, OTHER), 'miss _start,memory');
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('a cache folder that others can write is not trusted with machine code', () => {
  const cache = mkdtempSync(join(tmpdir(), 'db-code-'));
  try {
    probe(cache, EXIT_CODE);
    chmodSync(join(cache, 'code'), 0o777);
    assert.equal(probe(cache, EXIT_CODE), 'miss _start,memory');
    chmodSync(join(cache, 'code'), 0o700);
    const [name] = entries(cache);
    chmodSync(join(cache, 'code', name!), 0o666);
    assert.equal(probe(cache, EXIT_CODE), 'miss _start,memory');
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('DRAWBRIDGE_CODE_CACHE=0 neither reads nor writes the cache', () => {
  const cache = mkdtempSync(join(tmpdir(), 'db-code-'));
  try {
    const saved = process.env.DRAWBRIDGE_CODE_CACHE;
    process.env.DRAWBRIDGE_CODE_CACHE = '0';
    try {
      assert.equal(probe(cache, EXIT_CODE), 'miss _start,memory');
      assert.equal(probe(cache, EXIT_CODE), 'miss _start,memory');
      assert.deepEqual(entries(cache), []);
    } finally {
      if (saved === undefined) delete process.env.DRAWBRIDGE_CODE_CACHE;
      else process.env.DRAWBRIDGE_CODE_CACHE = saved;
    }
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('a module compiled before in the same process, lazily, is compiled anew before its code is stored', () => {
  const cache = mkdtempSync(join(tmpdir(), 'db-code-'));
  try {
    // V8 would otherwise hand back the lazy compile's code, and serializing that is fatal.
    const script = `
      import { readFileSync } from 'node:fs';
      import { compileModule } from ${JSON.stringify(join(SRC, 'module-cache.ts'))};
      const bytes = readFileSync(${JSON.stringify(EXIT_CODE)});
      await compileModule(bytes, 'lazy', { baseline: true });
      await compileModule(bytes, 'eager', { cache: false });
      process.stdout.write('stored');
    `;
    assert.equal(execFileSync(NODE, ['--input-type=module', '-e', script], { env: { ...process.env, DRAWBRIDGE_CACHE: cache }, encoding: 'utf8' }), 'stored');
    assert.equal(entries(cache).length, 1);
    assert.equal(probe(cache, EXIT_CODE), 'hit _start,memory');
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('code compiled under other eager-compile flags (an experiment) is kept apart', () => {
  const cache = mkdtempSync(join(tmpdir(), 'db-code-'));
  const saved = process.env.DRAWBRIDGE_WASM_EAGER_FLAGS;
  try {
    assert.equal(probe(cache, EXIT_CODE), 'miss _start,memory');
    process.env.DRAWBRIDGE_WASM_EAGER_FLAGS = '';
    assert.equal(probe(cache, EXIT_CODE), 'miss _start,memory', "not the default flags' entry");
    assert.equal(probe(cache, EXIT_CODE), 'hit _start,memory');
    assert.equal(entries(cache).length, 2);
  } finally {
    if (saved === undefined) delete process.env.DRAWBRIDGE_WASM_EAGER_FLAGS;
    else process.env.DRAWBRIDGE_WASM_EAGER_FLAGS = saved;
    rmSync(cache, { recursive: true, force: true });
  }
});

test('a big module that drawbridge run compiled lazily leaves its optimized code for the next run, which loads it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-code-big-'));
  const cache = join(dir, 'cache');
  try {
    // Past the size prepared at first run: read and compiled while the CLI loads (cli/early-compile.ts).
    const big = join(dir, 'big-hello.wasm');
    writeFileSync(big, withPadding(readFileSync('examples/hello.wasm'), 2 * 1024 * 1024));
    const run = () => execFileSync(NODE, ['bin/drawbridge.js', 'run', big, 'you'], { env: { ...process.env, DRAWBRIDGE_CACHE: cache }, encoding: 'utf8' });
    const first = run();
    assert.match(first, /^Hello, you, from a drawbridge picoprocess!/);
    const [name] = entries(cache);
    assert.ok(name, 'the first run stored an entry');
    // Keyed by the bytes the run compiles: the module with limits.memory written into it.
    const script = `
      import { readFileSync } from 'node:fs';
      import { loadCompiled } from ${JSON.stringify(join(SRC, 'code-cache.ts'))};
      import { limitModuleMemory } from ${JSON.stringify(resolve('src/wasm/memory-limit.ts'))};
      import { DEFAULT_LIMITS } from ${JSON.stringify(resolve('src/monitor/manifest/manifest.ts'))};
      const bytes = limitModuleMemory(readFileSync(${JSON.stringify(big)}), DEFAULT_LIMITS.memory);
      process.stdout.write(loadCompiled(bytes) ? 'hit' : 'miss');
    `;
    const probeBig = () => execFileSync(NODE, ['--input-type=module', '-e', script], { env: { ...process.env, DRAWBRIDGE_CACHE: cache }, encoding: 'utf8' });
    assert.equal(probeBig(), 'hit');
    const path = join(cache, 'code', name!);
    const stored = readFileSync(path);
    assert.equal(run(), first);
    assert.ok(readFileSync(path).equals(stored), 'a short run that loaded the entry leaves it as it was');
    // A damaged entry: the run compiles as usual and stores its code again.
    const bad = Buffer.from(stored);
    bad[bad.length - 100]! ^= 0xff;
    writeFileSync(path, bad, { mode: 0o600 });
    assert.equal(run(), first);
    assert.equal(probeBig(), 'hit');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a big module that exports one of its imports again, first: the run optimizes one of its own functions before storing its code (V8 ends the process for anything else)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-code-reexport-'));
  const cache = join(dir, 'cache');
  try {
    const hello = readFileSync('examples/hello.wasm');
    const exp = sections(hello).find((s) => s.id === 7)!;
    const r = new Reader(hello, exp.payload);
    const count = r.u32();
    // Function 0 is an import (a WASI call): exported again, ahead of _start.
    const again = Uint8Array.from([...nameBytes('imported_again'), 0x00, 0x00]);
    const payload = concat([Uint8Array.from(leb(count + 1)), again, hello.subarray(r.pos, exp.end)]);
    const big = join(dir, 'reexport.wasm');
    writeFileSync(big, withPadding(rebuild(hello, new Map([[7, section(7, payload)]])), 2 * 1024 * 1024));
    const run = spawnSync(NODE, ['bin/drawbridge.js', 'run', big, 'you'], { env: { ...process.env, DRAWBRIDGE_CACHE: cache }, encoding: 'utf8' });
    assert.equal(run.status, 0, `${run.signal ?? ''} ${run.stderr}`);
    assert.match(run.stdout, /^Hello, you, from a drawbridge picoprocess!/);
    assert.equal(entries(cache).length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
