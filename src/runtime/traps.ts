// Turns what a guest's run threw into wasmtime's wording: one line naming the trap kind.
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
