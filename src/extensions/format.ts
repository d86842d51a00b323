// Human-readable calls, as strace writes them: DkStreamOpen(uri="file:/x", access=READ, ...)
// = 3 <4.1us>. Flags print by name from the flag sets of abi/dk.ts; errors by DkError name;
// bytes as a quoted, escaped prefix. Shared by trace (text format) and replay's divergence
// message. Never throws on odd values: a trace must not break the run it watches.

import { Access, Clock, Create, OpenOption, PixelFormat, Prot, QueryOption, StreamSide } from '../abi/dk.ts';
import { dkErrorName } from '../abi/errors.ts';
import type { ArgSpec, PrimitiveSpec } from '../abi/spec.ts';

/** Bit sets print as A|B; the others (one value each) print as the name. */
const flagSet = (names: Readonly<Record<string, number>>, bits: boolean) => ({ names: Object.entries(names), bits });
const FLAG_SETS: Record<string, { names: readonly [string, number][]; bits: boolean }> = {
  Access: flagSet(Access, true),
  Create: flagSet(Create, true),
  OpenOption: flagSet(OpenOption, true),
  Prot: flagSet(Prot, true),
  QueryOption: flagSet(QueryOption, true),
  StreamSide: flagSet(StreamSide, false),
  Clock: flagSet(Clock, false),
  PixelFormat: flagSet(PixelFormat, false),
};

/** How many bytes of data a trace line shows. */
export const BYTES_SHOWN = 32;

export function formatFlags(set: string, value: number): string {
  const f = FLAG_SETS[set];
  if (!f || typeof value !== 'number') return String(value);
  if (!f.bits) {
    for (const [name, v] of f.names) if (v === value) return name;
    return String(value);
  }
  if (value === 0) return '0';
  const parts: string[] = [];
  let rest = value;
  for (const [name, v] of f.names) {
    if ((value & v) === v) {
      parts.push(name);
      rest &= ~v;
    }
  }
  if (rest !== 0) parts.push(`0x${(rest >>> 0).toString(16)}`);
  return parts.join('|');
}

/** "hello\n"... : printable ASCII as is, the rest escaped, at most `max` bytes. */
export function formatBytes(bytes: Uint8Array, max = BYTES_SHOWN): string {
  let s = '"';
  const n = Math.min(bytes.length, max);
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b === 0x0a) s += '\\n';
    else if (b === 0x09) s += '\\t';
    else if (b === 0x0d) s += '\\r';
    else if (b === 0x22) s += '\\"';
    else if (b === 0x5c) s += '\\\\';
    else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
    else s += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return s + '"' + (bytes.length > n ? '...' : '');
}

export function formatValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (Array.isArray(v)) {
    if (v.length > 8) return `[${v.slice(0, 8).map(formatValue).join(', ')}, ... ${v.length} items]`;
    return `[${v.map(formatValue).join(', ')}]`;
  }
  if (v !== null && typeof v === 'object') {
    const parts: string[] = [];
    for (const [k, x] of Object.entries(v)) if (x !== undefined) parts.push(`${k}=${formatValue(x)}`);
    return `{${parts.join(', ')}}`;
  }
  return String(v);
}

/** One argument; `filled` is the part of a bytes-out buffer the call wrote (after the call). */
export function formatArg(spec: ArgSpec, v: unknown, filled?: number): string {
  const t = spec.type;
  if (t.startsWith('flags:') && typeof v === 'number') return formatFlags(t.slice(6), v);
  if (t === 'bytes-in' && v instanceof Uint8Array) return formatBytes(v) + (v.length > BYTES_SHOWN ? `(${v.length})` : '');
  if (t === 'bytes-out' && v instanceof Uint8Array) {
    return filled !== undefined && filled > 0 ? `${formatBytes(v.subarray(0, filled))}[${v.length}]` : `[${v.length}]`;
  }
  return formatValue(v);
}

export function formatResult(r: unknown): string {
  if (typeof r === 'number' && r < 0) return `${r} ${dkErrorName(r)}`;
  return formatValue(r);
}

/** The bytes a bytes-out buffer received: the result when it is a count, else nothing. */
export function filledBytes(result: unknown, buffer: Uint8Array): number {
  return typeof result === 'number' && result > 0 ? Math.min(result, buffer.length) : 0;
}

/** DkStreamRead(stream=3, offset=-1, buffer="hi"[1024]) */
export function formatCall(spec: PrimitiveSpec, args: readonly unknown[], result?: unknown): string {
  const parts = spec.args.map((a, i) => {
    const v = args[i];
    const filled = a.type === 'bytes-out' && v instanceof Uint8Array && result !== undefined ? filledBytes(result, v) : undefined;
    return `${a.name}=${formatArg(a, v, filled)}`;
  });
  return `${spec.name}(${parts.join(', ')})`;
}

export function formatDuration(ms: number): string {
  // Rounding by arithmetic: toFixed is a sizeable share of a trace line's cost (docs/extensions.md, "Cost").
  if (ms < 1) return `${Math.round(ms * 10000) / 10}us`;
  if (ms < 1000) return `${Math.round(ms * 1000) / 1000}ms`;
  return `${Math.round(ms) / 1000}s`;
}
