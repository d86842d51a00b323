// One picoprocess in the page: the guest instance, its library OS, the monitor, on the browser
// host, as runtime/picoprocess.ts starts one on Node (without what a page has no use for:
// children, fork, tier-up, CPU quotas). A prepared module (Asyncify: `drawbridge prepare` on
// Node) can be checkpointed and restored; its snapshots are the files Node reads and writes.

import type { HostKernel, InputEvent } from '../host/kernel/kernel.ts';
import type { OutputSink } from '../host/kernel/host.ts';
import { createWasiLibOs, GuestError, GuestFault, ProcExit, type WasiLibOs } from '../libos/index.ts';
import type { Manifest } from '../monitor/manifest/manifest.ts';
import { createMonitor, policyFromManifest } from '../monitor/monitor.ts';
import { CaptureCore } from '../checkpoint/capture-core.ts';
import { restoreMemoryWith, type Snapshot } from '../checkpoint/snapshot-format.ts';
import { ASYNCIFY_EXPORTS, CONTROL_EXPORT } from '../wasm/control.ts';
import { ERROR_EXIT_CODE, KILLED_EXIT_CODE, TRAP_EXIT_CODE } from '../abi/exit-status.ts';
import { bindImports } from './imports.ts';
import { capturePlatform } from './capture-platform.ts';
import { BROWSER_FORMAT } from './format-primitives.ts';
import type { PageStdin } from './stdin.ts';

export interface ExitStatus {
  exitCode: number;
  /** One line, when the guest trapped, misused the ABI or was killed. */
  error?: string;
  /** It was checkpointed and stopped (it continues from its snapshot). */
  checkpointed?: boolean;
}

export interface PicoprocessSpec {
  host: HostKernel;
  module: WebAssembly.Module;
  /** The module's bytes and SHA-256 (a prepared module's go into its snapshots). */
  bytes: Uint8Array;
  sha256: string;
  name: string;
  args: readonly string[];
  manifest: Manifest;
  stdin: PageStdin;
  stdout: OutputSink;
  stderr: OutputSink;
  /** Continue this snapshot (its module is `module`) instead of starting afresh. */
  restore?: Snapshot;
}

export interface Picoprocess {
  /** Settles when the guest ends (exits, traps, is killed or checkpointed without leaveRunning). */
  readonly done: Promise<ExitStatus>;
  /** A prepared module only: its snapshot, taken at its next wait; without leaveRunning it then stops. */
  checkpoint(leaveRunning?: boolean): Promise<Uint8Array>;
  /** Whether checkpoint can work: the module is prepared. */
  readonly capturable: boolean;
  /** Stop it (exit status 137). */
  kill(): void;
  /** Queue an input event for its frame buffer's display (DkInputEventRead); false when it has ended or the event is not one. */
  input(event: InputEvent): boolean;
}

/** Whether a module was prepared for capture (runtime/prepare.ts isPrepared, the same test). */
export function isPrepared(module: WebAssembly.Module): boolean {
  const names = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  return names.has(CONTROL_EXPORT) || ASYNCIFY_EXPORTS.every((n) => names.has(n));
}

/** Thrown at a killed guest's next wait, to end it. */
class Killed extends Error {}

function statusOf(e: unknown): ExitStatus {
  if (e instanceof ProcExit) return { exitCode: e.code };
  if (e instanceof Killed) return { exitCode: KILLED_EXIT_CODE, error: 'killed' };
  if (e instanceof GuestError || e instanceof GuestFault) return { exitCode: ERROR_EXIT_CODE, error: e.message };
  if (e instanceof WebAssembly.RuntimeError || e instanceof RangeError) return { exitCode: TRAP_EXIT_CODE, error: `wasm trap: ${(e as Error).message}` };
  throw e;
}

async function runExport(fn: (...a: any[]) => any): Promise<ExitStatus> {
  try {
    await WebAssembly.promising(fn)();
    return { exitCode: 0 };
  } catch (e) {
    return statusOf(e);
  }
}

export async function startPicoprocess(spec: PicoprocessSpec): Promise<Picoprocess> {
  const { manifest } = spec;
  const process = spec.host.createProcess({
    stdout: spec.stdout,
    stderr: spec.stderr,
    stdioStreams: [spec.stdin],
    maxHandles: manifest.limits.handles,
  });
  let libos: WasiLibOs;
  try {
    const dk = createMonitor(process.dk, policyFromManifest(manifest));
    const env = Object.entries(manifest.env).map(([k, v]) => `${k}=${v}`);
    const preopens = manifest.mounts.map((m) => ({ guestPath: m.guest, name: m.guest }));
    libos = createWasiLibOs(dk, { args: spec.args, env, preopens }, spec.restore?.meta.libos);
  } catch (e) {
    process.kill(ERROR_EXIT_CODE);
    throw e;
  }
  const capturer = isPrepared(spec.module)
    ? new CaptureCore(libos, { moduleBytes: spec.bytes, moduleName: spec.name, args: spec.args, manifest }, capturePlatform(spec.bytes, spec.sha256))
    : null;
  if (spec.restore && !capturer) {
    libos.close();
    process.kill(ERROR_EXIT_CODE);
    throw new Error('the snapshot carries a module that is not prepared: it cannot be restored');
  }
  if (capturer) capturer.processId = process.id;
  let killed = false;
  let instance: WebAssembly.Instance;
  try {
    const imports = bindImports(spec.module, libos, capturer, () => {
      if (killed) throw new Killed();
    });
    instance = await WebAssembly.instantiate(spec.module, imports);
    const memory = instance.exports.memory;
    if (!(memory instanceof WebAssembly.Memory)) throw new GuestError('the module exports no memory named "memory", which WASI requires');
    if (typeof instance.exports._start !== 'function') throw new GuestError('the module has no _start export: it is not a WASI command');
    libos.attachMemory(memory);
    process.attachMemory(memory);
    if (capturer) {
      capturer.bind(instance, memory);
      if (spec.restore) {
        // Pages are checked as they land; a bad one stops the restore before the guest runs.
        restoreMemoryWith(BROWSER_FORMAT, spec.restore, memory);
        capturer.restoreGlobals(spec.restore.meta.globals);
        capturer.startRewind(spec.restore.meta.asyncify.dataAddr, spec.restore.meta.asyncify.dataSize);
      }
    }
  } catch (e) {
    libos.close();
    process.kill(ERROR_EXIT_CODE);
    throw e;
  }
  const start = instance.exports._start as (...a: any[]) => any;
  const run = async (): Promise<ExitStatus> => {
    for (;;) {
      const status = await runExport(start);
      if (!capturer) return status;
      if (status.exitCode !== 0 || status.error) return capturer.ended(status);
      // The entry point also returns when a capture unwound the stack.
      const next = capturer.afterReturn();
      if (next === 'finished') return capturer.ended(status);
      if (next === 'stop') return { exitCode: 0, checkpointed: true };
      if (next !== 'continue') return capturer.ended({ exitCode: ERROR_EXIT_CODE, error: 'cannot go on after the checkpoint: no other instance in the page' });
    }
  };
  const done = run().then((status) => {
    libos.close();
    process.kill(status.exitCode);
    return status;
  });
  return {
    done,
    capturable: capturer !== null,
    checkpoint(leaveRunning = false) {
      if (!capturer) return Promise.reject(new Error(`${spec.name} is not prepared: prepare it on Node with drawbridge prepare and load the prepared file`));
      return capturer.request(leaveRunning);
    },
    input: (event) => spec.host.injectInput(process, event) === 0,
    kill() {
      killed = true;
      // Ends the waits of the picoprocess; the guest's next call throws Killed.
      process.kill(KILLED_EXIT_CODE);
    },
  };
}
