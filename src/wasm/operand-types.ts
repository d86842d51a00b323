// The operand-stack effect of the instructions with a fixed signature (numeric, memory,
// conversions, bulk memory): what they pop and what they push, as value-type bytes. The
// instrumentation (wasm/asyncify.ts) tracks the stack's types with it, as a validator does, to
// know what is on the stack where it must save it.

export const I32 = 0x7f;
export const I64 = 0x7e;
export const F32 = 0x7d;
export const F64 = 0x7c;

export interface Effect {
  pops: readonly number[];
  pushes: readonly number[];
}

const T: Record<string, number> = { i: I32, I: I64, f: F32, F: F64 };
const effect = (pops: string, pushes: string): Effect => ({ pops: [...pops].map((c) => T[c]!), pushes: [...pushes].map((c) => T[c]!) });

/** One-byte opcodes: op -> effect. */
const ONE_BYTE = new Map<number, Effect>();
const range = (from: number, to: number, e: Effect): void => {
  for (let op = from; op <= to; op++) ONE_BYTE.set(op, e);
};

// Loads (address i32) and stores (address, value).
ONE_BYTE.set(0x28, effect('i', 'i'));
ONE_BYTE.set(0x29, effect('i', 'I'));
ONE_BYTE.set(0x2a, effect('i', 'f'));
ONE_BYTE.set(0x2b, effect('i', 'F'));
range(0x2c, 0x2f, effect('i', 'i'));
range(0x30, 0x35, effect('i', 'I'));
ONE_BYTE.set(0x36, effect('ii', ''));
ONE_BYTE.set(0x37, effect('iI', ''));
ONE_BYTE.set(0x38, effect('if', ''));
ONE_BYTE.set(0x39, effect('iF', ''));
range(0x3a, 0x3b, effect('ii', ''));
range(0x3c, 0x3e, effect('iI', ''));
ONE_BYTE.set(0x3f, effect('', 'i')); // memory.size
ONE_BYTE.set(0x40, effect('i', 'i')); // memory.grow
ONE_BYTE.set(0x41, effect('', 'i'));
ONE_BYTE.set(0x42, effect('', 'I'));
ONE_BYTE.set(0x43, effect('', 'f'));
ONE_BYTE.set(0x44, effect('', 'F'));
// Tests and comparisons.
ONE_BYTE.set(0x45, effect('i', 'i'));
range(0x46, 0x4f, effect('ii', 'i'));
ONE_BYTE.set(0x50, effect('I', 'i'));
range(0x51, 0x5a, effect('II', 'i'));
range(0x5b, 0x60, effect('ff', 'i'));
range(0x61, 0x66, effect('FF', 'i'));
// Arithmetic.
range(0x67, 0x69, effect('i', 'i'));
range(0x6a, 0x78, effect('ii', 'i'));
range(0x79, 0x7b, effect('I', 'I'));
range(0x7c, 0x8a, effect('II', 'I'));
range(0x8b, 0x91, effect('f', 'f'));
range(0x92, 0x98, effect('ff', 'f'));
range(0x99, 0x9f, effect('F', 'F'));
range(0xa0, 0xa6, effect('FF', 'F'));
// Conversions.
ONE_BYTE.set(0xa7, effect('I', 'i'));
range(0xa8, 0xa9, effect('f', 'i'));
range(0xaa, 0xab, effect('F', 'i'));
range(0xac, 0xad, effect('i', 'I'));
range(0xae, 0xaf, effect('f', 'I'));
range(0xb0, 0xb1, effect('F', 'I'));
range(0xb2, 0xb3, effect('i', 'f'));
range(0xb4, 0xb5, effect('I', 'f'));
ONE_BYTE.set(0xb6, effect('F', 'f'));
range(0xb7, 0xb8, effect('i', 'F'));
range(0xb9, 0xba, effect('I', 'F'));
ONE_BYTE.set(0xbb, effect('f', 'F'));
ONE_BYTE.set(0xbc, effect('f', 'i'));
ONE_BYTE.set(0xbd, effect('F', 'I'));
ONE_BYTE.set(0xbe, effect('i', 'f'));
ONE_BYTE.set(0xbf, effect('I', 'F'));
range(0xc0, 0xc1, effect('i', 'i'));
range(0xc2, 0xc4, effect('I', 'I'));

/** 0xfc-prefixed: saturating truncations and bulk memory (the table ones are not here). */
const PREFIXED_FC = new Map<number, Effect>([
  [0, effect('f', 'i')],
  [1, effect('f', 'i')],
  [2, effect('F', 'i')],
  [3, effect('F', 'i')],
  [4, effect('f', 'I')],
  [5, effect('f', 'I')],
  [6, effect('F', 'I')],
  [7, effect('F', 'I')],
  [8, effect('iii', '')], // memory.init
  [9, effect('', '')], // data.drop
  [10, effect('iii', '')], // memory.copy
  [11, effect('iii', '')], // memory.fill
]);

/** The effect of a one-byte opcode with a fixed signature, or undefined. */
export function fixedEffect(op: number): Effect | undefined {
  return ONE_BYTE.get(op);
}

/** The effect of 0xfc `sub`, or undefined where it is not a fixed one of the table. */
export function prefixedEffect(sub: number): Effect | undefined {
  return PREFIXED_FC.get(sub);
}

/** Bytes a value of a numeric type takes in memory. */
export function sizeOf(type: number): number {
  return type === I64 || type === F64 ? 8 : 4;
}
