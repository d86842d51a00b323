// A real program nobody here wrote: @yowasp/clang's LLVM (a 75 MB WASI command) compiles and
// links a C program inside drawbridge, one picoprocess per job, the way a driver that cannot
// spawn would do it: `clang -###` lists the jobs, then cc1 and wasm-ld each run on their
// own. The program it produced then runs inside drawbridge too. Helpers and the reasons for
// argv[0], the /usr and /tmp mounts are in test/real/programs/yowasp-clang.ts.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCommand, type RunResult } from '../../src/runtime/run.ts';
import { LLVM_ARGV0, llvmModule, llvmModulePath, parseJobs, yowaspUsrDir } from './programs/yowasp-clang.ts';
import { isWaitsOnly, prepareModule } from '../../src/runtime/prepare.ts';

const HEADER = `#define GREETING "compiled inside drawbridge"\nint triple(int x);\n`;

// Exercises the preprocessor (a quoted include found next to the source), libc (qsort,
// printf with %s/%d/%.2f, fopen/fprintf to a mounted dir), argv and stdin.
const PROGRAM = `#include <stdio.h>
#include <stdlib.h>
#include "greet.h"

int triple(int x) { return 3 * x; }
static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

int main(int argc, char **argv) {
  int v[16], n = 0, sum = 0;
  while (n < 16 && scanf("%d", &v[n]) == 1) sum += v[n++];
  qsort(v, n, sizeof v[0], cmp);
  printf("%s: argc=%d arg1=%s\\n", GREETING, argc, argc > 1 ? argv[1] : "-");
  printf("sorted:");
  for (int i = 0; i < n; i++) printf(" %d", v[i]);
  printf("\\nsum=%d triple=%d mean=%.2f\\n", sum, triple(sum), n ? (double)sum / n : 0.0);
  FILE *f = fopen("/out/result.txt", "w");
  if (!f) { perror("fopen"); return 2; }
  fprintf(f, "sum %d\\n", sum);
  fclose(f);
  return n == 0 ? 1 : 0;
}
`;

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

let work: string; // the source and the linked program, mounted at /work
let tmp: string; // clang's temporary files (the object file between cc1 and wasm-ld), at /tmp
let out: string; // where the compiled program writes, at /out
let dirs: { host: string; guest: string; readOnly?: boolean }[];

before(() => {
  work = mkdtempSync(join(tmpdir(), 'drawbridge-clang-work-'));
  tmp = mkdtempSync(join(tmpdir(), 'drawbridge-clang-tmp-'));
  out = mkdtempSync(join(tmpdir(), 'drawbridge-clang-out-'));
  writeFileSync(join(work, 'greet.h'), HEADER);
  writeFileSync(join(work, 'main.c'), PROGRAM);
  dirs = [
    { host: yowaspUsrDir(), guest: '/usr', readOnly: true },
    { host: work, guest: '/work' },
    { host: tmp, guest: '/tmp' },
  ];
});

after(() => {
  for (const d of [work, tmp, out]) rmSync(d, { recursive: true, force: true });
});

/** One LLVM tool invocation as its own picoprocess (the module compiles once per process). */
function llvm(args: string[]): Promise<RunResult> {
  return runCommand({ module: llvmModule(), args: [LLVM_ARGV0, ...args], dirs, capture: true });
}

function explain(r: RunResult): string {
  return `exit ${r.exitCode}${r.error ? ` (${r.error})` : ''}\nstdout: ${text(r.stdout)}\nstderr: ${text(r.stderr)}`;
}

test('clang from @yowasp/clang compiles and links C inside drawbridge, one picoprocess per job', { timeout: 240_000 }, async (t) => {
  let jobs: string[][] = [];

  await t.test('clang -### prints the cc1 and wasm-ld jobs', async () => {
    const r = await llvm(['clang', '-###', '-O2', '/work/main.c', '-o', '/work/main.wasm']);
    assert.equal(r.exitCode, 0, explain(r));
    const parsed = parseJobs(text(r.stderr));
    assert.ok(parsed, `no job list in:\n${text(r.stderr)}`);
    jobs = parsed;
    assert.equal(jobs.length, 2, JSON.stringify(jobs));
    const [cc1, ld] = jobs as [string[], string[]];
    assert.deepEqual(cc1.slice(0, 2), ['clang', '-cc1']);
    assert.ok(cc1.includes('/work/main.c'));
    // The sysroot and resource dir are where we mounted the package's resources.
    assert.equal(cc1[cc1.indexOf('-resource-dir') + 1], '/usr');
    assert.equal(ld[0], 'wasm-ld');
    assert.equal(ld[ld.indexOf('-o') + 1], '/work/main.wasm');
    // The object file goes through /tmp: cc1 writes it, wasm-ld reads it.
    const obj = cc1[cc1.indexOf('-o') + 1]!;
    assert.match(obj, /^\/tmp\/main-[0-9a-f]+\.o$/);
    assert.ok(ld.includes(obj));
  });

  await t.test('cc1 compiles main.c (and its quoted include) to an object file under /tmp', async () => {
    const r = await llvm(jobs[0]!);
    assert.equal(r.exitCode, 0, explain(r));
    assert.equal(text(r.stderr), '', 'no warnings or errors');
    const objs = readdirSync(tmp).filter((f) => f.endsWith('.o'));
    assert.equal(objs.length, 1, `objects in /tmp: ${objs.join(' ')}`);
    const obj = readFileSync(join(tmp, objs[0]!));
    assert.deepEqual([...obj.subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d], 'a Wasm object file');
  });

  await t.test('wasm-ld links it with crt1, libc and the builtins into a WASI command', async () => {
    const r = await llvm(jobs[1]!);
    assert.equal(r.exitCode, 0, explain(r));
    const wasm = readFileSync(join(work, 'main.wasm'));
    const module = await WebAssembly.compile(wasm);
    const exports = WebAssembly.Module.exports(module).map((e) => e.name);
    assert.ok(exports.includes('_start'), `exports: ${exports.join(' ')}`);
    const imports = new Set(WebAssembly.Module.imports(module).map((i) => i.module));
    assert.deepEqual([...imports], ['wasi_snapshot_preview1']);
  });

  await t.test('the program clang produced runs inside drawbridge with the right output', async () => {
    const r = await runCommand({
      module: join(work, 'main.wasm'),
      args: ['main', 'first-arg'],
      dirs: [{ host: out, guest: '/out' }],
      stdin: new TextEncoder().encode('5 3 9 1\n7\n'),
      capture: true,
    });
    assert.equal(r.exitCode, 0, explain(r));
    assert.equal(text(r.stdout), 'compiled inside drawbridge: argc=2 arg1=first-arg\nsorted: 1 3 5 7 9\nsum=25 triple=75 mean=5.00\n');
    assert.equal(text(r.stderr), '');
    assert.equal(readFileSync(join(out, 'result.txt'), 'utf8'), 'sum 25\n');
  });

  await t.test('the program exits 1 on empty input, as it was written to', async () => {
    const r = await runCommand({ module: join(work, 'main.wasm'), args: ['main'], dirs: [{ host: out, guest: '/out' }], capture: true });
    assert.equal(r.exitCode, 1, explain(r));
    assert.match(text(r.stdout), /^sorted:\nsum=0 triple=0 mean=0\.00\n$/m);
  });

  await t.test('a compile error comes back as clang diagnostics and exit 1, not a host failure', async () => {
    writeFileSync(join(work, 'bad.c'), 'int main(void) { return undefined_name; }\n');
    const listed = await llvm(['clang', '-###', '/work/bad.c', '-o', '/work/bad.wasm']);
    assert.equal(listed.exitCode, 0, explain(listed));
    const [cc1] = parseJobs(text(listed.stderr)) ?? [];
    assert.ok(cc1);
    const r = await llvm(cc1);
    assert.equal(r.exitCode, 1, explain(r));
    assert.match(text(r.stderr), /bad\.c:1:25: error: use of undeclared identifier 'undefined_name'/);
    assert.equal(existsSync(join(work, 'bad.wasm')), false);
  });

  await t.test('clang -### for a missing input reports the error instead of a job list', async () => {
    const r = await llvm(['clang', '-###', '/work/missing.c']);
    assert.equal(r.exitCode, 1, explain(r));
    assert.match(text(r.stderr), /no such file or directory: '\/work\/missing\.c'/);
    assert.equal(parseJobs(text(r.stderr)), null);
  });
});

// Waits-only preparation of the 75 MB module (docs/snapshot.md, "Preparing big modules"): the
// instrumentation takes seconds; the time left is for V8 to compile clang three times.
const PREPARE_CLANG_MS = 10 * 60_000;

test(
  'clang prepared waits-only writes the same object file, and is checkpointed and restored while it reads its source from stdin',
  { timeout: PREPARE_CLANG_MS },
  async () => {
    const env = { ...process.env, DRAWBRIDGE_KEY: join(mkdtempSync(join(tmpdir(), 'db-clang-key-')), 'host.key') };
    const prepared = await prepareModule(llvmModule(), { waitsOnly: true });
    assert.ok(isWaitsOnly(prepared));
    // The source on stdin: cc1 reads it before anything else, so a checkpoint finds it waiting there.
    const source = new TextEncoder().encode(HEADER + PROGRAM.replace('#include "greet.h"\n', ''));
    const listed = await llvm(['clang', '-###', '-O2', '-c', '-x', 'c', '-', '-o', '/work/stdin.o']);
    assert.equal(listed.exitCode, 0, explain(listed));
    const [cc1] = parseJobs(text(listed.stderr)) ?? [];
    assert.ok(cc1, text(listed.stderr));
    const object = join(work, 'stdin.o');
    const compile = async (module: Uint8Array) => {
      rmSync(object, { force: true });
      const r = await runCommand({ module, args: [LLVM_ARGV0, ...cc1], dirs, stdin: source, capture: true });
      assert.equal(r.exitCode, 0, explain(r));
      return readFileSync(object);
    };
    const plain = await compile(llvmModule());
    assert.deepEqual([...plain.subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d]);
    assert.ok((await compile(prepared)).equals(plain), 'the prepared module writes the same object file');

    // Through the CLI, which finds the prepared module in the cache: checkpointed while cc1 waits
    // for its source, restored in a new process that gets the source on its stdin.
    rmSync(object, { force: true });
    const mounts = dirs.flatMap((d) => ['--dir', `${d.host}::${d.guest}`]);
    const run = spawn(process.execPath, ['bin/drawbridge.js', 'run', ...mounts, '--', llvmModulePath, ...cc1], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const snap = join(work, 'cc1.snap');
    let runErr = '';
    run.stderr.on('data', (d: Buffer) => (runErr += d.toString()));
    // The run reads and compiles the 140 MB prepared module before it listens for checkpoints.
    const checkpoint = () => spawnSync(process.execPath, ['bin/drawbridge.js', 'checkpoint', String(run.pid), '-o', snap], { encoding: 'utf8', env });
    let ck = checkpoint();
    for (let tries = 0; ck.status !== 0 && /\.sock/.test(ck.stderr) && run.exitCode === null && tries < 60; tries++) {
      await new Promise((r) => setTimeout(r, 1000));
      ck = checkpoint();
    }
    assert.equal(ck.status, 0, `${ck.stderr}\nrun: ${runErr}`);
    assert.equal(await new Promise((r) => run.on('close', r)), 0);
    assert.equal(existsSync(object), false, 'nothing written before the checkpoint');
    const restored = spawnSync(process.execPath, ['bin/drawbridge.js', 'restore', ...mounts, snap], { input: source, encoding: 'utf8', env });
    assert.equal(restored.status, 0, restored.stderr);
    assert.ok(readFileSync(object).equals(plain), 'the restored cc1 writes the same object file');
  },
);
