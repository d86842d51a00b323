// `drawbridge run --invoke NAME MODULE ARGS...`: the words ARGS read as the parameters of the
// export NAME, and its results printed, both as wasmtime 49's `run --invoke` does
// (src/commands/run.rs, invoke_func): an i32 or i64 in decimal or 0x hex (a sign allowed, in
// range), an f32 or f64 as Rust reads a float; each result on a line of its own, floats as
// Rust's Display writes them (the shortest digits that read back the same, never an exponent,
// inf, -inf, NaN).

import { exportedFunctionType, type FunctionType, type ValueType } from '../wasm/export-types.ts';

/** The JavaScript values to call the export with; a string is the one-line error. */
export function invokeArguments(name: string, type: FunctionType, words: readonly string[]): (number | bigint)[] | string {
  if (words.length < type.params.length) return `not enough arguments for \`${name}\`: it takes ${type.params.join(', ')}`;
  const out: (number | bigint)[] = [];
  for (const [i, t] of type.params.entries()) {
    const v = argument(t, words[i]!);
    if (typeof v === 'string') return `--invoke ${name}: argument ${i + 1} "${words[i]}": ${v}`;
    out.push(v);
  }
  return out;
}

/** Why --invoke cannot call a function of this type, or null when it can. */
function uncallable(type: FunctionType): string | null {
  // JavaScript, where drawbridge calls the export, cannot pass or take a v128.
  if ([...type.params, ...type.results].includes('v128')) return 'a v128 parameter or result cannot be passed to or from JavaScript';
  const bad = type.params.find((t) => t !== 'i32' && t !== 'i64' && t !== 'f32' && t !== 'f64');
  return bad ? `unsupported argument type ${bad}` : null;
}

/** The call `--invoke NAME` makes with the words after the module, and its result types; a string is the one-line error. */
export function invokePlan(
  bytes: Uint8Array,
  name: string,
  words: readonly string[],
): { name: string; args: (number | bigint)[]; results: ValueType[] } | string {
  let type: ReturnType<typeof exportedFunctionType>;
  try {
    type = exportedFunctionType(bytes, name);
  } catch (e) {
    return `--invoke ${name}: cannot read the module's types: ${(e as Error).message}`;
  }
  if (typeof type === 'string') return `no func export named \`${name}\` found`;
  const why = uncallable(type);
  if (why) return `--invoke ${name}: ${why}`;
  const args = invokeArguments(name, type, words);
  return typeof args === 'string' ? args : { name, args, results: type.results };
}

function argument(t: ValueType, word: string): number | bigint | string {
  if (t === 'i32' || t === 'i64') {
    const bits = t === 'i32' ? 32n : 64n;
    // Rust's parse (decimal), or from_str_radix after a leading "0x": an optional sign, then digits.
    const hex = /^0[xX]/.test(word);
    const m = (hex ? /^([+-]?)([0-9a-fA-F]+)$/ : /^([+-]?)([0-9]+)$/).exec(hex ? word.slice(2) : word);
    if (!m) return `expected an ${t} (decimal, or hexadecimal after 0x)`;
    const magnitude = BigInt(hex ? `0x${m[2]}` : m[2]!);
    const v = m[1] === '-' ? -magnitude : magnitude;
    if (v < -(1n << (bits - 1n)) || v >= 1n << (bits - 1n)) return `out of range for an ${t}`;
    return t === 'i32' ? Number(v) : v;
  }
  // Rust's float syntax: a sign, digits with an optional point and exponent, inf, infinity, nan.
  const m = /^([+-]?)(?:(inf|infinity)|(nan)|((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))$/i.exec(word);
  if (!m) return `expected an ${t} (e.g. 1.5, -2e3, inf, nan)`;
  const sign = m[1] === '-' ? -1 : 1;
  const v = m[2] ? sign * Infinity : m[3] ? NaN : sign * Number(m[4]);
  return t === 'f32' ? Math.fround(v) : v;
}

/** The lines wasmtime prints for these results of a function of `types`. */
export function formatResults(results: readonly unknown[], types: readonly ValueType[]): string[] {
  return results.map((v, i) => {
    const t = types[i];
    if (t === 'f32' || t === 'f64') return rustFloat(v as number, t === 'f32');
    if (t === 'funcref' || t === 'externref') return v === null ? `<null ${t}>` : `<${t}>`;
    return String(v);
  });
}

/** A float as Rust's Display writes an f32 or f64: shortest round-trip digits, no exponent. */
export function rustFloat(x: number, f32: boolean): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  let exp = x.toExponential();
  if (f32) {
    for (let p = 0; p < 9; p++) {
      const s = x.toExponential(p);
      if (Math.fround(Number(s)) === x) {
        exp = s;
        break;
      }
    }
  }
  const [mantissa, e] = exp.split('e') as [string, string];
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace(/^-/, '').replace('.', '');
  const point = Number(e) + 1; // digits before the decimal point
  let plain: string;
  if (point <= 0) plain = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) plain = digits + '0'.repeat(point - digits.length);
  else plain = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return (negative ? '-' : '') + plain;
}
