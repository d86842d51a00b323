// Mutated modules through the command line, as a user or an attacker would hand them over: the
// engine of module fuzzing (test/cli/module-fuzz.test.ts runs a bounded smoke of it in `npm
// test`; `npm run fuzz -- --modules` runs it for longer). A real C guest is mutated (bytes
// flipped, set, inserted, cut, LEB128 counts blown up) and given to `drawbridge run` (under a
// manifest with small limits, so a mutant that loops or grows ends at its quota) and to
// `drawbridge prepare` (under the preparation caps). What must hold for every mutant:
//  - the command ends by itself, well within the test's wait (no hang);
//  - whatever it says on stderr when it refuses the module is one line, never a stack trace.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';

const BIN = 'bin/drawbridge.js';
export const MODULE_FUZZ_BASE = 'build/guests/runtime/exit_code.wasm';
/** Longer than any quota or cap the commands run under: past it, the command hung. */
const HANG_MS = 45_000;

type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'insert'; at: number; bytes: number[] }
  | { op: 'cut'; at: number; length: number }
  | { op: 'leb'; at: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0xff) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant('cut' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant('leb' as const), at: fc.nat() }),
);
/** A mutant: a few mutations, most of them in the first sections (types, imports, functions), where a parser is tried hardest. */
export const mutantArb = fc.array(mutationArb, { minLength: 1, maxLength: 4 });

export function mutate(base: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let bytes = [...base];
  for (const m of mutations) {
    // Two mutations in three land in the first 512 bytes.
    const at = bytes.length === 0 ? 0 : m.at % (m.at % 3 === 0 ? bytes.length : Math.min(bytes.length, 512));
    switch (m.op) {
      case 'flip':
        if (bytes.length) bytes[at] = bytes[at]! ^ (1 << m.bit);
        break;
      case 'set':
        if (bytes.length) bytes[at] = m.value;
        break;
      case 'insert':
        bytes.splice(at, 0, ...m.bytes);
        break;
      case 'cut':
        bytes.splice(at, m.length);
        break;
      case 'leb':
        // A count or size of 2^32-1: "2^32-1 locals", "a section of 4 GiB".
        bytes.splice(at, 1, 0xff, 0xff, 0xff, 0xff, 0x0f);
        break;
    }
  }
  bytes = bytes.slice(0, 1 << 20);
  return new Uint8Array(bytes);
}

interface Outcome {
  status: number | null;
  signal: string | null;
  stderr: string;
  hung: boolean;
}

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (stderr = (stderr + d).slice(-8192)));
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, HANG_MS);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stderr, hung });
    });
  });
}

/**
 * What a command did wrong with a mutant, or null. A module that is not valid Wasm never runs,
 * so all its stderr is drawbridge's: one line. A valid one may run and print lines of its own;
 * of drawbridge's (they start with "drawbridge") there is one at most.
 */
function judge(what: string, o: Outcome, valid: boolean): string | null {
  if (o.hung) return `${what} did not end within ${HANG_MS / 1000} s`;
  if (/\n\s+at /.test(o.stderr)) return `${what} printed a stack trace:\n${o.stderr}`;
  const lines = o.stderr.split('\n').filter((l) => l.trim() !== '');
  const ours = valid ? lines.filter((l) => l.startsWith('drawbridge')) : lines;
  if (o.status !== 0 && ours.length > 1) return `${what} refused it in ${ours.length} lines:\n${o.stderr}`;
  return null;
}

/** A folder with the manifest of small limits and a cache of its own (mutants must not fill the user's). */
export function moduleFuzzWorld(): { dir: string; manifest: string; env: NodeJS.ProcessEnv; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-module-fuzz-'));
  const manifest = join(dir, 'small.toml');
  writeFileSync(manifest, '[limits]\nmemory = "64MiB"\ncpu_time = "3s"\n');
  const env = { ...process.env, DRAWBRIDGE_CACHE: join(dir, 'cache'), DRAWBRIDGE_PREPARE_TIMEOUT: '15', DRAWBRIDGE_PREPARE_MEMORY: '2GiB' };
  return { dir, manifest, env, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs one mutant through `run` and `prepare`; what broke, or null. */
export async function tryMutant(
  world: ReturnType<typeof moduleFuzzWorld>,
  base: Uint8Array,
  mutations: readonly Mutation[],
  n: number,
): Promise<string | null> {
  const file = join(world.dir, `m${n}.wasm`);
  const bytes = mutate(base, mutations);
  writeFileSync(file, bytes);
  const valid = WebAssembly.validate(bytes);
  const [run, prepare] = await Promise.all([runCli(['run', '--manifest', world.manifest, file, '7'], world.env), runCli(['prepare', file], world.env)]);
  const broken = judge('drawbridge run', run, valid) ?? judge('drawbridge prepare', prepare, valid);
  if (!broken) rmSync(file, { force: true });
  return broken;
}

/** Mutants until `runs` are done or `seconds` pass; the first failure is thrown with its seed. */
export async function fuzzModules(opts: { seed: number; runs: number; seconds: number }): Promise<number> {
  const base = readFileSync(MODULE_FUZZ_BASE);
  const world = moduleFuzzWorld();
  let n = 0;
  try {
    await fc.assert(
      fc.asyncProperty(mutantArb, async (mutations) => {
        const broken = await tryMutant(world, base, mutations, n++);
        if (broken) throw new Error(broken);
      }),
      {
        seed: opts.seed,
        numRuns: opts.runs,
        interruptAfterTimeLimit: opts.seconds * 1000,
        markInterruptAsFailure: false,
        endOnFailure: true,
        includeErrorInReport: true,
      },
    );
  } finally {
    world.dispose();
  }
  return n;
}
