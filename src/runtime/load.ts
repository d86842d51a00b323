// The one way from a module to a started picoprocess: load (its bytes: a file, bytes given, a
// snapshot's module) -> prepare (Asyncify and ticks, prepare.ts; when and how is the caller's
// policy) -> compile (module-cache.ts; cached or not, the tier, a memory limit) -> start
// (what startCommand gets from the module: the compiled module, capture when it is prepared,
// the tier-up move, a snapshot to continue).
//
// `drawbridge run`, `drawbridge restore`, the library API (run.ts), the daemon (server/modules.ts,
// server/supervisor.ts) and children (launcher.ts) all take this path; what differs between them
// is a parameter here. The start itself is startCommand(startOptions(...)): this file does not
// import picoprocess.ts, because the child launcher, which startCommand itself sets up, takes
// this path too (an import circle otherwise).

import type { SavedExtension, Snapshot, SnapshotMeta } from '../checkpoint/snapshot.ts';
import { adoptCompiled, checkMagic, compileModule, ModuleError, readModuleFile, tierUpPrepared } from './module-cache.ts';
import { sha256 } from '../host/node/lazy-builtins.ts';
import type { ModuleImage, PicoprocessOptions } from './picoprocess-types.ts';
import {
  AUTO_PREPARE_MAX_BYTES,
  hasStartFunction,
  isWaitsOnly,
  mayBePrepared,
  cachedRunModule,
  PrepareCapError,
  PrepareError,
  PrepareInvalidError,
  prepareCaps,
  prepareModule,
} from './prepare.ts';
import { limitModuleMemory } from './quotas.ts';

/** Room the checkpoint unwind buffer needs above a memory limit (capture.ts DATA_PAGES). */
const CAPTURE_PAGES = 16;

export type { ModuleImage };

/**
 * The memory limit each compiled module was compiled under (its memory maximum at most that):
 * startCommand compiles again a module not compiled under the manifest's limit.
 */
const memoryBounds = new WeakMap<WebAssembly.Module, number>();

/** The limits.memory `module` was compiled under; undefined: none known. */
export function memoryBoundOf(module: WebAssembly.Module): number | undefined {
  return memoryBounds.get(module);
}

/** Record that `module` was compiled under `limitBytes` (a module that crossed threads: the sender compiled it so). */
export function markMemoryBound(module: WebAssembly.Module, limitBytes: number): void {
  const known = memoryBounds.get(module);
  if (known === undefined || limitBytes < known) memoryBounds.set(module, limitBytes);
}

/** A loaded module: not prepared, `why` says why not (what `drawbridge checkpoint` answers), when it is known. */
export interface LoadedImage extends ModuleImage {
  why: string | null;
  /** It was not prepared because a preparation cap stopped it: `why` is said at once (stderr, the spawn answer). */
  capped?: boolean;
}

/** An image compiled: what startOptions needs. */
export interface CompiledImage {
  image: ModuleImage;
  module: WebAssembly.Module;
  /** Started in V8's baseline tier, to move onto a tiered-up instance after its first slice (tierUpPrepared). */
  tierUp: boolean;
}

/**
 * When to prepare a module: 'always' (a failure is thrown), 'never', { never: why } (with the
 * reason a checkpoint will be refused), or 'auto': modules up to AUTO_PREPARE_MAX_BYTES, a bigger
 * one only when `drawbridge prepare` made it already; one that cannot be prepared runs unprepared.
 */
export type PreparePolicy = 'always' | 'auto' | 'never' | { never: string };

/** A module whose reading and compiling began before the CLI loaded (cli/early-module.ts). */
export interface EarlyModule {
  bytes: Promise<Uint8Array>;
  module: Promise<WebAssembly.Module>;
  /** The limits.memory written into the bytes before that compile (undefined: none). */
  memoryLimit?: number;
}

export interface CompileOptions {
  /** Keep the compiled module in this process's cache by content hash (module-cache.ts; default true). */
  cache?: boolean;
  /** A prepared module may start in the baseline tier and tier up later (tierUpPrepared decides). */
  mayTierUp?: boolean;
  /** Compile with the module's memory maximum at this many bytes (a manifest's limits.memory). */
  memoryLimit?: number;
  /** The early compile of these bytes, used when the module is not prepared. */
  early?: EarlyModule;
  /** Compile in V8's baseline tier (a module that tiers up later). */
  baseline?: boolean;
}

export interface LoadOptions extends CompileOptions {
  /** A path to a .wasm file, or its bytes. */
  source: string | Uint8Array;
  /** The module's name (in messages and snapshots). */
  name: string;
  prepare: PreparePolicy;
  /** The SHA-256 (hex) the module's bytes must have (a manifest's module_sha256): checked on the bytes that run. */
  moduleSha256?: string | null;
}

// --- load ------------------------------------------------------------------------------------

/** A module file's bytes (from its early read when there is one); a one-line error for a missing file or one that is not Wasm. */
async function readModule(path: string, early?: EarlyModule): Promise<Uint8Array> {
  if (!early) return readModuleFile(path);
  const bytes = (await early.bytes.catch(() => null)) || (await readModuleFile(path));
  checkMagic(bytes, path);
  return bytes;
}

/** The image a snapshot carries: its module, prepared (a snapshot is taken only of a prepared one). */
export function snapshotImage(module: Uint8Array, meta: SnapshotMeta): ModuleImage {
  return { name: meta.module.name, bytes: module, prepared: true };
}

// --- prepare ---------------------------------------------------------------------------------

/** The module prepared as `policy` says (capturable), or as it is, with why not. Bytes that are not a valid module: a one-line ModuleError. */
export async function prepareImage(bytes: Uint8Array, name: string, policy: PreparePolicy, options: { runOnly?: boolean } = {}): Promise<LoadedImage> {
  const as = (why: string | null, capped = false): LoadedImage => ({ name, bytes, prepared: false, why, ...(capped ? { capped } : {}) });
  if (policy === 'never') return as(null);
  if (typeof policy === 'object') return as(policy.never);
  const caps = { caps: prepareCaps() };
  // runOnly: a waits-only preparation runs without its rewind versions, the whole module read
  // only if a rewind comes (a process that holds the image itself; not one sent to a thread).
  const prepared = async (): Promise<LoadedImage> => {
    const whole = await prepareModule(bytes, caps);
    const run = options.runOnly ? cachedRunModule(bytes) : null;
    return run ? { name, bytes: run.run, whole: run.whole, prepared: true, why: null } : { name, bytes: whole, prepared: true, why: null };
  };
  try {
    const cached = options.runOnly ? cachedRunModule(bytes) : null;
    if (cached) return { name, bytes: cached.run, whole: cached.whole, prepared: true, why: null };
    if (policy === 'always') return await prepared();
    // A big module is not prepared here (minutes), but one `drawbridge prepare` made is used.
    if (bytes.length > AUTO_PREPARE_MAX_BYTES && !mayBePrepared(bytes)) {
      if (hasStartFunction(bytes)) return as(`${name} cannot be checkpointed: it has a start function (run at instantiation, where no capture can happen)`);
      return as(
        `${name} is not prepared for checkpoints (modules over ${AUTO_PREPARE_MAX_BYTES / 1024} KiB are not prepared at first run): run \`drawbridge prepare ${name}\`, then start it again`,
      );
    }
    return await prepared();
  } catch (e) {
    if (e instanceof PrepareInvalidError) throw await invalidModule(bytes, name);
    // It runs, but cannot be checkpointed.
    if (e instanceof PrepareError && policy === 'auto') return as(`${name} cannot be checkpointed: ${e.message}`, e instanceof PrepareCapError);
    throw e;
  }
}

/** V8's one-line reason the bytes are not a valid module. */
async function invalidModule(bytes: Uint8Array, name: string): Promise<ModuleError> {
  try {
    await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
    return new ModuleError(`${name}: invalid WebAssembly module`);
  } catch (e) {
    return new ModuleError(`${name}: invalid WebAssembly module: ${(e as Error).message}`);
  }
}

/** Whether a host can preempt it: prepared with the tick counter (not --waits-only). One that cannot gets a worker thread of its own in a pool. */
export function isPreemptible(image: ModuleImage): boolean {
  return image.prepared && !isWaitsOnly(image.bytes);
}

// --- compile ---------------------------------------------------------------------------------

/** Compile an image (see CompileOptions). */
export async function compileImage(image: ModuleImage, options: CompileOptions = {}): Promise<CompiledImage> {
  // A module without its rewind versions cannot be moved by a rewind onto a tiered-up one.
  const tierUp = image.prepared && !image.whole && options.mayTierUp === true && tierUpPrepared(image.bytes);
  // The limit written into the bytes (a copy of a big module) only when they are compiled here.
  let bytes: Uint8Array | undefined;
  const limited = (): Uint8Array =>
    (bytes ??= options.memoryLimit === undefined ? image.bytes : limitModuleMemory(image.bytes, options.memoryLimit, image.prepared ? CAPTURE_PAGES : 0));
  const module =
    options.early && !image.prepared && earlyCompiled(options.early, image.bytes, limited, options.memoryLimit)
      ? await adoptCompiled(options.early.module, image.name)
      : await compileModule(limited(), image.name, { cache: options.cache, baseline: tierUp || options.baseline === true });
  if (options.memoryLimit !== undefined) markMemoryBound(module, options.memoryLimit);
  return { image, module, tierUp };
}

/** Whether the early compile was of `bytes` (the image's bytes under `memoryLimit`). */
function earlyCompiled(early: EarlyModule, original: Uint8Array, bytes: () => Uint8Array, memoryLimit: number | undefined): boolean {
  if (early.memoryLimit === memoryLimit) return true;
  // Different limits, the same bytes: when neither rewrite changed the module.
  return bytes() === original && (early.memoryLimit === undefined || limitModuleMemory(original, early.memoryLimit) === original);
}

/**
 * Load, prepare and compile: the path of a module that runs once (`drawbridge run`, runCommand).
 * `sourceSha256()` is the SHA-256 of the module's bytes as given (what a measurement names),
 * computed when first asked for: hashing a big module is a noticeable part of a short run.
 */
export async function loadProgram(options: LoadOptions): Promise<CompiledImage & { why: string | null; capped: boolean; sourceSha256: () => string }> {
  const bytes = typeof options.source === 'string' ? await readModule(options.source, options.early) : options.source;
  let hash: string | undefined;
  const sourceSha256 = (): string => (hash ??= sha256(bytes).toString('hex'));
  if (options.moduleSha256 && sourceSha256() !== options.moduleSha256) {
    throw new ModuleError(
      `${options.name} has sha256 ${sourceSha256()}; the manifest pins module_sha256 = ${options.moduleSha256}: run the module it names, or change the pin (drawbridge measure)`,
    );
  }
  const image = await prepareImage(bytes, options.name, options.prepare, { runOnly: true });
  return { ...(await compileImage(image, options)), why: image.why, capped: image.capped === true, sourceSha256 };
}

/**
 * The module of a picoprocess about to start, under its manifest's limits.memory: `module` when
 * it was compiled so, else compiled again from its image (startCommand calls this, so no caller
 * can start a picoprocess past its memory limit by forgetting it).
 */
export async function moduleUnderLimit(
  options: Pick<PicoprocessOptions, 'module' | 'image' | 'capture' | 'manifest' | 'optimize'>,
): Promise<WebAssembly.Module> {
  const limit = options.manifest.limits.memory;
  const bound = memoryBoundOf(options.module);
  if (bound !== undefined && bound <= limit) return options.module;
  const image = options.image ?? (options.capture ? { name: options.capture.moduleName, bytes: options.capture.moduleBytes, prepared: true } : null);
  if (!image) return options.module;
  return (await compileImage(image, { memoryLimit: limit, baseline: options.optimize !== undefined })).module;
}

/**
 * The tier-up of a picoprocess whose module moduleUnderLimit compiled again: the caller's
 * target when it was compiled under the limit, else the same limited bytes compiled anew.
 */
export function optimizeUnderLimit(options: Pick<PicoprocessOptions, 'image' | 'capture' | 'manifest' | 'optimize'>): () => WebAssembly.Module {
  const image = options.image ?? { name: options.capture!.moduleName, bytes: options.capture!.moduleBytes, prepared: true };
  const limit = options.manifest.limits.memory;
  return () => {
    const theirs = options.optimize!();
    const bound = memoryBoundOf(theirs);
    if (bound !== undefined && bound <= limit) return theirs;
    const module = new WebAssembly.Module(limitModuleMemory(image.bytes, limit, image.prepared ? CAPTURE_PAGES : 0) as Uint8Array<ArrayBuffer>);
    markMemoryBound(module, limit);
    return module;
  };
}

// --- start -----------------------------------------------------------------------------------

export interface StartFrom {
  /** The extensions' state for its snapshots. */
  extensions?: () => SavedExtension[];
  /** Continue this snapshot (of the image's module). */
  restore?: Snapshot;
  /** The snapshot is a fork child's. */
  forkChild?: boolean;
}

/** What startCommand gets from the module: spread into its options. */
export function startOptions(
  compiled: CompiledImage,
  from: StartFrom = {},
): Pick<PicoprocessOptions, 'module' | 'image' | 'capture' | 'optimize' | 'restore' | 'forkChild'> {
  const { image, module, tierUp } = compiled;
  const options: Pick<PicoprocessOptions, 'module' | 'image' | 'capture' | 'optimize' | 'restore' | 'forkChild'> = { module, image };
  if (image.prepared) {
    options.capture = from.extensions
      ? { moduleBytes: image.bytes, moduleName: image.name, extensions: from.extensions }
      : { moduleBytes: image.bytes, moduleName: image.name };
    if (image.whole) options.capture.whole = image.whole;
  }
  if (tierUp) options.optimize = () => module;
  if (from.restore) options.restore = from.restore;
  if (from.forkChild) options.forkChild = true;
  return options;
}
