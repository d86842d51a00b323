// `npm run bench` / `node bench/run.ts [NAME...]`: builds the benchmark guests (C to wasm32-wasi
// and to native), then runs the named benchmarks (default: every one marked byDefault) and
// prints a table for each. Each measurement runs drawbridge and its peer, node:wasi, in the
// same run, in fresh child processes (compute and startup add wasmtime, when its Python wheel
// is installed: bench/lib/wasmtime.ts).

import { buildGuests } from './lib/build.ts';
import type { Benchmark } from './lib/context.ts';
import { compute } from './compute.ts';
import { tiering } from './tiering.ts';
import { calls } from './calls.ts';
import { copy } from './copy.ts';
import { startup } from './startup.ts';
import { clang } from './clang.ts';
import { pipeThroughput } from './pipe-throughput.ts';
import { extCalls } from './ext-calls.ts';
import { netHttp } from './net-http.ts';
import { density } from './density.ts';
import { checkpoint } from './checkpoint.ts';
import { prepared } from './prepared.ts';
import { prepareBig } from './prepare-big.ts';
import { starts } from './starts.ts';

const BENCHMARKS: Benchmark[] = [
  compute,
  calls,
  copy,
  startup,
  clang,
  tiering,
  pipeThroughput,
  extCalls,
  netHttp,
  density,
  checkpoint,
  prepared,
  prepareBig,
  starts,
];

function usage(): string {
  return `usage: node bench/run.ts [--reps N] [NAME...]\n${BENCHMARKS.map((b) => `  ${b.name.padEnd(10)} ${b.description}${b.byDefault ? '' : ' (only when named)'}`).join('\n')}`;
}

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`bench: needs Node.js >= 24 (this is ${process.versions.node}); use npm run bench or node_modules/.bin/node`);
  process.exit(1);
}

const argv = process.argv.slice(2);
let reps = 5;
const names: string[] = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  if (a === '--reps') reps = Number(argv[++i]);
  else if (a === '-h' || a === '--help') {
    console.log(usage());
    process.exit(0);
  } else names.push(a);
}
if (!Number.isInteger(reps) || reps < 1) {
  console.error(`bench: --reps wants a positive integer\n${usage()}`);
  process.exit(2);
}
const unknown = names.filter((n) => !BENCHMARKS.some((b) => b.name === n));
if (unknown.length) {
  console.error(`bench: unknown benchmark ${unknown.join(', ')}\n${usage()}`);
  process.exit(2);
}
const selected = names.length ? BENCHMARKS.filter((b) => names.includes(b.name)) : BENCHMARKS.filter((b) => b.byDefault);

buildGuests();
const failures: string[] = [];
const started = performance.now();
console.log(`drawbridge benchmarks, ${new Date().toISOString().slice(0, 10)}, Node ${process.versions.node}, ${reps} reps`);
for (const b of selected) {
  const t = performance.now();
  await b.run({ reps, fail: (m) => void failures.push(m) });
  console.log(`(${b.name}: ${((performance.now() - t) / 1000).toFixed(1)} s)`);
}
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
if (failures.length) {
  console.error(`\nFAILED CHECKS:\n${failures.map((f) => `  ${f}`).join('\n')}`);
  process.exit(1);
}
