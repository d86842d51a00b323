// ABI values as JSON: what the record log stores and the JSON trace prints. The ABI carries
// numbers, bigints, strings, booleans, Uint8Array and plain records; JSON lacks bigint and
// bytes, so they are tagged: {"$n":"123"} is 123n and {"$b":"<base64>"} is bytes.
// Argument digests: data given to a call (bytes-in) is logged as its length and FNV-1a hash,
// a buffer to be filled (bytes-out) as its length: enough to notice a call that differs.

import type { ArgSpec } from '../abi/spec.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function encodeValue(v: unknown): Json {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'number':
    case 'string':
    case 'boolean':
      return v;
    case 'bigint':
      return { $n: v.toString() };
    default:
      break;
  }
  if (v instanceof Uint8Array) return { $b: toBase64(v) };
  if (Array.isArray(v)) return v.map(encodeValue);
  if (typeof v === 'object') {
    const out: Record<string, Json> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== undefined) out[k] = encodeValue(x);
    return out;
  }
  return null;
}

export function decodeValue(j: Json): unknown {
  if (j === null || typeof j !== 'object') return j;
  if (Array.isArray(j)) return j.map(decodeValue);
  if (typeof j.$n === 'string' && Object.keys(j).length === 1) return BigInt(j.$n);
  if (typeof j.$b === 'string' && Object.keys(j).length === 1) return fromBase64(j.$b);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(j)) out[k] = decodeValue(x);
  return out;
}

/** Arguments as the log keeps them: values, with bytes reduced to a digest. */
export function encodeArgs(specs: readonly ArgSpec[], args: readonly unknown[]): Json[] {
  const out: Json[] = [];
  for (let i = 0; i < specs.length; i++) {
    const type = specs[i]!.type;
    const v = args[i];
    if ((type === 'bytes-in' || type === 'bytes-out') && v instanceof Uint8Array) {
      out.push(type === 'bytes-in' ? { $len: v.length, $fnv: fnv1a(v) } : { $len: v.length });
    } else out.push(encodeValue(v));
  }
  return out;
}

/** FNV-1a, 32 bits, as 8 hex digits: a cheap digest of data a call was given. */
export function fnv1a(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

// Base64 without Node's Buffer (this layer sees no Node API): btoa/atob on binary strings.
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000) as unknown as number[]);
  }
  return btoa(s);
}

export function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
