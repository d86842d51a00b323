// The WASI preview1 conformance suite: C guests (guests/wasi/*.c) run through
// drawbridge's runCommand and compared with what wasmtime does.
//
// Each test/wasi/NAME.json is a spec in the wasi-testsuite format:
//   { "args": [...], "env": {...}, "root": "fixtures/DIR" | null, "stdin"?: "...",
//     "exit_code": N, "stdout": "exact expected stdout" }
// The program is build/guests/wasi/PROGRAM.wasm where PROGRAM is NAME up to its first
// dot, so one program can have several specs (proc_exit.42.json, hostile.whence.json).
// The root fixture is copied to a fresh temp dir per run and pre-opened as "/" (so a
// program may write), stdout and the exit status must match exactly. The expected
// outputs were recorded from wasmtime 49 (see docs/conformance.md).
//
// Run one spec: node --test --test-name-pattern='^paths$' test/libos/wasi-conformance.test.ts
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand } from '../../src/runtime/run.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SPECS = join(ROOT, 'test', 'wasi');
const PROGRAMS = join(ROOT, 'build', 'guests', 'wasi');

interface Spec {
  args: string[];
  env: Record<string, string>;
  root: string | null;
  stdin?: string;
  exit_code: number;
  stdout: string;
}

function readSpec(file: string): Spec {
  const spec = JSON.parse(readFileSync(join(SPECS, file), 'utf8')) as Spec;
  assert.ok(Array.isArray(spec.args), `${file}: args must be an array`);
  assert.equal(typeof spec.exit_code, 'number', `${file}: exit_code must be a number`);
  assert.equal(typeof spec.stdout, 'string', `${file}: stdout must be a string`);
  return spec;
}

const specFiles = readdirSync(SPECS)
  .filter((f) => f.endsWith('.json'))
  .sort();
const programOf = (specFile: string): string => specFile.replace(/\.json$/, '').split('.')[0]!;

before(() => {
  // Cheap when nothing changed: the build script compiles only stale programs.
  const build = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-guests.ts')], { encoding: 'utf8' });
  assert.equal(build.status, 0, `guest build failed:\n${build.stdout}${build.stderr}`);
});

test('every guest program has a spec and every spec a program', () => {
  const sources = readdirSync(join(ROOT, 'guests', 'wasi'))
    .filter((f) => f.endsWith('.c'))
    .map((f) => f.slice(0, -2))
    .sort();
  const specced = [...new Set(specFiles.map(programOf))].sort();
  assert.deepEqual(specced, sources);
});

for (const file of specFiles) {
  const name = file.replace(/\.json$/, '');
  const program = programOf(file);
  test(name, async () => {
    const spec = readSpec(file);
    const wasm = join(PROGRAMS, `${program}.wasm`);
    assert.ok(existsSync(wasm), `${wasm} is missing: run node scripts/build-guests.ts`);
    const tmp = mkdtempSync(join(tmpdir(), `wasi-${name}-`));
    try {
      if (spec.root !== null) cpSync(join(SPECS, spec.root), tmp, { recursive: true, verbatimSymlinks: true });
      else mkdirSync(tmp, { recursive: true });
      const result = await runCommand({
        module: wasm,
        args: [`${program}.wasm`, ...spec.args],
        env: spec.env,
        dirs: [{ host: tmp, guest: '/' }],
        stdin: spec.stdin === undefined ? undefined : new TextEncoder().encode(spec.stdin),
        capture: true,
      });
      const stdout = new TextDecoder().decode(result.stdout);
      const stderr = new TextDecoder().decode(result.stderr);
      assert.equal(stdout, spec.stdout, `${name}: stdout differs (stderr: ${stderr.trim() || 'empty'})`);
      assert.equal(result.exitCode, spec.exit_code, `${name}: exit code (stderr: ${stderr.trim() || 'empty'})`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
}
