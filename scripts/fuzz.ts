// Long fuzzing runs: `npm run fuzz -- --seconds N [--seed S] [--host node|memory]`. Runs the
// Dk-boundary fuzzer (test/support/dk-fuzz.ts) on each host for N seconds, and prints the seed
// first, so that a failure can be replayed with `--seed S` (or FC_SEED=S in the tests).

import { parseArgs } from 'node:util';
import { fuzzDk } from '../test/support/dk-fuzz.ts';

const USAGE = 'usage: npm run fuzz -- [--seconds N] [--seed S] [--host node|memory]';
let values;
try {
  ({ values } = parseArgs({
    options: { seconds: { type: 'string', default: '60' }, seed: { type: 'string' }, host: { type: 'string', multiple: true }, help: { type: 'boolean' } },
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
