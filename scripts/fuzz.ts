// Long fuzzing runs: `npm run fuzz -- --seconds N [--seed S] [--host node|memory] [--modules]`.
// Runs the Dk-boundary fuzzer (test/support/dk-fuzz.ts) on each host for N seconds, or with
// --modules the module mutator through the CLI (test/support/module-fuzz.ts; needs `npm run
// build` and the guests), and prints the seed first, so that a failure can be replayed with
// `--seed S` (or FC_SEED=S in the tests).

import { parseArgs } from 'node:util';
import { fuzzDk } from '../test/support/dk-fuzz.ts';
import { fuzzModules } from '../test/support/module-fuzz.ts';

const USAGE = 'usage: npm run fuzz -- [--seconds N] [--seed S] [--host node|memory] [--modules]';
let values;
try {
  ({ values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '60' },
      seed: { type: 'string' },
      host: { type: 'string', multiple: true },
      modules: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  }));
} catch (e) {
  console.error(`fuzz: ${(e as Error).message}; ${USAGE}`);
  process.exit(2);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const seconds = Number(values.seconds);
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
const hosts = (values.host ?? ['memory', 'node']) as ('node' | 'memory')[];
if (!(seconds > 0) || !Number.isInteger(seed) || hosts.some((h) => h !== 'node' && h !== 'memory')) {
  console.error(`fuzz: bad arguments; ${USAGE}`);
  process.exit(2);
}
if (values.modules) {
  console.log(`fuzz: seed ${seed}, mutated modules through drawbridge run and prepare for ${seconds} s`);
  try {
    const n = await fuzzModules({ seed, runs: Number.MAX_SAFE_INTEGER, seconds });
    console.log(`fuzz: ${n} mutants, no failure`);
    process.exit(0);
  } catch (e) {
    console.error(`fuzz: modules FAILED (replay with --modules --seed ${seed}):\n${(e as Error).message}`);
    process.exit(1);
  }
}
console.log(`fuzz: seed ${seed}, ${seconds} s per host (${hosts.join(', ')})`);
for (const host of hosts) {
  const started = Date.now();
  try {
    const runs = await fuzzDk(host, { seed, runs: Number.MAX_SAFE_INTEGER, seconds });
    console.log(`fuzz: ${host} host: ${runs} sequences in ${((Date.now() - started) / 1000).toFixed(1)} s, no failure`);
  } catch (e) {
    console.error(`fuzz: ${host} host FAILED (replay with --seed ${seed} --host ${host}):\n${(e as Error).message}`);
    process.exit(1);
  }
}
