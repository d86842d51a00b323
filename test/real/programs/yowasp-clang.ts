// What it takes to run @yowasp/clang's LLVM (gen/llvm.core.wasm, a plain WASI preview1
// command) outside its own JS wrapper, learned from the package's gen/bundle.js:
// - one multicall module for clang, wasm-ld, ar, …: the wrapper runs it with
//   argv = ['yowasp-llvm', TOOL, ...args]; LLVM's driver sees argv[0] ending in "llvm" and
//   takes the tool from argv[1].
// - the sysroot (wasi-libc headers and libraries, libc++) and clang's resource headers ship
//   as gen/llvm-resources.tar, which the wrapper mounts at /usr. We unpack it once into a
//   cache directory under the OS temp dir and mount that directory read-only at /usr.
// - clang cannot spawn its jobs under WASI, so the wrapper runs `clang -###`, parses the job
//   command lines from the output and runs each as its own invocation: parseJobs below is
//   that parser.

import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { untar } from './untar.ts';

// The package exports only gen/bundle.js; the package root is two levels up from it.
const packageDir = dirname(dirname(fileURLToPath(import.meta.resolve('@yowasp/clang'))));
const packageVersion = (JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;

export const LLVM_ARGV0 = 'yowasp-llvm';
export const llvmModulePath = join(packageDir, 'gen', 'llvm.core.wasm');

let moduleBytes: Uint8Array | null = null;
/** The module's bytes, read once (runCommand compiles each content hash once per process). */
export function llvmModule(): Uint8Array {
  return (moduleBytes ??= readFileSync(llvmModulePath));
}

/**
 * The unpacked resources (the directory to mount at /usr). Unpacked into a fresh directory
 * and renamed into place, so concurrent test processes never see half an unpack.
 */
export function yowaspUsrDir(): string {
  const dir = join(tmpdir(), `drawbridge-yowasp-clang-${packageVersion}`);
  if (existsSync(join(dir, '.complete'))) return join(dir, 'usr');
  const staging = `${dir}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  untar(readFileSync(join(packageDir, 'gen', 'llvm-resources.tar')), join(staging, 'usr'));
  writeFileSync(join(staging, '.complete'), '');
  try {
    renameSync(staging, dir);
  } catch {
    // Another process won the race (or a stale incomplete dir is in the way): use theirs if
    // it is complete, else replace it.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(join(dir, '.complete'))) {
      rmSync(dir, { recursive: true, force: true });
      return yowaspUsrDir();
    }
  }
  return join(dir, 'usr');
}

/** Split one job line of `clang -###` output: ` "a" "b c" d` (clang quotes with \" \\ \$). */
export function unquoteJobLine(line: string): string[] {
  return Array.from(line.matchAll(/ (?:([^ "]+)|"((?:[^"\\$]|\\["\\$])+)")/g), (m) =>
    m[1] !== undefined ? m[1] : m[2]!.replaceAll(/\\["$\\]/g, (e) => e[1]!),
  );
}

/**
 * The job command lines of `clang -###` output (stderr): after the banner lines (version,
 * Target, Thread model, InstalledDir, Build config) come the jobs, one per line, each
 * starting with ` "`, possibly preceded by ` (in-process)`. Anything else means clang said
 * something other than a job list (an error): null. (The package's own parser skips every
 * line starting with "clang", diagnostics included, and then sees no jobs: same outcome.)
 */
export function parseJobs(output: string): string[][] | null {
  // "clang version" only: "clang: error: ..." lines are diagnostics, not banner.
  const banner = /^(clang version |Target:|Thread model:|InstalledDir:|Build config:)/;
  const jobs: string[][] = [];
  const lines = output.split('\n');
  let i = 0;
  while (i < lines.length && banner.test(lines[i]!)) i++;
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === ' (in-process)') continue;
    if (line.startsWith(' "')) {
      const job = unquoteJobLine(line);
      // The executable is printed as "" for the in-process cc1 job in this build.
      if (job[0] === '') job.shift();
      jobs.push(job);
      continue;
    }
    if (line === '' && lines.slice(i).every((l) => l === '')) break;
    return null;
  }
  return jobs.length > 0 ? jobs : null;
}
