// One picoprocess: a guest module instance, its library OS, the monitor, on a host.
//
//   guest .wasm --wasi_snapshot_preview1--> libos/wasi --Dk--> monitor --Dk--> host
//
// Calls that may wait are imported as JSPI Suspending functions and the entry point is
// wrapped with WebAssembly.promising, so a waiting guest suspends and the event loop runs
// other picoprocesses; everything else is a plain import.

import type { Picoprocess } from '../host/kernel/host.ts';
import { createWasiLibOs, GuestError, GuestFault, PreopenError, ProcExit, SYSCALLS, type Preopen, type WasiLibOs } from '../libos/index.ts';
import type { Manifest } from '../monitor/manifest/manifest.ts';
import { createMonitor } from '../monitor/monitor.ts';
import { policyFromManifest } from '../monitor/policy.ts';
import { trapMessage, wasmBacktrace } from './traps.ts';
import { ERROR_EXIT_CODE, TRAP_EXIT_CODE } from '../abi/exit-status.ts';
import { DRAWBRIDGE_CALLS } from '../libos/drawbridge/index.ts';
import { ExtensionHalt } from '../extensions/api.ts';
import { createChildLauncher } from './launcher.ts';
import { Capturer } from '../checkpoint/capture.ts';
import { TICK_MODULE, TICK_NAME } from '../wasm/ticks.ts';
import { restoreMemory, type Snapshot } from '../checkpoint/snapshot.ts';
import { Governor, QuotaStop } from './quotas.ts';
import { compileImage, isPreemptible, moduleUnderLimit, optimizeUnderLimit } from './load.ts';
import { watchCpu } from './cpu-watchdog.ts';
import { hasStartFunction } from './prepare.ts';
import { isMainThread } from 'node:worker_threads';
import type { ExitStatus, PicoprocessOptions, Running } from './picoprocess-types.ts';

export type { ExitStatus, PicoprocessOptions, Running };

const importDescriptors = new WeakMap<WebAssembly.Module, WebAssembly.ModuleImportDescriptor[]>();

/** A module's imports, listed once per module (V8 builds a fresh array on every call). */
function importsOf(module: WebAssembly.Module): WebAssembly.ModuleImportDescriptor[] {
  let list = importDescriptors.get(module);
  if (!list) importDescriptors.set(module, (list = WebAssembly.Module.imports(module)));
  return list;
}

/** Build the import object: WASI from the library OS, anything else inert (traps if called). */
export function buildImports(
  module: WebAssembly.Module,
  libos: WasiLibOs,
  extra: PicoprocessOptions['extraImports'] = {},
  capturer: Capturer | null = null,
  governor: Governor | null = null,
): WebAssembly.Imports {
  // The governor (CPU time, stops) sees every import that may wait and the tick (quotas.ts).
  const governed = (fn: (...a: any[]) => number | Promise<number>, everyCall = false) => (governor ? governor.wrap(fn, everyCall) : fn);
  const suspending = (fn: (...a: any[]) => number | Promise<number>, everyCall = false): WebAssembly.ImportValue =>
    new WebAssembly.Suspending(governed(capturer ? capturer.wrap(fn) : fn, everyCall)) as unknown as WebAssembly.ImportValue;
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  for (const imp of importsOf(module)) {
    const ns = (imports[imp.module] ??= {});
    if (imp.kind !== 'function') {
      throw new GuestError(`unsupported import ${imp.module}.${imp.name} (a ${imp.kind}): drawbridge provides functions only`);
    }
    if (imp.module === 'wasi_snapshot_preview1') {
      const fn = libos.syscall(imp.name);
      if (!fn) {
        ns[imp.name] = () => 52; // ENOSYS: not a preview1 function
        continue;
      }
      ns[imp.name] = SYSCALLS[imp.name]!.blocking ? suspending(fn) : fn;
    } else if (imp.module === 'drawbridge' && imp.name === 'fork') {
      // fork needs the capture machinery: a module that is not prepared gets ENOSYS.
      ns[imp.name] = capturer ? suspending(capturer.fork) : () => 52;
    } else if (imp.module === TICK_MODULE && imp.name === TICK_NAME) {
      // The countdown of a prepared module: without a capturer it only re-arms itself.
      ns[imp.name] = capturer ? suspending(capturer.tick, true) : (new WebAssembly.Suspending(governed(() => 0, true)) as unknown as WebAssembly.ImportValue);
    } else if (imp.module === 'drawbridge' && libos.drawbridgeCall(imp.name)) {
      const fn = libos.drawbridgeCall(imp.name)!;
      ns[imp.name] = DRAWBRIDGE_CALLS[imp.name]!.blocking ? suspending(fn) : fn;
    } else if (typeof extra[imp.module]?.[imp.name] === 'function') {
      ns[imp.name] = extra[imp.module]![imp.name]! as WebAssembly.ImportValue;
    } else {
      // Imports of other modules (e.g. Ruby's JS interop) stay inert until called.
      const what = `${imp.module}.${imp.name}`;
      ns[imp.name] = () => {
        throw new GuestError(`the program called ${what}, which drawbridge does not provide`);
      };
    }
  }
  return imports;
}

export function defaultPreopens(manifest: Manifest): Preopen[] {
  return manifest.mounts.map((m) => ({ guestPath: m.guest, name: m.guest }));
}

/** Instantiate a command or reactor module as a picoprocess (it does not run yet). */
export async function instantiate(
  options: PicoprocessOptions,
): Promise<{ process: Picoprocess; libos: WasiLibOs; instance: WebAssembly.Instance; capturer: Capturer | null; imports: WebAssembly.Imports }> {
  const { manifest } = options;
  const process = options.host.createProcess({
    stdin: options.stdin ?? 'null',
    stdout: options.stdout ?? 'inherit',
    stderr: options.stderr ?? 'inherit',
    maxHandles: manifest.limits.handles,
    launcher: options.launcher ?? createChildLauncher(options, startCommand),
    stdioStreams: options.stdioStreams,
  });
  const policy = policyFromManifest(manifest);
  if (options.onDenied) policy.onDenied = options.onDenied;
  let dk = createMonitor(process.dk, policy);
  if (options.wrapDk) dk = options.wrapDk(dk);
  const env = Object.entries(manifest.env).map(([k, v]) => `${k}=${v}`);
  let libos: WasiLibOs;
  try {
    libos = createWasiLibOs(
      dk,
      { args: options.args, env, preopens: options.preopens ?? defaultPreopens(manifest), listenSockets: options.listenSockets },
      options.restore?.meta.libos,
    );
  } catch (e) {
    process.kill(ERROR_EXIT_CODE);
    if (e instanceof PreopenError) throw new PreopenError(e.guestPath, e.errno, manifest.mounts.find((m) => m.guest === e.guestPath)?.host);
    throw e;
  }
  const capturer = options.capture ? new Capturer(libos, { ...options.capture, args: options.args, manifest }) : null;
  if (capturer) {
    capturer.processId = process.id;
    capturer.forkChild = options.forkChild === true;
  }
  const imports = buildImports(options.module, libos, options.extraImports, capturer, options.governor);
  // Synchronous: the module is compiled already, and new WebAssembly.Instance costs about half
  // of the asynchronous WebAssembly.instantiate, which is most of a picoprocess start
  // (docs/serve.md, "Density").
  const instance = new WebAssembly.Instance(options.module, imports);
  const memory = instance.exports.memory;
  if (!(memory instanceof WebAssembly.Memory)) {
    libos.close();
    process.kill(ERROR_EXIT_CODE);
    throw new GuestError('the module exports no memory named "memory", which WASI requires');
  }
  libos.attachMemory(memory);
  process.attachMemory(memory);
  options.onMemory?.(memory);
  if (capturer) {
    capturer.bind(instance, memory);
    try {
      // A page that fails its checksum (a lazily decoded snapshot) stops the restore here,
      // before the program runs; what the library OS reopened is closed again.
      if (options.restore) restoreInto(options.restore, memory, capturer);
    } catch (e) {
      libos.close();
      process.kill(ERROR_EXIT_CODE);
      throw e;
    }
  }
  return { process, libos, instance, capturer, imports };
}

/** Move a captured program onto a new instance of `module` (same imports, libos and host process). */
function moveTo(
  module: WebAssembly.Module,
  imports: WebAssembly.Imports,
  snapshot: Snapshot,
  libos: WasiLibOs,
  process: Picoprocess,
  capturer: Capturer,
): WebAssembly.Instance {
  const instance = new WebAssembly.Instance(module, imports);
  const memory = instance.exports.memory as WebAssembly.Memory;
  libos.attachMemory(memory);
  process.attachMemory(memory);
  capturer.bind(instance, memory);
  restoreInto(snapshot, memory, capturer);
  return instance;
}

/** Put a snapshot's memory and globals into a fresh instance and arm the rewind. */
function restoreInto(snapshot: Snapshot, memory: WebAssembly.Memory, capturer: Capturer): void {
  restoreMemory(snapshot, memory);
  capturer.restoreGlobals(snapshot.meta.globals);
  capturer.startRewind(snapshot.meta.asyncify.dataAddr, snapshot.meta.asyncify.dataSize);
}

/** Run `fn` (an export) to completion under JSPI and turn its end into an exit status. */
export async function runExport(fn: (...a: any[]) => any, args: readonly unknown[] = []): Promise<ExitStatus> {
  try {
    const returned: unknown = await WebAssembly.promising(fn)(...args);
    if (returned === undefined) return { exitCode: 0 };
    return { exitCode: 0, results: Array.isArray(returned) ? returned : [returned] };
  } catch (e) {
    return exitStatusOf(e);
  }
}

export function exitStatusOf(e: unknown): ExitStatus {
  if (e instanceof ProcExit) return { exitCode: e.code };
  // The CPU quota ran out, or the picoprocess was killed from outside (quotas.ts).
  if (e instanceof QuotaStop) return { exitCode: e.exitCode, error: e.message };
  // An extension ended the run on purpose (replay divergence): its message and status.
  if (e instanceof ExtensionHalt) return e.checkpointed ? { exitCode: e.exitCode, checkpointed: true } : { exitCode: e.exitCode, error: e.message };
  // Misuse of the WASI ABI (bad pointers, bad enum values) ends the program with an error and
  // status 1, as in wasmtime; a trap of the Wasm code itself is 134.
  if (e instanceof GuestError || e instanceof GuestFault) return { exitCode: ERROR_EXIT_CODE, error: e.message };
  if (e instanceof RangeError && /DataView|bounds/i.test(e.message) && !/call stack/i.test(e.message)) {
    return { exitCode: ERROR_EXIT_CODE, error: `pointer out of bounds: ${e.message}` };
  }
  const trap = trapMessage(e);
  if (trap !== null) {
    const backtrace = wasmBacktrace(e);
    return backtrace.length > 0
      ? { exitCode: TRAP_EXIT_CODE, error: `wasm trap: ${trap}`, backtrace }
      : { exitCode: TRAP_EXIT_CODE, error: `wasm trap: ${trap}` };
  }
  throw e;
}

/**
 * Whether the guest has the tick counter (a host can preempt it and its CPU quota is checked
 * as it computes): prepared, and not --waits-only.
 */
function hasTicks(options: PicoprocessOptions): boolean {
  return options.image ? isPreemptible(options.image) : options.capture !== undefined;
}

/**
 * Start a command module: instantiate, run _start, close. The one start path of every
 * picoprocess (run, restore, receive, serve, children, fork): the manifest's limits.memory
 * (the module's memory maximum, moduleUnderLimit) and limits.cpu_time (a Governor; for a
 * module without ticks on the main thread, the watchdog of cpu-watchdog.ts) hold here.
 */
export async function startCommand(given: PicoprocessOptions): Promise<Running> {
  const module = await moduleUnderLimit(given);
  const governor = given.governor ?? new Governor(given.manifest.limits.cpuTimeMs);
  const options: PicoprocessOptions = { ...given, module, governor };
  if (module !== given.module && given.optimize) options.optimize = optimizeUnderLimit(given);
  const invoke = given.invoke;
  if (invoke) {
    // A call of one export runs once: no capture, no tier-up (they re-enter _start).
    delete options.capture;
    delete options.optimize;
  }
  const unwatch =
    given.governor === undefined && isMainThread && !hasTicks(given)
      ? watchCpu(governor, `drawbridge: ${given.image?.name ?? given.args[0] ?? 'module'}: `)
      : null;
  // A start function runs inside instantiation, where it may loop: the start is answered
  // before it (beforeRun), and it is the guest's CPU time too.
  const early = given.beforeRun !== undefined && given.image !== undefined && hasStartFunction(given.image.bytes);
  if (early) given.beforeRun!();
  governor.resumed();
  let made: Awaited<ReturnType<typeof instantiate>>;
  try {
    made = await instantiate(options);
  } catch (e) {
    unwatch?.();
    throw e;
  } finally {
    governor.paused();
  }
  const { process, libos, instance: first, capturer, imports } = made;
  let instance = first;
  let start = instance.exports[invoke?.name ?? '_start'];
  if (typeof start !== 'function') {
    unwatch?.();
    libos.close();
    process.kill(ERROR_EXIT_CODE);
    throw new GuestError(
      invoke
        ? `no func export named \`${invoke.name}\` found`
        : 'the module has no _start export: it is not a WASI command (a reactor needs the library API, or run --invoke)',
    );
  }
  // A stop (kill, CPU quota) also ends the waits of the picoprocess, so a waiting guest wakes.
  governor.onStop = (reason) => process.kill(reason.exitCode);
  const run = async (): Promise<ExitStatus> => {
    if (invoke) {
      governor.resumed();
      const init = instance.exports._initialize;
      let status: ExitStatus = typeof init === 'function' ? await runExport(init as (...a: any[]) => any) : { exitCode: 0 };
      if (status.exitCode === 0 && !status.error) status = await runExport(start as (...a: any[]) => any, invoke.args);
      governor.paused();
      return status;
    }
    for (;;) {
      governor.resumed();
      const status = await runExport(start as (...a: any[]) => any);
      governor.paused();
      if (!capturer) return status;
      if (status.exitCode !== 0 || status.error) return capturer.ended(status);
      // The entry point also returns when a capture unwound the stack.
      const next = capturer.afterReturn();
      if (next === 'finished') return capturer.ended(status);
      if (next === 'stop') return { exitCode: 0, checkpointed: true };
      if (typeof next === 'object') {
        let target: WebAssembly.Module;
        try {
          target = next.to === 'whole' ? await wholeModule() : optimized!;
        } catch (e) {
          // Unwound, and nothing to rewind into: the program cannot go on.
          return capturer.ended({ exitCode: ERROR_EXIT_CODE, error: `cannot go on after the checkpoint: ${(e as Error).message}` });
        }
        instance = moveTo(target, imports, next.swap, libos, process, capturer);
        start = instance.exports._start;
      }
    }
  };
  // A module without its rewind versions goes on after a capture on the whole module, compiled
  // then (under the same memory limit), once.
  let whole: Promise<WebAssembly.Module> | null = null;
  const wholeModule = (): Promise<WebAssembly.Module> => {
    const capture = options.capture!;
    whole ??= compileImage({ name: capture.moduleName, bytes: capture.whole!(), prepared: true }, { memoryLimit: options.manifest.limits.memory }).then(
      (c) => c.module,
    );
    return whole;
  };
  // Tier-up: a program still running after its first slice (its tick or a wait let the event
  // loop run) is moved onto the TurboFan instance; a short program never pays that compile.
  let optimized: WebAssembly.Module | null = null;
  if (options.optimize && capturer) {
    const optimize = options.optimize;
    setImmediate(() => {
      if (finished) return;
      try {
        optimized = optimize();
      } catch {
        return; // stay in the baseline tier
      }
      capturer.requestSwap().catch(() => {});
    }).unref();
  }
  let finished = false;
  if (!early) options.beforeRun?.();
  const done = run().then((status) => {
    finished = true;
    unwatch?.();
    libos.close();
    process.kill(status.exitCode);
    return status;
  });
  const checkpoint = capturer ? (leaveRunning: boolean) => capturer.request(leaveRunning) : undefined;
  return {
    process,
    libos,
    get instance() {
      return instance;
    },
    done,
    checkpoint,
  };
}
