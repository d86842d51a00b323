// Fuzzing at the Dk boundary, a bounded smoke in `npm test` (test/support/dk-fuzz.ts says what
// it checks): random sequences of calls with random arguments through the monitor, on both
// hosts. `npm run fuzz -- --seconds N` runs the same for longer; a failure prints its seed.

import test from 'node:test';
import { fuzzDk } from '../support/dk-fuzz.ts';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);

for (const host of ['memory', 'node'] as const) {
  test(`random Dk call sequences through the monitor on the ${host} host: no exception, no leak, nothing beyond the grants (seed ${seed})`, async () => {
    await fuzzDk(host, { seed, runs: 1500, seconds: 20 });
  });
}
