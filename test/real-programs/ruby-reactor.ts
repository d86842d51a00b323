// Driving @ruby/3.4-wasm-wasi's ruby+stdlib.wasm inside drawbridge, learned from the
// @ruby/wasm-wasi JS package (dist/esm/vm.js and bindgen/legacy/rb-abi-guest.js):
// - it is a *reactor*: `_initialize` (wasi-libc constructors, and wasi-vfs, which serves
//   the packed standard library at /usr/local/lib/ruby from inside the module), then the
//   export "ruby-init: func(args: list<string>) -> ()" with argv such as
//   ['ruby.wasm', '-EUTF-8', '-e_=0']. That calls ruby_init() and ruby_options(argv).
// - arguments use the legacy wit-bindgen canonical ABI: each string is copied into guest
//   memory with cabi_realloc(0, 0, align, size), a list<string> is an array of
//   (ptr: i32, len: i32) pairs, and the export takes (listPtr, listLen). The JS package
//   NUL-terminates each string because the C side passes them to ruby_options as char*.
// - the JS interop imports (rb-js-abi-host.*, canonical_abi.*) are left to drawbridge's
//   inert bindings. That rules out "rb-eval-string-protect": it returns an rb-abi-value
//   handle, which the guest mints by calling canonical_abi.resource_new_rb-abi-value. So the
//   script runs from ruby_options itself: `-r FILE` requires FILE while the options are
//   processed (before the -e program is compiled; the -e program itself is never run by
//   ruby-init). An uncaught exception in FILE aborts option processing: Ruby prints it and
//   calls exit(1), which reaches us as proc_exit.

import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { Reactor } from '../../src/runtime/reactor.ts';

const distDir = dirname(dirname(fileURLToPath(import.meta.resolve('@ruby/3.4-wasm-wasi'))));
/** The build with the standard library packed in by wasi-vfs. */
export const rubyModulePath = join(distDir, 'ruby+stdlib.wasm');

export const RUBY_INIT = 'ruby-init: func(args: list<string>) -> ()';

function realloc(reactor: Reactor): (ptr: number, oldSize: number, align: number, size: number) => number {
  const fn = reactor.exports.cabi_realloc;
  if (typeof fn !== 'function') throw new Error('ruby.wasm exports no cabi_realloc');
  return fn as (ptr: number, oldSize: number, align: number, size: number) => number;
}

/** Copy argv into guest memory as a list<string>; returns [listPtr, listLen]. */
export function writeStringList(reactor: Reactor, strings: readonly string[]): [number, number] {
  const alloc = realloc(reactor);
  const list = alloc(0, 0, 4, strings.length * 8);
  for (const [i, s] of strings.entries()) {
    const bytes = new TextEncoder().encode(`${s}\0`);
    const ptr = alloc(0, 0, 1, bytes.length);
    // Re-read memory.buffer after each allocation: cabi_realloc may have grown memory.
    new Uint8Array(reactor.memory.buffer, ptr, bytes.length).set(bytes);
    const view = new DataView(reactor.memory.buffer);
    view.setInt32(list + i * 8, ptr, true);
    view.setInt32(list + i * 8 + 4, bytes.length, true);
  }
  return [list, strings.length];
}

/** ruby-init with argv (argv[0] included). */
export async function rubyInit(reactor: Reactor, argv: readonly string[]): Promise<void> {
  const [ptr, len] = writeStringList(reactor, argv);
  await reactor.call(RUBY_INIT, ptr, len);
}
