// Diagnostic: run `clang -###` for a C file inside drawbridge and print the jobs, then run
// them. Usage: node test/real/programs/clang-jobs.ts [file.c]
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../../src/runtime/run.ts';
import { LLVM_ARGV0, llvmModule, parseJobs, yowaspUsrDir } from './yowasp-clang.ts';

const work = mkdtempSync(join(tmpdir(), 'clang-jobs-'));
const src = process.argv[2] ? readFileSync(process.argv[2], 'utf8') : '#include <stdio.h>\nint main(void) { printf("hello %d\\n", 6 * 7); return 0; }\n';
writeFileSync(join(work, 'hello.c'), src);
let t = performance.now();
const usr = yowaspUsrDir();
console.log('usr', usr, Math.round(performance.now() - t), 'ms');
const tmp = mkdtempSync(join(tmpdir(), 'clang-tmp-'));
const dirs = [
  { host: usr, guest: '/usr', readOnly: true },
  { host: work, guest: '/work' },
  { host: tmp, guest: '/tmp' },
];
const run = async (args: string[]) => {
  t = performance.now();
  const r = await runCommand({ module: llvmModule(), args: [LLVM_ARGV0, ...args], dirs, capture: true });
  console.log('ran', args.slice(0, 3).join(' '), '->', r.exitCode, r.error ?? '', Math.round(performance.now() - t), 'ms');
  return r;
};
const r = await run(['clang', '-###', '-O2', '/work/hello.c', '-o', '/work/hello.wasm']);
const text = new TextDecoder().decode(r.stderr);
console.log(text);
const jobs = parseJobs(text);
console.log(JSON.stringify(jobs));
for (const job of jobs ?? []) {
  console.log(job.join(' '));
  const jr = await run(job);
  process.stdout.write(jr.stdout);
  process.stdout.write(jr.stderr);
}
const final = await runCommand({ module: join(work, 'hello.wasm'), args: ['hello'], capture: true });
console.log('hello ->', final.exitCode, JSON.stringify(new TextDecoder().decode(final.stdout)), new TextDecoder().decode(final.stderr));
