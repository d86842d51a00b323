// The import object of a browser picoprocess, as runtime/picoprocess.ts builds it on Node: WASI
// and drawbridge's own functions from the library OS, those that may wait as JSPI Suspending
// functions (through the capturer of a prepared module, so that a capture can unwind there),
// drawbridge.tick for a prepared module's countdown, and anything else inert until called. No
// children and no fork in the browser: drawbridge.fork answers ENOSYS.

import { DRAWBRIDGE_CALLS } from '../libos/drawbridge/index.ts';
import { GuestError, SYSCALLS, type WasiLibOs } from '../libos/index.ts';
import { TICK_MODULE, TICK_NAME } from '../wasm/ticks.ts';
import type { CaptureCore } from '../checkpoint/capture-core.ts';

const ENOSYS = 52;
type Fn = (...args: any[]) => number | Promise<number>;

/** `stopped` is called before every call that may wait: it throws to end a killed guest. */
export function bindImports(module: WebAssembly.Module, libos: WasiLibOs, capturer: CaptureCore | null, stopped: () => void): WebAssembly.Imports {
  const guarded =
    (fn: Fn): Fn =>
    (...args) => {
      stopped();
      return fn(...args);
    };
  const suspending = (fn: Fn): WebAssembly.ImportValue =>
    new WebAssembly.Suspending(guarded(capturer ? capturer.wrap(fn) : fn)) as unknown as WebAssembly.ImportValue;
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    const ns = (imports[imp.module] ??= {});
    if (imp.kind !== 'function') throw new GuestError(`unsupported import ${imp.module}.${imp.name} (a ${imp.kind}): drawbridge provides functions only`);
    if (imp.module === 'wasi_snapshot_preview1') {
      const fn = libos.syscall(imp.name);
      ns[imp.name] = !fn ? () => ENOSYS : SYSCALLS[imp.name]!.blocking ? suspending(fn) : fn;
    } else if (imp.module === 'drawbridge' && imp.name === 'fork') {
      ns[imp.name] = () => ENOSYS;
    } else if (imp.module === TICK_MODULE && imp.name === TICK_NAME) {
      ns[imp.name] = capturer ? suspending(capturer.tick) : (new WebAssembly.Suspending(guarded(() => 0)) as unknown as WebAssembly.ImportValue);
    } else if (imp.module === 'drawbridge' && libos.drawbridgeCall(imp.name)) {
      const fn = libos.drawbridgeCall(imp.name)!;
      ns[imp.name] = DRAWBRIDGE_CALLS[imp.name]!.blocking ? suspending(fn) : fn;
    } else {
      const what = `${imp.module}.${imp.name}`;
      ns[imp.name] = () => {
        throw new GuestError(`the program called ${what}, which drawbridge does not provide`);
      };
    }
  }
  return imports;
}
