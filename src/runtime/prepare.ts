// Preparing a module for capture (checkpoints): the tick counter at loop heads and function
// entries, Asyncify restricted to the imports that can wait (and the tick), and every mutable
// global exported so that a snapshot can read and restore it. drawbridge's own rewriters do it
// in process, in milliseconds (wasm/tick-marks.ts, wasm/ticks.ts, wasm/asyncify.ts); Binaryen's
// wasm-opt (Asyncify, optimized after) takes the modules they do not. Prepared modules are
// cached on disk by content hash.
//
// The full preparation instruments nearly every function, which a big module makes expensive
// (docs/snapshot.md, "Preparing big modules"), so `drawbridge run` prepares a module by itself
// only up to AUTO_PREPARE_MAX_BYTES; bigger ones are prepared once with `drawbridge prepare`.

import { mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYSCALLS } from '../libos/index.ts';
import { DRAWBRIDGE_CALLS } from '../libos/drawbridge/index.ts';
import { customSection, customSectionNames, exportMutableGlobals, exportNames } from '../wasm/sections.ts';
import { addControlExport, ASYNCIFY_EXPORTS, CONTROL_EXPORT } from '../wasm/control.ts';
import { Reader, concat, sections } from '../wasm/binary.ts';
import { callGraph, reaching } from '../wasm/call-graph.ts';
import { merge, skeleton, skeletonName, type ToolOutput } from '../wasm/subset.ts';
import { insertTicks, TICK_MODULE, TICK_NAME } from '../wasm/ticks.ts';
import { nodeChildProcess, sha256 } from '../host/node/lazy-builtins.ts';
import { devirtualizeUnwinding } from '../wasm/indirect.ts';
import { markForTicks } from '../wasm/tick-marks.ts';
import { cacheRoot } from './cache-root.ts';
import { instrumentInWorker, startAsyncifyThread, type AsyncifyOutcome, type AsyncifyThread } from './asyncify-thread.ts';

/**
 * Modules up to this size are prepared automatically at first run, which waits for it in
 * silence. A module wasm-opt must take costs it time that grows faster than the module
 * (docs/snapshot.md, "Preparing big modules"): this limit keeps the worst first-run wait to
 * seconds; bigger modules are prepared once with `drawbridge prepare`, which shows its progress.
 */
export const AUTO_PREPARE_MAX_BYTES = 256 * 1024;
/**
 * Bumped when the preparation changes, so that old cache entries are not reused (what each
 * version changed: docs/snapshot.md, "The prepared-module cache").
 */
const PREPARE_VERSION = 14;

/**
 * Modules up to this size are optimized with -O3 after Asyncify, bigger ones with -O2. -O3
 * makes the prepared compute kernels a little faster for a little more preparation time on a
 * small module, but a big one waits markedly longer, and a first run waits for it in silence
 * (docs/snapshot.md, "Costs, measured").
 */
const OPTIMIZE_MORE_MAX_BYTES = 64 * 1024;

/** The imports a capture can unwind through: exactly those that may wait, and the tick. */
export function captureImports(): string[] {
  return [
    `${TICK_MODULE}.${TICK_NAME}`,
    'drawbridge.fork',
    ...Object.entries(SYSCALLS)
      .filter(([, e]) => e.blocking)
      .map(([n]) => `wasi_snapshot_preview1.${n}`),
    ...Object.entries(DRAWBRIDGE_CALLS)
      .filter(([, e]) => e.blocking)
      .map(([n]) => `drawbridge.${n}`),
  ];
}

export function isPrepared(module: WebAssembly.Module): boolean {
  const names = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  return names.has(CONTROL_EXPORT) || ASYNCIFY_EXPORTS.every((n) => names.has(n));
}

export function cacheDir(): string {
  return join(cacheRoot(), 'prepared');
}

/**
 * The cache entry of a module: its size first, so that a miss is found without hashing it.
 * A module prepared without the tick counter (waitsOnly) has an entry of its own.
 */
export function preparedPath(bytes: Uint8Array, waitsOnly = false): string {
  return join(cacheDir(), `${bytes.length}-${hashOf(bytes)}.v${PREPARE_VERSION}${waitsOnly ? '.waits' : ''}.wasm`);
}

/**
 * The module's SHA-256, once per bytes: one run looks up both cache entries, and `run` asks
 * mayBePrepared before prepareModule (hashing a big module is not free).
 */
const hashes = new WeakMap<Uint8Array, string>();
function hashOf(bytes: Uint8Array): string {
  let h = hashes.get(bytes);
  if (h === undefined) hashes.set(bytes, (h = sha256(bytes).toString('hex')));
  return h;
}

/** The cached prepared module for `bytes`, with the tick counter or else without; null if none. */
function cachedPrepared(bytes: Uint8Array, waitsOnly: boolean | undefined): string | null {
  const paths = waitsOnly === undefined ? [preparedPath(bytes), preparedPath(bytes, true)] : [preparedPath(bytes, waitsOnly)];
  return paths.find((p) => existsSync(p)) ?? null;
}

/**
 * The custom section that marks a module prepared without the tick counter: it can be
 * captured only while it waits in a call, and cannot be preempted (a host service gives it a
 * worker of its own, as an unprepared module).
 */
const WAITS_ONLY_SECTION = 'drawbridge.waits-only';

/**
 * The custom section that marks a waits-only module made without its rewind versions
 * (wasm/asyncify.ts withoutRewindVersions): it runs and unwinds as the whole one does, but
 * cannot be rewound, so a rewind moves the program onto the whole one and no snapshot carries it.
 */
const RUN_ONLY_SECTION = 'drawbridge.run-only';

/** Whether a prepared module is one without its rewind versions (cachedRunModule). */
export function isRunOnly(prepared: Uint8Array): boolean {
  return markersOf(prepared).includes(RUN_ONLY_SECTION);
}

/** The custom sections' names of a prepared module, read once per bytes (a fork asks at every child). */
const markers = new WeakMap<Uint8Array, string[]>();
function markersOf(prepared: Uint8Array): string[] {
  let names = markers.get(prepared);
  if (!names) markers.set(prepared, (names = customSectionNames(prepared)));
  return names;
}

/** Where the module without rewind versions sits beside the whole one's cache entry. */
function runOnlyPath(whole: string): string {
  return whole.replace(/\.wasm$/, '.run.wasm');
}

/**
 * The cached waits-only preparation of `bytes` to run: the module without its rewind versions
 * (all that V8 reads and compiles in a run), and a reader
 * of the whole one, which a rewind needs. Null when the cache holds a preparation with the tick
 * counter (run as it is) or no such pair.
 */
export function cachedRunModule(bytes: Uint8Array): { run: Uint8Array; whole: () => Uint8Array } | null {
  if (!anyEntryOfSize(bytes) || existsSync(preparedPath(bytes))) return null;
  const whole = preparedPath(bytes, true);
  const run = runOnlyPath(whole);
  if (!existsSync(run) || !existsSync(whole)) return null;
  return {
    run: readFileSync(run),
    whole: () => {
      try {
        return readFileSync(whole);
      } catch (e) {
        throw new PrepareError(
          `the prepared module ${whole} is gone from the cache (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): run drawbridge prepare again`,
        );
      }
    },
  };
}

/** Whether a prepared module was prepared without the tick counter (`drawbridge prepare --waits-only`). */
export function isWaitsOnly(prepared: Uint8Array): boolean {
  return markersOf(prepared).includes(WAITS_ONLY_SECTION);
}

/**
 * Whether the cache may hold this module prepared: false when no entry has its size, which a
 * directory listing answers without hashing the module (costly for a big one).
 */
export function mayBePrepared(bytes: Uint8Array): boolean {
  return anyEntryOfSize(bytes) && cachedPrepared(bytes, undefined) !== null;
}

/** Whether an entry of the cache has this module's size: entries are named by size first, so a listing answers without hashing. */
function anyEntryOfSize(bytes: Uint8Array): boolean {
  try {
    const prefix = `${bytes.length}-`;
    return readdirSync(cacheDir()).some((f) => f.startsWith(prefix));
  } catch {
    return false;
  }
}

export class PrepareError extends Error {}

/** A preparation stopped at a cap (PrepareCaps): the module runs unprepared, and the user is told. */
export class PrepareCapError extends PrepareError {}

/**
 * Bounds on one preparation, which runs tools on guest bytes: wasm-opt's wall time and address
 * space (its process group is killed past them), and the JS rewriters' input (a rewrite is
 * skipped, the module left unprepared, past maxRewriteBytes of code). Defaults: prepareCaps().
 */
export interface PrepareCaps {
  timeoutMs: number;
  memoryBytes: number;
}

/** Default caps of an automatic preparation (run, serve, children): docs/snapshot.md, "Preparation caps". */
export const DEFAULT_PREPARE_CAPS: PrepareCaps = { timeoutMs: 60_000, memoryBytes: 4 * 2 ** 30 };

/**
 * The caps from the environment (DRAWBRIDGE_PREPARE_TIMEOUT: "30s", "500ms" or seconds;
 * DRAWBRIDGE_PREPARE_MEMORY: "2GiB", "512MiB" or bytes; "0": no cap), else `defaults`.
 */
export function prepareCaps(defaults: PrepareCaps | null = DEFAULT_PREPARE_CAPS): PrepareCaps | null {
  const t = process.env.DRAWBRIDGE_PREPARE_TIMEOUT;
  const m = process.env.DRAWBRIDGE_PREPARE_MEMORY;
  if (t === undefined && m === undefined) return defaults;
  const base = defaults ?? { timeoutMs: Infinity, memoryBytes: Infinity };
  return {
    timeoutMs: t === undefined ? base.timeoutMs : capValue(t, 'DRAWBRIDGE_PREPARE_TIMEOUT', { ms: 1, s: 1000, m: 60_000, '': 1000 }),
    memoryBytes: m === undefined ? base.memoryBytes : capValue(m, 'DRAWBRIDGE_PREPARE_MEMORY', { B: 1, KiB: 1024, MiB: 2 ** 20, GiB: 2 ** 30, '': 1 }),
  };
}

function capValue(text: string, name: string, units: Record<string, number>): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(text);
  const unit = m ? units[m[2]!] : undefined;
  if (!m || unit === undefined)
    throw new PrepareError(`${name}=${text}: expected a number with one of the units ${Object.keys(units).filter(Boolean).join(', ')}`);
  const v = Number(m[1]) * unit;
  return v === 0 ? Infinity : v;
}

/** Most code bytes the JS rewriters (ticks, indirect calls) take on in one preparation: their work grows with the code. */
export const MAX_REWRITE_CODE_BYTES = 64 * 2 ** 20;

function findWasmOpt(): string {
  const local = join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'wasm-opt');
  for (const candidate of [process.env.DRAWBRIDGE_WASM_OPT, 'wasm-opt', local]) {
    if (!candidate) continue;
    const r = nodeChildProcess().spawnSync(candidate, ['--version'], { stdio: 'ignore' });
    if (!r.error && r.status === 0) return candidate;
  }
  throw new PrepareError("preparing a module for checkpoints needs Binaryen's wasm-opt: apt-get install binaryen (or set DRAWBRIDGE_WASM_OPT)");
}

export interface PrepareOptions {
  /**
   * Without the tick counter: capture only while the program waits in a call (a computing
   * program is captured at its next one), no preemption. Asyncify then instruments only the
   * functions that can reach a call that waits, which makes a big module preparable where the
   * full preparation runs out of memory (docs/snapshot.md, "Preparing big modules").
   * Undefined: use whichever the cache holds (the full preparation first), else make the full
   * one up to AUTO_PREPARE_MAX_BYTES and the waits-only one past it (waitsOnlyByDefault).
   */
  waitsOnly?: boolean;
  /**
   * Called when each step starts (seconds 0) and about every second while wasm-opt runs,
   * with the seconds elapsed in that step: step of steps (PREPARE_STEPS), and its name.
   */
  onProgress?: (phase: string, seconds: number, step: number, steps: number) => void;
  /** Bounds on the tools run (default: prepareCaps(null), the environment's caps only). */
  caps?: PrepareCaps | null;
  /**
   * Who instruments. drawbridge's own rewriters (the default) hand a module they do not take to
   * wasm-opt; 'wasm-opt' asks for Binaryen's at once, and neither reads nor fills the cache (the
   * two make different modules under one cache name).
   */
  instrumenter?: 'drawbridge' | 'wasm-opt';
  /** Waits-only: most code bytes one wasm-opt run instruments (default CHUNK_CODE_BYTES; tests make it small). */
  chunkCodeBytes?: number;
}

/** The steps of a preparation (by drawbridge's own rewriters or by wasm-opt), as onProgress names them. */
export const PREPARE_STEPS = ['marking loops', 'tick counter', 'indirect calls', 'asyncify'] as const;
/** The steps of a waits-only preparation. */
export const WAITS_ONLY_STEPS = ['call graph', 'asyncify', 'merging'] as const;

type Step = (typeof PREPARE_STEPS)[number] | (typeof WAITS_ONLY_STEPS)[number];

/** Whether `drawbridge prepare` without a flag prepares this module waits-only: past the automatic size. */
export function waitsOnlyByDefault(bytes: Uint8Array): boolean {
  return bytes.length > AUTO_PREPARE_MAX_BYTES;
}

/** The prepared module for `bytes`, from the cache or made now. */
export async function prepareModule(bytes: Uint8Array, options: PrepareOptions = {}): Promise<Uint8Array> {
  const byWasmOpt = options.instrumenter === 'wasm-opt';
  // A cache entry is named by the SHA-256 of bytes that were valid when it was made: they need
  // no second validation (validating a big module is much of its start-up).
  const cached = byWasmOpt ? null : cachedPrepared(bytes, options.waitsOnly);
  if (cached !== null) return readFileSync(cached);
  // V8 validates first: no tool runs on bytes that are not a valid module (a few bytes can
  // declare 2^32-1 locals, which a rewriter would allocate).
  checkPreparable(bytes);
  const caps = options.caps === undefined ? prepareCaps(null) : options.caps;
  const deadline = caps ? Date.now() + caps.timeoutMs : Infinity;
  const waitsOnly = options.waitsOnly ?? waitsOnlyByDefault(bytes);
  const target = preparedPath(bytes, waitsOnly);
  const steps: readonly Step[] = waitsOnly ? WAITS_ONLY_STEPS : PREPARE_STEPS;
  const progress: Progress = { options, steps, caps, deadline };
  if (exportNames(bytes).includes('asyncify_start_unwind')) {
    // Ruby's ruby.wasm, for one, is built with Asyncify for its own fibers; a second Asyncify
    // pass fails (after many minutes on a big module), so say so at once.
    throw new PrepareError('the module already uses Asyncify for its own purposes; drawbridge cannot prepare it for checkpoints');
  }
  // drawbridge's own rewriters need no files: a folder only for wasm-opt.
  if (!waitsOnly && !byWasmOpt) {
    const own = await prepareOwn(bytes, progress);
    if (own) return save(own, target);
  }
  const work = mkdtempSync(join(tmpdir(), 'drawbridge-prepare-'));
  try {
    if (waitsOnly) {
      const { prepared, run } = await prepareWaitsOnly(bytes, work, progress);
      if (byWasmOpt) return prepared;
      // The module to run first: an entry for the whole one means both are there.
      if (run) save(run, runOnlyPath(target));
      return save(prepared, target);
    }
    const wasmOpt = findWasmOpt();
    const input = join(work, 'in.wasm');
    const marked = join(work, 'marked.wasm');
    const output = join(work, 'out.wasm');
    writeFileSync(input, bytes);
    // 1. The tick counter (compute-bound capture): --log-execution marks function entries,
    //    loop heads and returns; wasm/ticks.ts turns the marks into an inline countdown, but
    //    for loops with a small constant trip count (wasm/counted-loops.ts).
    let source = input;
    if (!waitsOnly) {
      await run(wasmOpt, [input, '-o', marked, ...FEATURES, '--log-execution'], progress, 'marking loops');
      overDeadline(progress);
      step(progress, 'tick counter');
      const ticked = tryInsertTicks(rewriter(() => withinCaps(readFileSync(marked), progress)));
      if (ticked) {
        writeFileSync(marked, ticked);
        source = marked;
      }
    }
    // Indirect calls that may unwind become direct ones (wasm/indirect.ts), so that Asyncify
    // can leave the others alone (a loop that calls a leaf comparator stays uninstrumented);
    // those of a type with one function in the table get a guarded direct call, which the
    // optimizer below inlines (docs/snapshot.md, "Costs, measured").
    step(progress, 'indirect calls');
    const direct = rewriter(() => devirtualizeUnwinding(withinCaps(readFileSync(source), progress), new Set(captureImports())));
    if (direct) {
      writeFileSync(marked, direct.bytes);
      source = marked;
    }
    // 2. Asyncify through the imports that may wait (and the tick), then optimize.
    const args = [
      source,
      '-o',
      output,
      ...FEATURES,
      '--asyncify',
      `--pass-arg=asyncify-imports@${captureImports().join(',')}`,
      ...(direct ? ['--pass-arg=asyncify-ignore-indirect'] : []),
      bytes.length <= OPTIMIZE_MORE_MAX_BYTES ? '-O3' : '-O2',
    ];
    overDeadline(progress);
    await run(wasmOpt, args, progress, 'asyncify');
    // One control export instead of Asyncify's, the countdown's and one per mutable global
    // (wasm/control.ts: V8 makes a JS object for each export at every instantiation).
    const optimized = readFileSync(output);
    const prepared = addControlExport(optimized) ?? exportMutableGlobals(optimized);
    return byWasmOpt ? prepared : save(prepared, target);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The full preparation by drawbridge's own rewriters: the marks of the tick counter, the
 * countdown made of them and the indirect calls made direct (in this thread, as these rewrites
 * always ran), then Asyncify through the imports that wait and the tick. Tens of milliseconds
 * for a small module where wasm-opt takes about a second, and the prepared module runs about as
 * fast as wasm-opt's, which also optimizes (docs/snapshot.md, "Preparing small modules"). Null
 * for a module they do not take (wasm-opt's turn then).
 */
async function prepareOwn(bytes: Uint8Array, progress: Progress): Promise<Uint8Array | null> {
  // The worker thread of the last step starts now: its start (tens of ms) overlaps the first three.
  const thread = startAsyncifyThread(progress.caps?.memoryBytes ?? Infinity);
  let handedOver = false;
  try {
    let ticked: Uint8Array | null;
    try {
      step(progress, 'marking loops');
      const marked = markForTicks(withinCaps(bytes, progress));
      step(progress, 'tick counter');
      ticked = insertTicks(marked);
      if (!ticked) return null;
      // Indirect calls that may unwind become direct ones (wasm/indirect.ts, as for wasm-opt):
      // those of a type with one function in the table get a guarded direct call, which V8 may
      // inline (qsort's comparator: the prepared qsort then runs as fast as the plain one).
      step(progress, 'indirect calls');
      ticked = devirtualizeUnwinding(withinCaps(ticked, progress), new Set(captureImports()))?.bytes ?? ticked;
    } catch (e) {
      if (e instanceof PrepareCapError) throw e;
      return null;
    }
    overDeadline(progress);
    step(progress, 'asyncify');
    // In the worker thread of the waits-only preparation, under the same caps: crafted nesting
    // makes this pass slow (a 3 KB module of 1000 nested loops: 0.25 s), and a daemon's thread
    // must go on answering meanwhile. The worker answers no module V8 would not validate.
    handedOver = true;
    const own = await asyncifyInWorker(ticked, progress, thread);
    return own.kind === 'done' ? own.bytes : null;
  } finally {
    if (!handedOver) thread.cancel();
  }
}

/** drawbridge's own Asyncify in its worker thread (one started already, or a new one), under the preparation's caps (a PrepareCapError past one). */
async function asyncifyInWorker(
  bytes: Uint8Array,
  progress: Progress,
  thread?: AsyncifyThread,
): Promise<Exclude<AsyncifyOutcome, { kind: 'over-time' | 'over-memory' }>> {
  const caps = progress.caps;
  const limits = { deadline: progress.deadline, memoryBytes: caps?.memoryBytes ?? Infinity };
  const own = await (thread ? thread.run(bytes, captureImports(), limits) : instrumentInWorker(bytes, captureImports(), limits));
  if (own.kind === 'over-time') throw new PrepareCapError(`preparing took longer than ${caps!.timeoutMs / 1000} s (DRAWBRIDGE_PREPARE_TIMEOUT)`);
  if (own.kind === 'over-memory')
    throw new PrepareCapError(`instrumenting needed more than ${Math.round(caps!.memoryBytes / 2 ** 20)} MiB of memory (DRAWBRIDGE_PREPARE_MEMORY)`);
  return own;
}

/** Put `prepared` (made from `bytes` by wasm-opt, which does not fill the cache by itself) in the cache for later runs. */
export function keepPrepared(bytes: Uint8Array, prepared: Uint8Array, waitsOnly: boolean): void {
  save(prepared, preparedPath(bytes, waitsOnly));
}

/** Write a prepared module into the cache (atomically: a reader never sees half of one). */
function save(prepared: Uint8Array, target: string): Uint8Array {
  mkdirSync(cacheDir(), { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, prepared);
  renameSync(tmp, target);
  return prepared;
}

/**
 * Most code one wasm-opt run instruments in a waits-only preparation, in bytes of small
 * functions (instrumentCost): the functions to instrument are split into runs of about this
 * much, which bounds wasm-opt's memory (it grows with the code it holds) whatever the
 * module's size.
 */
const CHUNK_CODE_BYTES = 8 * 2 ** 20;

/**
 * Waits-only: Asyncify on the functions that can reach an import that may wait, and on no
 * other (wasm/call-graph.ts finds them), without the tick counter, the devirtualizer or an
 * optimizing pass. drawbridge's own instrumentation (wasm/asyncify.ts) does it in one pass;
 * a module it does not take goes to wasm-opt, which sees only skeletons of the module
 * (wasm/subset.ts): the bodies of one chunk of those functions, the others `unreachable`,
 * every function named f<index>; the instrumented bodies are then put back into the original,
 * whose other bodies, names and custom sections stay as they were.
 */
async function prepareWaitsOnly(bytes: Uint8Array, work: string, progress: Progress): Promise<{ prepared: Uint8Array; run?: Uint8Array }> {
  step(progress, 'call graph');
  const code = sections(bytes).find((s) => s.id === 10);
  if (code && code.end - code.payload > MAX_CALL_GRAPH_CODE_BYTES)
    throw new PrepareCapError(`its code is over ${MAX_CALL_GRAPH_CODE_BYTES / 2 ** 20} MiB, more than the call graph takes on`);
  const imports = captureImports();
  // drawbridge's own instrumentation first (linear in the code: seconds where wasm-opt takes
  // minutes), in a worker thread under the caps; Binaryen for the modules it does not take.
  if (progress.options.instrumenter !== 'wasm-opt') {
    step(progress, 'asyncify');
    const own = await asyncifyInWorker(bytes, progress);
    switch (own.kind) {
      case 'done':
        step(progress, 'merging');
        return {
          prepared: concat([own.bytes, customSection(WAITS_ONLY_SECTION)]),
          run: concat([own.run, customSection(WAITS_ONLY_SECTION), customSection(RUN_ONLY_SECTION)]),
        };
      case 'invalid':
        throw new PrepareError('the instrumented module is not valid (a bug: please report it)');
      case 'error':
        throw new PrepareError(own.message);
      case 'unsupported':
        break;
    }
  }
  let graph;
  try {
    graph = callGraph(bytes);
  } catch (e) {
    throw new PrepareError((e as Error).message);
  }
  const wasmOpt = findWasmOpt();
  const instrument = reaching(graph, new Set(imports));
  for (let f = 0; f < graph.imported; f++) instrument[f] = 0;
  const list = join(work, 'onlylist.txt');
  const names: string[] = [];
  for (let f = graph.imported; f < graph.total; f++) if (instrument[f]) names.push(skeletonName(f));
  if (names.length === 0) throw new PrepareError('no function of the module can reach a call that waits: there is nothing to capture');
  // Commas, not lines: Binaryen 108 splits a response file at commas only.
  writeFileSync(list, names.join(','));
  overDeadline(progress);
  const chunks = chunksOf(bytes, graph.imported, instrument, progress.options.chunkCodeBytes ?? CHUNK_CODE_BYTES);
  // Two wasm-opt runs at a time where there are two cores: one function far bigger than the
  // others keeps one thread of a run busy long after the rest of its chunk is done.
  const outputs: ToolOutput[] = new Array(chunks.length);
  let next = 0;
  let done = 0;
  const detail = () => (chunks.length > 1 ? `${done} of ${chunks.length} parts done` : undefined);
  let failed = false;
  const worker = async () => {
    for (let k = next++; k < chunks.length && !failed; k = next++) {
      const take = chunks[k]!;
      const input = join(work, `chunk${k}.wasm`);
      const output = join(work, `chunk${k}.out.wasm`);
      writeFileSync(input, skeleton(bytes, take));
      // --optimize-level sets the level of Asyncify's own clean-up of the functions it
      // instruments, and adds no pass: without it Asyncify keeps every local of the flattened
      // code, and finding which are live at each call takes far longer on a big function.
      const args = [
        input,
        '-o',
        output,
        ...FEATURES,
        '--optimize-level=1',
        '--asyncify',
        `--pass-arg=asyncify-imports@${imports.join(',')}`,
        `--pass-arg=asyncify-onlylist@@${list}`,
      ];
      await run(wasmOpt, args, progress, 'asyncify', detail);
      overDeadline(progress);
      outputs[k] = { bytes: readFileSync(output), take };
      rmSync(input);
      rmSync(output);
      done++;
    }
  };
  const workers = Math.max(1, Math.min(PARALLEL_RUNS, availableParallelism(), chunks.length));
  // A failed run stops the other worker after its current run (none is left running when the
  // work folder is removed); the first failure is the one reported.
  const results = await Promise.allSettled(
    Array.from({ length: workers }, () =>
      worker().catch((e: unknown) => {
        failed = true;
        throw e;
      }),
    ),
  );
  const failure = results.find((r) => r.status === 'rejected');
  if (failure) throw failure.reason;
  step(progress, 'merging');
  let merged: Uint8Array;
  try {
    merged = merge(bytes, outputs);
  } catch (e) {
    throw new PrepareError(`the instrumented functions could not be put back: ${(e as Error).message}`);
  }
  if (!WebAssembly.validate(merged as Uint8Array<ArrayBuffer>)) throw new PrepareError('the instrumented module is not valid (a bug: please report it)');
  const prepared = addControlExport(merged) ?? exportMutableGlobals(merged);
  return { prepared: concat([prepared, customSection(WAITS_ONLY_SECTION)]) };
}

/** How many wasm-opt runs a waits-only preparation makes at once (at most one per core). */
const PARALLEL_RUNS = 2;

/** Most code bytes the call graph reads in one preparation. */
const MAX_CALL_GRAPH_CODE_BYTES = 512 * 2 ** 20;

/**
 * What instrumenting a function costs, in bytes of code of a small function: Asyncify's work
 * grows faster than a function's size (liveness over the flattened code), so a big function
 * counts for more than its bytes and chunks of equal cost keep the two runs busy alike.
 */
function instrumentCost(bodyBytes: number): number {
  return bodyBytes + (bodyBytes * bodyBytes) / BIG_FUNCTION_BYTES;
}
const BIG_FUNCTION_BYTES = 16 * 1024;

/** The functions to instrument, split into chunks of about `most` of instrumentCost: one marks array per chunk. */
function chunksOf(bytes: Uint8Array, imported: number, instrument: Uint8Array, most: number): Uint8Array[] {
  const code = sections(bytes).find((s) => s.id === 10);
  const out: Uint8Array[] = [];
  if (!code) return out;
  const r = new Reader(bytes, code.payload);
  let current: Uint8Array | null = null;
  let cost = 0;
  for (let n = r.u32(), i = 0; i < n; i++) {
    const body = r.u32();
    r.pos += body;
    const f = imported + i;
    if (!instrument[f]) continue;
    const c = instrumentCost(body);
    if (current === null || cost + c > most) {
      current = new Uint8Array(instrument.length);
      out.push(current);
      cost = 0;
    }
    current[f] = 1;
    cost += c;
  }
  return out;
}

/** Features a C or Rust toolchain commonly emits; the optimizer may use them too. */
const FEATURES = ['--enable-bulk-memory', '--enable-sign-ext', '--enable-mutable-globals', '--enable-nontrapping-float-to-int', '--enable-simd'];

/** A JS rewriter's run: what it throws beyond a PrepareError (a stack overflow on deep nesting) is one line. */
function rewriter<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof PrepareError) throw e;
    throw new PrepareError(`the module could not be rewritten: ${(e as Error).message}`);
  }
}

function tryInsertTicks(bytes: Uint8Array): Uint8Array | null {
  try {
    return insertTicks(bytes);
  } catch {
    // An instruction the rewriter does not know: capture then waits for the next system call.
    return null;
  }
}

interface Progress {
  options: PrepareOptions;
  steps: readonly Step[];
  caps: PrepareCaps | null;
  /** Date.now() past which the preparation stops (Infinity: none). */
  deadline: number;
}

/** A one-line reason a module cannot be prepared, found without running a tool: invalid (ModuleError-like), or with a start function. */
export function checkPreparable(bytes: Uint8Array): void {
  if (!WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)) throw new PrepareInvalidError('not a valid WebAssembly module');
  // A start function runs inside instantiation, where a capture cannot unwind and a tick
  // cannot suspend: such a module runs unprepared (docs/snapshot.md).
  if (hasStartFunction(bytes)) throw new PrepareError('it has a start function (run at instantiation, where no capture can happen)');
}

/** Refused before any tool ran: the bytes are not a valid module. */
export class PrepareInvalidError extends PrepareError {}

/** Whether the module has a start section (a function run by instantiation itself). */
export function hasStartFunction(bytes: Uint8Array): boolean {
  try {
    return sections(bytes).some((s) => s.id === 8);
  } catch {
    return false;
  }
}

function overDeadline(p: Progress): void {
  if (Date.now() > p.deadline) throw new PrepareCapError(`preparing took longer than ${p.caps!.timeoutMs / 1000} s (DRAWBRIDGE_PREPARE_TIMEOUT)`);
}

/** The bytes, if the JS rewriters may take them on (time left, code not over MAX_REWRITE_CODE_BYTES). */
function withinCaps(bytes: Uint8Array, p: Progress): Uint8Array {
  overDeadline(p);
  const code = sections(bytes).find((s) => s.id === 10);
  if (code && code.end - code.payload > MAX_REWRITE_CODE_BYTES)
    throw new PrepareCapError(`its code is over ${MAX_REWRITE_CODE_BYTES / 2 ** 20} MiB, more than the rewriters take on`);
  return bytes;
}

function step(p: Progress, name: Step, seconds = 0, detail?: () => string | undefined): void {
  const more = detail?.();
  p.options.onProgress?.(more ? `${name}, ${more}` : name, seconds, p.steps.indexOf(name) + 1, p.steps.length);
}

function run(cmd: string, args: string[], progress: Progress, name: Step, detail?: () => string | undefined): Promise<void> {
  step(progress, name, 0, detail);
  const caps = progress.caps;
  // Under a memory cap, wasm-opt runs with its address space limited (prlimit, else the
  // shell's ulimit -v); it is its own process group, killed whole past the deadline.
  let command = cmd;
  let argv = args;
  if (caps && Number.isFinite(caps.memoryBytes)) {
    const kib = Math.ceil(caps.memoryBytes / 1024);
    command = '/bin/sh';
    argv = ['-c', `ulimit -v ${kib} && exec "$0" "$@"`, cmd, ...args];
  }
  return new Promise((resolve, reject) => {
    const child = nodeChildProcess().spawn(command, argv, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      // Only its last lines are reported: keep a bounded tail.
      err = (err + d.toString()).slice(-4096);
    });
    const started = Date.now();
    const timer = setInterval(() => step(progress, name, Math.round((Date.now() - started) / 1000), detail), 1000);
    let timedOut = false;
    const left = progress.deadline - Date.now();
    const killer = Number.isFinite(left)
      ? setTimeout(
          () => {
            timedOut = true;
            killGroup(child.pid);
          },
          Math.max(0, left),
        )
      : null;
    const done = () => {
      clearInterval(timer);
      if (killer) clearTimeout(killer);
    };
    child.on('error', (e) => {
      done();
      reject(new PrepareError(`wasm-opt failed to start: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      done();
      if (timedOut) reject(new PrepareCapError(`preparing took longer than ${caps!.timeoutMs / 1000} s (DRAWBRIDGE_PREPARE_TIMEOUT)`));
      else if (code === 0) resolve();
      else if (caps && Number.isFinite(caps.memoryBytes) && (signal !== null || /bad_alloc|out of memory|Cannot allocate/i.test(err)))
        reject(new PrepareCapError(`wasm-opt needed more than ${Math.round(caps.memoryBytes / 2 ** 20)} MiB of memory (DRAWBRIDGE_PREPARE_MEMORY)`));
      else reject(new PrepareError(`wasm-opt failed (status ${code ?? signal}): ${err.trim().split('\n').slice(-3).join(' ')}`));
    });
  });
}

/** Kill a process group (wasm-opt and anything it started). */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ended already
  }
}
