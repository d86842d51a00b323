// Child process: runs a module under drawbridge (the library API, runCommand) and reports
// compile and run times. Stdio is the child's own, so the parent decides where output goes.

import { mkdirSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { readFile } from 'node:fs/promises';
import v8 from 'node:v8';
import { compileModule, tierUpPrepared } from '../../src/runtime/module-cache.ts';
import { runCommand } from '../../src/runtime/run.ts';
import { prepareModule, preparedPath } from '../../src/runtime/prepare.ts';
import { RESULT_FD, type ChildResult, type ChildSpec } from './child-spec.ts';

const spec = JSON.parse(process.argv[2]!) as ChildSpec;
for (const f of spec.v8Flags ?? []) v8.setFlagsFromString(f);
Object.assign(process.env, spec.hostEnv ?? {});

const bytes = await readFile(spec.module);
let t = performance.now();
// Cached by content hash: runCommand below reuses it. A prepared module comes from the
// on-disk cache of prepared modules (made by an earlier run).
if (spec.prepared) {
  const prepared = await prepareModule(bytes, spec.instrumenter ? { instrumenter: spec.instrumenter } : {});
  // wasm-opt's module goes where runCommand looks for the prepared one (the spec's own cache).
  if (spec.instrumenter) {
    mkdirSync(dirname(preparedPath(bytes)), { recursive: true });
    writeFileSync(preparedPath(bytes), prepared);
  }
  await compileModule(prepared, spec.module, { baseline: tierUpPrepared(prepared) });
} else await compileModule(bytes, spec.module);
const compileMs = performance.now() - t;

const result: ChildResult = { compileMs, runMs: [], exitCodes: [] };
for (let i = 0; i < (spec.repeat ?? 1); i++) {
  t = performance.now();
  const r = await runCommand({ module: bytes, args: spec.args, dirs: spec.dirs, prepared: spec.prepared });
  result.runMs.push(performance.now() - t);
  result.exitCodes.push(r.exitCode);
}
writeSync(RESULT_FD, JSON.stringify(result));
process.exit(0);
