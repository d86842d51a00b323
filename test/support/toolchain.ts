// Optional tools some tests need, and the skip message that names the package to install when
// one is missing: a test that needs a tool skips with that message instead of failing, or
// hanging on a child that waits for a checkpoint that never comes.
import { spawnSync } from 'node:child_process';
import { before as nodeBefore, test as nodeTest, describe as nodeDescribe } from 'node:test';

const found = new Map<string, boolean>();
function works(cmd: string): boolean {
  let ok = found.get(cmd);
  if (ok === undefined) {
    const r = spawnSync(cmd, ['--version'], { stdio: 'ignore' });
    found.set(cmd, (ok = r.error === undefined && r.status === 0));
  }
  return ok;
}

/** Why a test that prepares modules for checkpoints cannot run here; false when it can. */
export function binaryenMissing(): string | false {
  const cmd = process.env.DRAWBRIDGE_WASM_OPT || 'wasm-opt';
  return works(cmd) ? false : "needs Binaryen's wasm-opt to prepare modules for checkpoints (Debian package binaryen)";
}

/** Why a test that builds C programs cannot run here; false when it can. */
export function clangMissing(): string | false {
  return works('clang') ? false : 'needs clang (Debian packages clang lld wasi-libc libclang-rt-dev-wasm32)';
}

type TestFn = typeof nodeTest;
type Options = { skip?: boolean | string; [k: string]: unknown };

/** `test` (or `describe`) whose every call is skipped with `why` when it is a string. */
function skippedWhen<T extends (...a: any[]) => unknown>(base: T, why: string | false): T {
  if (why === false) return base;
  return ((name: string, a?: Options | ((...x: any[]) => unknown), b?: (...x: any[]) => unknown) => {
    const fn = typeof a === 'function' ? a : b;
    const opts = typeof a === 'object' && a !== null ? a : {};
    return base(name, { ...opts, skip: why }, fn);
  }) as unknown as T;
}

/** node:test's `test`, skipped with a message naming the package when Binaryen is missing. */
export const testNeedingBinaryen: TestFn = skippedWhen(nodeTest, binaryenMissing());
/** node:test's `describe`, skipped likewise. */
export const describeNeedingBinaryen: typeof nodeDescribe = skippedWhen(nodeDescribe, binaryenMissing());
/** node:test's `before`, a no-op when Binaryen is missing (the tests it prepares for are skipped). */
export function beforeNeedingBinaryen(fn: () => unknown): void {
  nodeBefore(binaryenMissing() ? () => {} : fn);
}
