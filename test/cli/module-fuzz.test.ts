// Mutated modules through `drawbridge run` and `drawbridge prepare`, a bounded smoke in `npm
// test` (test/support/module-fuzz.ts says what it checks): every mutant is answered, in one line
// when refused, and nothing hangs. `npm run fuzz -- --modules --seconds N` runs it for longer.

import test from 'node:test';
import { fuzzModules } from '../support/module-fuzz.ts';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);

test(`mutated modules: run and prepare answer each in one line, none hangs (seed ${seed})`, { timeout: 150_000 }, async () => {
  await fuzzModules({ seed, runs: 40, seconds: 60 });
});
