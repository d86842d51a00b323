// Turns what a guest's run threw into wasmtime's wording: one line naming the trap kind, and
// the Wasm frames of its backtrace with the names of the module's name section.
// A trap exits with status 134 (128 + SIGABRT), as wasmtime does on Unix (TRAP_EXIT_CODE, abi/exit-status.ts).

const KINDS: [RegExp, string][] = [
  [/unreachable/i, 'wasm `unreachable` instruction executed'],
  [/divide by zero|division by zero/i, 'integer divide by zero'],
  [/remainder by zero/i, 'integer divide by zero'],
  [/integer overflow|divide result unrepresentable/i, 'integer overflow'],
  [/float unrepresentable|float.*integer/i, 'invalid conversion to integer'],
  [/memory access out of bounds|out of bounds memory access/i, 'out of bounds memory access'],
  [/table index is out of bounds|table.*out of bounds/i, 'undefined element: out of bounds table access'],
  [/null function|uninitialized element/i, 'uninitialized element'],
  [/signature mismatch|function signature/i, 'indirect call type mismatch'],
  [/stack size exceeded|call stack/i, 'call stack exhausted'],
  [/data segment.*out of bounds/i, 'out of bounds memory access'],
];

/** The trap message for an error thrown out of guest code, or null if it was not a trap. */
export function trapMessage(err: unknown): string | null {
  if (err instanceof WebAssembly.RuntimeError || err instanceof RangeError) {
    const text = (err as Error).message;
    for (const [re, kind] of KINDS) if (re.test(text)) return kind;
    return text;
  }
  return null;
}

/** A frame of V8's stack text that runs Wasm code: `at NAME (wasm://wasm/HASH:wasm-function[I]:0xOFF)`, NAME absent without a name section. */
const WASM_FRAME = /^\s*at (?:(.+?) \()?wasm:\/\/wasm\/[^:]*:wasm-function\[(\d+)\]:(0x[0-9a-f]+)\)?\s*$/;

/**
 * The Wasm frames of a trap, innermost first, as wasmtime prints them: `  0:  0x206 - divide`,
 * the offset in the module's bytes and the function's name (`<wasm function 7>` without one).
 * Empty when the error carries no Wasm frame. V8 keeps at most Error.stackTraceLimit frames.
 */
export function wasmBacktrace(err: unknown): string[] {
  const stack = err instanceof Error && typeof err.stack === 'string' ? err.stack : '';
  const frames: string[] = [];
  for (const line of stack.split('\n')) {
    const m = WASM_FRAME.exec(line);
    if (!m) continue;
    const name = m[1] ?? `<wasm function ${m[2]}>`;
    frames.push(`${String(frames.length).padStart(4)}: ${m[3]!.padStart(8)} - ${name}`);
  }
  return frames;
}
