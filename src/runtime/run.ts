// The library API for running a WASI command to completion: what `drawbridge run`, the
// conformance runner and the benchmarks use.

import type { Host, OutputSink } from '../host/kernel/host.ts';
import { createNodeHost } from '../host/node/index.ts';
import { GuestError } from '../libos/index.ts';
import { emptyManifest, withCliGrants, type Manifest } from '../monitor/manifest/manifest.ts';
import { ModuleError } from './module-cache.ts';
import { loadProgram, startOptions } from './load.ts';
import { startCommand, type ExitStatus } from './picoprocess.ts';

export interface RunOptions {
  /** A path to a .wasm file, or its bytes. */
  module: string | Uint8Array;
  /** argv including argv[0]. */
  args: string[];
  env?: Record<string, string>;
  dirs?: { host: string; guest: string; readOnly?: boolean }[];
  /** A manifest to start from (mounts, env and limits); dirs and env add to it. */
  manifest?: Manifest;
  /** Bytes for stdin; 'inherit' for the real one; default: empty. */
  stdin?: Uint8Array | 'inherit';
  /** Collect stdout/stderr instead of inheriting them. */
  capture?: boolean;
  host?: Host;
  /**
   * Run the module prepared for checkpoints (Asyncify and the tick counter; prepare.ts, cached
   * on disk), as `drawbridge run` does (compiled as module-cache.ts decides; tierUpPrepared).
   */
  prepared?: boolean;
}

export interface RunResult extends ExitStatus {
  stdout: Uint8Array;
  stderr: Uint8Array;
}

let defaultHost: Host | null = null;

function collector(): { sink: OutputSink; bytes(): Uint8Array } {
  const chunks: Uint8Array[] = [];
  return {
    sink: (b: Uint8Array) => void chunks.push(b.slice()),
    bytes: () => Buffer.concat(chunks),
  };
}

export async function runCommand(options: RunOptions): Promise<RunResult> {
  const name = typeof options.module === 'string' ? options.module : 'module';
  let manifest = options.manifest ?? emptyManifest();
  for (const d of options.dirs ?? []) {
    manifest = {
      ...manifest,
      mounts: [...manifest.mounts.filter((m) => m.guest !== d.guest), { host: d.host, guest: d.guest, mode: d.readOnly ? 'ro' : 'rw' }],
    };
  }
  if (options.env) {
    const r = withCliGrants(manifest, { env: Object.entries(options.env).map(([k, v]) => `${k}=${v}`) });
    if (!r.ok) throw new ModuleError(r.errors.map((e) => `${e.path}: ${e.message}`).join('; '));
    manifest = r.manifest;
  }
  const program = await loadProgram({
    source: options.module,
    name,
    prepare: options.prepared ? 'always' : 'never',
    mayTierUp: true,
    memoryLimit: manifest.limits.memory,
  });
  const out = collector();
  const err = collector();
  const host = options.host ?? (defaultHost ??= createNodeHost());
  const running = await startCommand({
    ...startOptions(program),
    host,
    args: options.args,
    manifest,
    stdin: options.stdin ?? new Uint8Array(0),
    stdout: options.capture ? out.sink : 'inherit',
    stderr: options.capture ? err.sink : 'inherit',
  });
  const status = await running.done;
  return { ...status, stdout: out.bytes(), stderr: err.bytes() };
}

export { GuestError, ModuleError };
