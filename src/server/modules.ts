// The modules a host runs: read once, prepared for capture and preemption when they can be
// (Asyncify + ticks; cached on disk by content hash, prepare.ts), and compiled once per memory
// limit (the limit is the module's memory maximum, rewritten before compiling). A pool keeps
// one store on its main thread and hands the compiled modules to its workers.

import { compileModule, contentHash } from '../runtime/module-cache.ts';
import { AUTO_PREPARE_MAX_BYTES, isWaitsOnly, mayBePrepared, PrepareError, prepareModule } from '../runtime/prepare.ts';
import { limitModuleMemory } from '../runtime/quotas.ts';

/** Room the checkpoint unwind buffer needs above the memory limit (capture.ts DATA_PAGES). */
const CAPTURE_PAGES = 16;

/** A module read, prepared (when it can be) and compiled per memory limit. */
export interface LoadedModule {
  name: string;
  hash: string;
  /** What runs and goes into snapshots: the prepared bytes, or the original ones. */
  bytes: Uint8Array;
  prepared: boolean;
  /**
   * Has the tick counter, so a host can preempt it: prepared, and not with --waits-only. A
   * module that cannot be preempted gets a worker thread of its own in a pool (pool.ts).
   */
  preemptible: boolean;
  compiled: Map<number, Promise<WebAssembly.Module>>;
}

export class ModuleStore {
  private readonly prepare: boolean;
  private readonly modules = new Map<string, Promise<LoadedModule>>();

  /** prepare: prepare modules up to AUTO_PREPARE_MAX_BYTES (needs wasm-opt). */
  constructor(prepare = true) {
    this.prepare = prepare;
  }

  /** Read a module's bytes into a LoadedModule (prepared when possible; cached by content hash). */
  load(bytes: Uint8Array, name: string): Promise<LoadedModule> {
    const hash = contentHash(bytes);
    let p = this.modules.get(hash);
    if (!p) {
      p = this.prepareBytes(bytes).then(({ out, prepared }) => ({ name, hash, bytes: out, prepared, preemptible: prepared && !isWaitsOnly(out), compiled: new Map() }));
      p.catch(() => this.modules.delete(hash));
      this.modules.set(hash, p);
    }
    return p;
  }

  private async prepareBytes(bytes: Uint8Array): Promise<{ out: Uint8Array; prepared: boolean }> {
    if (!this.prepare) return { out: bytes, prepared: false };
    // A big module is not prepared here (minutes), but one `drawbridge prepare` made is used.
    if (bytes.length > AUTO_PREPARE_MAX_BYTES && !mayBePrepared(bytes)) return { out: bytes, prepared: false };
    try {
      return { out: await prepareModule(bytes), prepared: true };
    } catch (e) {
      if (e instanceof PrepareError) return { out: bytes, prepared: false };
      throw e;
    }
  }

  /** The module compiled with its memory maximum at the limit (compiled once per limit). */
  compiled(m: LoadedModule, limitBytes: number): Promise<WebAssembly.Module> {
    let p = m.compiled.get(limitBytes);
    if (!p) {
      p = Promise.resolve().then(() => compileModule(limitModuleMemory(m.bytes, limitBytes, m.prepared ? CAPTURE_PAGES : 0), m.name, { cache: false }));
      p.catch(() => m.compiled.delete(limitBytes));
      m.compiled.set(limitBytes, p);
    }
    return p;
  }
}
