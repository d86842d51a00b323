// The modules a host runs: read once, prepared for capture and preemption when they can be
// (Asyncify + ticks; cached on disk by content hash, prepare.ts), and compiled once per memory
// limit (the limit is the module's memory maximum, rewritten before compiling): the load path
// of runtime/load.ts, each step kept once per module. A pool keeps one store on its main
// thread and hands the compiled modules to its workers.

import { contentHash } from '../runtime/module-cache.ts';
import { compileImage, isPreemptible, prepareImage, type ModuleImage } from '../runtime/load.ts';

/** A module read, prepared (when it can be) and compiled per memory limit. */
export interface LoadedModule extends ModuleImage {
  hash: string;
  /**
   * Has the tick counter, so a host can preempt it: prepared, and not with --waits-only. A
   * module that cannot be preempted gets a worker thread of its own in a pool (workers.ts).
   */
  preemptible: boolean;
  compiled: Map<number, Promise<WebAssembly.Module>>;
  /**
   * The module's bytes as given (whose SHA-256 is `hash`), when they are known here: what a
   * log checkpoint carries (a replay may run it prepared or not). A pool's main thread keeps
   * them; its workers do not get them.
   */
  source?: Uint8Array;
  /** A preparation cap stopped its preparation: why it cannot be checkpointed (the spawn answer says it). */
  capped?: string;
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
      p = prepareImage(bytes, name, this.prepare ? 'auto' : 'never').then((image) => ({
        name,
        hash,
        bytes: image.bytes,
        prepared: image.prepared,
        preemptible: isPreemptible(image),
        compiled: new Map(),
        source: bytes,
        ...(image.capped && image.why ? { capped: image.why } : {}),
      }));
      p.catch(() => this.modules.delete(hash));
      this.modules.set(hash, p);
    }
    return p;
  }

  /** The module compiled with its memory maximum at the limit (compiled once per limit). */
  compiled(m: LoadedModule, limitBytes: number): Promise<WebAssembly.Module> {
    let p = m.compiled.get(limitBytes);
    if (!p) {
      p = compileImage(m, { cache: false, memoryLimit: limitBytes }).then((c) => c.module);
      p.catch(() => m.compiled.delete(limitBytes));
      m.compiled.set(limitBytes, p);
    }
    return p;
  }
}
