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
import { createHash } from 'node:crypto';
import { adoptCompiled, checkMagic, compileModule, ModuleError, readModuleFile, tierUpPrepared } from './module-cache.ts';
import type { PicoprocessOptions } from './picoprocess-types.ts';
import { AUTO_PREPARE_MAX_BYTES, isWaitsOnly, mayBePrepared, PrepareError, prepareModule } from './prepare.ts';
import { limitModuleMemory } from './quotas.ts';

/** Room the checkpoint unwind buffer needs above a memory limit (capture.ts DATA_PAGES). */
const CAPTURE_PAGES = 16;

/** A module as it will run: its name, and its bytes (the prepared ones when it is prepared). */
export interface ModuleImage {
  name: string;
  /** What runs and goes into snapshots: the prepared bytes, or the original ones. */
  bytes: Uint8Array;
  prepared: boolean;
}

/** A loaded module: not prepared, `why` says why not (what `drawbridge checkpoint` answers), when it is known. */
export interface LoadedImage extends ModuleImage {
  why: string | null;
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

/** The module prepared as `policy` says (capturable), or as it is, with why not. */
export async function prepareImage(bytes: Uint8Array, name: string, policy: PreparePolicy): Promise<LoadedImage> {
  const as = (why: string | null): LoadedImage => ({ name, bytes, prepared: false, why });
  if (policy === 'never') return as(null);
  if (typeof policy === 'object') return as(policy.never);
  if (policy === 'always') return { name, bytes: await prepareModule(bytes), prepared: true, why: null };
  // A big module is not prepared here (minutes), but one `drawbridge prepare` made is used.
  if (bytes.length > AUTO_PREPARE_MAX_BYTES && !mayBePrepared(bytes)) {
    return as(
      `${name} is not prepared for checkpoints (modules over ${AUTO_PREPARE_MAX_BYTES / 1024} KiB are not prepared at first run): run \`drawbridge prepare ${name}\`, then start it again`,
    );
  }
  try {
    return { name, bytes: await prepareModule(bytes), prepared: true, why: null };
  } catch (e) {
    // It runs, but cannot be checkpointed.
    if (e instanceof PrepareError) return as(`${name} cannot be checkpointed: ${e.message}`);
    throw e;
  }
}

/** Whether a host can preempt it: prepared with the tick counter (not --waits-only). One that cannot gets a worker thread of its own in a pool. */
export function isPreemptible(image: ModuleImage): boolean {
  return image.prepared && !isWaitsOnly(image.bytes);
}

// --- compile ---------------------------------------------------------------------------------

/** Compile an image (see CompileOptions). */
export async function compileImage(image: ModuleImage, options: CompileOptions = {}): Promise<CompiledImage> {
  const tierUp = image.prepared && options.mayTierUp === true && tierUpPrepared(image.bytes);
  if (options.early && !image.prepared) return { image, module: await adoptCompiled(options.early.module, image.name), tierUp };
  const bytes = options.memoryLimit === undefined ? image.bytes : limitModuleMemory(image.bytes, options.memoryLimit, image.prepared ? CAPTURE_PAGES : 0);
  return { image, module: await compileModule(bytes, image.name, { cache: options.cache, baseline: tierUp }), tierUp };
}

/**
 * Load, prepare and compile: the path of a module that runs once (`drawbridge run`, runCommand).
 * `sourceSha256` is the SHA-256 of the module's bytes as given (what a measurement names).
 */
export async function loadProgram(options: LoadOptions): Promise<CompiledImage & { why: string | null; sourceSha256: string }> {
  const bytes = typeof options.source === 'string' ? await readModule(options.source, options.early) : options.source;
  const sourceSha256 = createHash('sha256').update(bytes).digest('hex');
  if (options.moduleSha256 && sourceSha256 !== options.moduleSha256) {
    throw new ModuleError(
      `${options.name} has sha256 ${sourceSha256}; the manifest pins module_sha256 = ${options.moduleSha256}: run the module it names, or change the pin (drawbridge measure)`,
    );
  }
  const image = await prepareImage(bytes, options.name, options.prepare);
  return { ...(await compileImage(image, options)), why: image.why, sourceSha256 };
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
): Pick<PicoprocessOptions, 'module' | 'capture' | 'optimize' | 'restore' | 'forkChild'> {
  const { image, module, tierUp } = compiled;
  const options: Pick<PicoprocessOptions, 'module' | 'capture' | 'optimize' | 'restore' | 'forkChild'> = { module };
  if (image.prepared)
    options.capture = from.extensions
      ? { moduleBytes: image.bytes, moduleName: image.name, extensions: from.extensions }
      : { moduleBytes: image.bytes, moduleName: image.name };
  if (tierUp) options.optimize = () => module;
  if (from.restore) options.restore = from.restore;
  if (from.forkChild) options.forkChild = true;
  return options;
}
