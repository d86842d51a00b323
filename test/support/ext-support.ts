// Helpers of the extension tests: run a guest with an extension stack, in process, and an
// ExtensionHost that keeps outputs and inputs in memory.
import { readFileSync } from 'node:fs';
import { compileModule } from '../../src/runtime/module-cache.ts';
import { startCommand } from '../../src/runtime/picoprocess.ts';
import { loadExtensions, type ExtensionRequest, type ExtensionStack } from '../../src/runtime/extensions.ts';
import type { ExtensionHost } from '../../src/extensions/api.ts';
import { emptyManifest, type Manifest } from '../../src/monitor/manifest/manifest.ts';
import type { Preopen } from '../../src/libos/index.ts';
import { createNodeHost } from '../../src/host/node/index.ts';
import type { Host } from '../../src/host/kernel/host.ts';

export const extGuest = (name: string) => `build/guests/ext/${name}.wasm`;

export interface MemoryExtensionHost extends ExtensionHost {
  /** What was written, by file name ("" for stderr). */
  readonly written: Map<string, string>;
  /** Files readText may read. */
  readonly inputs: Map<string, string>;
}

export function memoryExtensionHost(): MemoryExtensionHost {
  const written = new Map<string, string>();
  const inputs = new Map<string, string>();
  return {
    written,
    inputs,
    output(file = '') {
      written.set(file, '');
      return { write: (t: string) => void written.set(file, written.get(file)! + t) };
    },
    readText(file) {
      const t = inputs.get(file) ?? written.get(file);
      if (t === undefined) throw new Error(`no such file ${file}`);
      return t;
    },
  };
}

export interface ExtRun {
  exitCode: number;
  error?: string;
  stdout: string;
  stderr: string;
}

export async function runWith(
  module: string,
  args: string[],
  options: {
    exts?: ExtensionRequest[];
    stack?: ExtensionStack;
    host?: ExtensionHost;
    stdin?: Uint8Array;
    manifest?: Manifest;
    preopens?: Preopen[];
    dkHost?: Host;
  } = {},
): Promise<ExtRun> {
  const compiled = await compileModule(readFileSync(module), module);
  const stack = options.stack ?? (await loadExtensions(options.exts ?? [], { host: options.host ?? memoryExtensionHost() }));
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  try {
    const running = await startCommand({
      host: options.dkHost ?? createNodeHost(),
      module: compiled,
      args,
      manifest: options.manifest ?? emptyManifest(),
      preopens: options.preopens,
      stdin: options.stdin ?? new Uint8Array(0),
      stdout: (b) => void out.push(b.slice()),
      stderr: (b) => void err.push(b.slice()),
      wrapDk: stack.wrap,
    });
    const status = await running.done;
    return { ...status, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
  } finally {
    stack.close();
  }
}
