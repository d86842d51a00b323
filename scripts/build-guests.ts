// Builds the C guest programs: every guests/**/*.c becomes build/guests/**/*.wasm.
//
// Run by `npm test` before the tests (node scripts/build-guests.ts). A file is
// compiled only when its .wasm is missing or older than its source or than any
// header in guests/include (the shared assert helpers and raw WASI imports), so a
// second run with nothing changed compiles nothing. Two compilers at a time: CI
// machines have few cores and clang on these small files is quick anyway.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const GUESTS = join(ROOT, 'guests');
const INCLUDE = join(GUESTS, 'include');
const OUT = join(ROOT, 'build', 'guests');
const PARALLEL = 2;
const INSTALL_HINT =
  'clang for wasm32-wasi is missing: run `apt-get install -y clang lld wasi-libc libclang-rt-dev-wasm32` (the checkpoint tests also need binaryen, the network tests curl and wrk; `bash .ci/run` installs them all)';

function walk(dir: string, ext: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...walk(path, ext));
    else if (entry.isFile() && entry.name.endsWith(ext)) found.push(path);
  }
  return found.sort();
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

function clangWorks(): boolean {
  const probe = spawnSync('clang', ['--version'], { stdio: 'ignore' });
  return probe.error === undefined && probe.status === 0;
}

function compile(src: string, out: string): Promise<{ ok: boolean; log: string }> {
  mkdirSync(dirname(out), { recursive: true });
  // A source may ask for extra flags on a line `// clang-flags: ...` (e.g. -mexec-model=reactor).
  const extra = /^\/\/ clang-flags: (.*)$/m.exec(readFileSync(src, 'utf8'))?.[1]?.trim().split(/\s+/) ?? [];
  // Names are stripped unless the source asks for another strip (-Wl,--strip-debug keeps the name section).
  const strip = extra.some((f) => f.startsWith('-Wl,--strip-')) ? [] : ['-Wl,--strip-all'];
  const args = ['--target=wasm32-wasi', '-O2', `-I${INCLUDE}`, ...strip, ...extra, src, '-o', out, '-lm'];
  return new Promise((resolve) => {
    const child = spawn('clang', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.on('error', (err) => resolve({ ok: false, log: String(err) }));
    child.on('close', (code) => resolve({ ok: code === 0, log }));
  });
}

async function main(): Promise<number> {
  const sources = walk(GUESTS, '.c');
  const headersTime = Math.max(-1, ...walk(INCLUDE, '.h').map(mtime));
  const todo = sources
    .map((src) => ({ src, out: join(OUT, relative(GUESTS, src)).replace(/\.c$/, '.wasm') }))
    .filter(({ src, out }) => {
      const built = mtime(out);
      return built < 0 || built < mtime(src) || built < headersTime;
    });
  if (todo.length === 0) return 0;
  if (!clangWorks()) {
    console.error(INSTALL_HINT);
    return 1;
  }
  let failed = 0;
  let next = 0;
  async function worker(): Promise<void> {
    while (next < todo.length) {
      const job = todo[next++]!;
      const { ok, log } = await compile(job.src, job.out);
      const name = relative(ROOT, job.src);
      if (ok) {
        console.log(`compiled ${name} -> ${relative(ROOT, job.out)}`);
      } else {
        failed++;
        // A wasm32 sysroot problem looks like a missing header or libc: say how to install it.
        const hint = /wasi|sysroot|crt1|libc|stdio\.h/.test(log) && /not found|No such file|cannot find/.test(log) ? `\n${INSTALL_HINT}` : '';
        console.error(`FAILED ${name}\n${log.trimEnd()}${hint}`);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(PARALLEL, todo.length) }, worker));
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
