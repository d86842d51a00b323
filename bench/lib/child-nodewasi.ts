// Child process: runs a module under Node's own node:wasi (the peer) and reports compile and
// run times. The parent starts it with --single-threaded-gc (node:wasi corrupts the heap after
// a big memory.grow without it).

import { writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import v8 from 'node:v8';
import { WASI } from 'node:wasi';
import { RESULT_FD, type ChildResult, type ChildSpec } from './child-spec.ts';

const spec = JSON.parse(process.argv[2]!) as ChildSpec;
for (const f of spec.v8Flags ?? []) v8.setFlagsFromString(f);

const bytes = await readFile(spec.module);
let t = performance.now();
const module = await WebAssembly.compile(bytes);
const compileMs = performance.now() - t;

const preopens: Record<string, string> = {};
for (const d of spec.dirs ?? []) preopens[d.guest] = d.host;

const result: ChildResult = { compileMs, runMs: [], exitCodes: [] };
for (let i = 0; i < (spec.repeat ?? 1); i++) {
  t = performance.now();
  const wasi = new WASI({ version: 'preview1', args: spec.args, env: {}, preopens, returnOnExit: true });
  const instance = await WebAssembly.instantiate(module, wasi.getImportObject() as WebAssembly.Imports);
  const code = wasi.start(instance);
  result.runMs.push(performance.now() - t);
  result.exitCodes.push(code);
}
writeSync(RESULT_FD, JSON.stringify(result));
process.exit(0);
