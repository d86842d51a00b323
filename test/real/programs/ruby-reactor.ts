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

import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Host } from '../../../src/host/kernel/host.ts';
import { emptyManifest, type Mount } from '../../../src/monitor/manifest/manifest.ts';
import { compileModule } from '../../../src/runtime/module-cache.ts';
import type { ExitStatus } from '../../../src/runtime/picoprocess.ts';
import { loadReactor, ReactorExit, type Reactor } from '../../../src/runtime/reactor.ts';

const distDir = dirname(dirname(fileURLToPath(import.meta.resolve('@ruby/3.4-wasm-wasi'))));
/** The build with the standard library packed in by wasi-vfs. */
export const rubyModulePath = join(distDir, 'ruby+stdlib.wasm');

/** A script that reads lines from stdin and keeps state: what the log-mode Ruby tests checkpoint, restore and move. */
export const LINES_SCRIPT = `$stdout.sync = true
seen = []
total = 0
puts "ready"
while (line = $stdin.gets)
  line = line.chomp
  seen << line
  total += line.sum
  puts "#{seen.size}: #{line} seen=#{seen.join(",")} total=#{total}"
end
puts "bye after #{seen.size}"
`;

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

export interface RubyRun {
  stdout: string;
  stderr: string;
  /** Set when the guest called proc_exit (or trapped) instead of returning from ruby-init. */
  exit?: ExitStatus;
}

let rubyModule: Promise<WebAssembly.Module> | null = null;

/**
 * Run the Ruby file at `script` (a guest path) in a fresh picoprocess with `mounts`.
 * Ruby's $stdout is block-buffered when it is not a terminal and only flushed at exit,
 * which ruby-init never reaches: scripts set `$stdout.sync = true` (or flush) themselves.
 */
export async function runRubyScript(script: string, mounts: Mount[], host: Host): Promise<RubyRun> {
  const module = await (rubyModule ??= readFile(rubyModulePath).then((b) => compileModule(b, 'ruby+stdlib.wasm')));
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const reactor = await loadReactor({
    host,
    module,
    args: ['ruby'],
    manifest: { ...emptyManifest(), mounts },
    stdout: (b) => void out.push(b.slice()),
    stderr: (b) => void err.push(b.slice()),
  });
  let exit: ExitStatus | undefined;
  try {
    await rubyInit(reactor, ['ruby', '-EUTF-8', `-r${script}`, '-e_=0']);
  } catch (e) {
    if (!(e instanceof ReactorExit)) throw e;
    exit = e.status;
  } finally {
    reactor.close();
  }
  const text = (chunks: Uint8Array[]): string => new TextDecoder().decode(Buffer.concat(chunks));
  return { stdout: text(out), stderr: text(err), ...(exit ? { exit } : {}) };
}
