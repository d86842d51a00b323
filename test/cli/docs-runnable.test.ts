// The docs cannot drift from the code: every ```sh runnable block of the README and of docs/*.md
// runs here, each in an empty folder with the checkout first on PATH (so `drawbridge` is the
// checkout's ./drawbridge), under bash -e; its `#>` lines are output it must print, in order.
// The quick start's command runs as written, from the checkout.
// `needs=NAME` names a tool the block needs; without it the block is skipped with the package.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clangMissing } from '../support/toolchain.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const BLOCK_TIMEOUT_MS = 120_000;

interface Block {
  file: string;
  line: number;
  code: string;
  needs: string | null;
}

function runnableBlocks(file: string): Block[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```sh runnable(?: needs=(\S+))?\s*$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.indexOf('```', i + 1);
    assert.ok(end > i, `${file}:${i + 1}: a runnable block that does not end`);
    blocks.push({ file, line: i + 1, code: lines.slice(i + 1, end).join('\n'), needs: open[1] ?? null });
    i = end;
  }
  return blocks;
}

/** Why a block's tool is missing (the package to install), or false. */
function missing(needs: string | null, code: string): string | false {
  if (/^\s*clang /m.test(code) && clangMissing()) return clangMissing();
  if (needs === null) return false;
  if (needs === 'rustc-wasm32-wasi') {
    const dir = mkdtempSync(join(tmpdir(), 'db-rustc-'));
    try {
      writeFileSync(join(dir, 'p.rs'), 'fn main() {}\n');
      const r = spawnSync('rustc', ['--target', 'wasm32-wasi', join(dir, 'p.rs'), '-o', join(dir, 'p.wasm')], { stdio: 'ignore' });
      return r.status === 0 ? false : 'needs rustc with the wasm32-wasi standard library (Debian packages rustc libstd-rust-dev-wasm32)';
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  throw new Error(`unknown needs=${needs}`);
}

const files = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const blocks = files.flatMap(runnableBlocks);

test('the README has runnable blocks (the first program in C, the grants)', () => {
  assert.ok(blocks.filter((b) => b.file === 'README.md').length >= 2);
});

for (const block of blocks) {
  test(`${block.file}:${block.line} runs as written`, { skip: missing(block.needs, block.code) }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'db-docs-'));
    try {
      const r = spawnSync('bash', ['-e', '-o', 'pipefail', '-c', block.code], {
        cwd: dir,
        encoding: 'utf8',
        timeout: BLOCK_TIMEOUT_MS,
        env: { ...process.env, PATH: `${ROOT}:${process.env.PATH}` },
      });
      const shown = `status ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
      assert.equal(r.status, 0, shown);
      let at = 0;
      for (const want of block.code.split('\n').filter((l) => l.startsWith('#> '))) {
        const found = r.stdout.indexOf(want.slice(3), at);
        assert.ok(found >= 0, `expected "${want.slice(3)}" (in order) in:\n${shown}`);
        at = found + want.length - 3;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("the README's quick start runs as written, from the checkout", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const line = /^npm ci && (\.\/drawbridge run [^#\n]*?)\s+#/m.exec(readme);
  assert.ok(line, 'the quick start names ./drawbridge run');
  const r = spawnSync('bash', ['-c', line[1]!], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Hello, you, from a drawbridge picoprocess!\n/);
});

test('./drawbridge execs Node: the pid a shell gets for `./drawbridge run ... &` is drawbridge itself', async () => {
  // A guest that waits on stdin, started as the docs start one to checkpoint it.
  const r = spawnSync(
    'bash',
    [
      '-c',
      './drawbridge run build/guests/runtime/echo_upper.wasm < /dev/zero > /dev/null & pid=$!; sleep 1; readlink /proc/$pid/exe; tr "\\0" " " < /proc/$pid/cmdline; kill $pid',
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );
  const [exe, cmdline] = r.stdout.split('\n');
  assert.match(exe!, /\/node$/, r.stdout + r.stderr);
  assert.match(cmdline!, /bin\/drawbridge\.js run /);
});
