// Generic argument checks for every primitive, derived from the argument types in abi/spec.ts.
// Whatever the library OS (or a guest that subverted it) passes, a malformed argument becomes a
// DkError code here and never reaches the host as a value it could throw on.

import { Access, Clock, Create, OpenOption, PixelFormat, Prot, QueryOption, StatusFlag, StreamSide } from '../abi/dk.ts';
import { DkError, type DkErrorCode } from '../abi/errors.ts';
import type { ArgSpec, PrimitiveSpec } from '../abi/spec.ts';

/** Handles are small positive integers (dk.ts); anything else cannot name an object. */
export const HANDLE_MAX = 2 ** 31 - 1;
/** The most handles one DkObjectsWaitAny or DkProcessCreate may name. */
export const HANDLE_LIST_MAX = 4096;

const mask = (bits: Record<string, number>) => Object.values(bits).reduce((a, b) => a | b, 0);
/** Bit sets: any combination of the known bits. */
const FLAG_MASKS: Record<string, number> = {
  Access: mask(Access),
  Create: mask(Create),
  OpenOption: mask(OpenOption),
  Prot: mask(Prot),
  QueryOption: mask(QueryOption),
  StatusFlag: mask(StatusFlag),
};
/** Enumerations: exactly one of the known values. */
const FLAG_VALUES: Record<string, ReadonlySet<number>> = {
  StreamSide: new Set(Object.values(StreamSide)),
  Clock: new Set(Object.values(Clock)),
  PixelFormat: new Set(Object.values(PixelFormat)),
};

/** Integer arguments that are sizes, counts, addresses or coordinates: never negative. */
const NON_NEGATIVE = new Set(['addr', 'size', 'length', 'width', 'height', 'x', 'y', 'initialCount', 'maxCount', 'count']);

export function isHandleValue(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= HANDLE_MAX;
}

function checkOne(spec: PrimitiveSpec, arg: ArgSpec, v: unknown): DkErrorCode | 0 {
  switch (arg.type) {
    case 'handle':
      return isHandleValue(v) ? 0 : DkError.BAD_HANDLE;
    case 'int': {
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) return DkError.INVALID_ARGUMENT;
      if (arg.name === 'offset') return v >= -1 ? 0 : DkError.INVALID_ARGUMENT; // -1 is NO_OFFSET
      if (NON_NEGATIVE.has(arg.name) && v < 0) return DkError.INVALID_ARGUMENT;
      return 0;
    }
    case 'bigint':
      // Durations (the only bigint arguments) are never negative.
      return typeof v === 'bigint' && v >= 0n ? 0 : DkError.INVALID_ARGUMENT;
    case 'bigint?':
      return v === null || (typeof v === 'bigint' && v >= 0n) ? 0 : DkError.INVALID_ARGUMENT;
    case 'bool':
      return typeof v === 'boolean' ? 0 : DkError.INVALID_ARGUMENT;
    case 'string':
      return typeof v === 'string' ? 0 : DkError.INVALID_ARGUMENT;
    case 'strings':
      if (!Array.isArray(v) || v.length > 65536) return DkError.INVALID_ARGUMENT;
      for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'string') return DkError.INVALID_ARGUMENT;
      return 0;
    case 'handles': {
      if (!Array.isArray(v) || v.length > HANDLE_LIST_MAX) return DkError.INVALID_ARGUMENT;
      // DkProcessCreate's stdio uses 0 for "null:".
      const zeroOk = spec.method === 'processCreate';
      for (let i = 0; i < v.length; i++) {
        const h: unknown = v[i];
        if (!(isHandleValue(h) || (zeroOk && h === 0))) return DkError.BAD_HANDLE;
      }
      return 0;
    }
    case 'bytes-in':
    case 'bytes-out':
      return v instanceof Uint8Array ? 0 : DkError.INVALID_ARGUMENT;
    case 'record':
      return checkUpdate(v);
    default: {
      // flags:NAME
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return DkError.INVALID_ARGUMENT;
      const set = arg.type.slice('flags:'.length);
      const m = FLAG_MASKS[set];
      if (m !== undefined) return (v & ~m) === 0 && v <= m ? 0 : DkError.INVALID_ARGUMENT;
      const values = FLAG_VALUES[set];
      if (values !== undefined) return values.has(v) ? 0 : DkError.INVALID_ARGUMENT;
      return 0;
    }
  }
}

/** The only record argument is DkStreamAttributesSetByHandle's AttributesUpdate. */
function checkUpdate(v: unknown): DkErrorCode | 0 {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return DkError.INVALID_ARGUMENT;
  for (const [key, value] of Object.entries(v)) {
    if (key === 'position') {
      if (!(value === undefined || (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0))) return DkError.INVALID_ARGUMENT;
      continue;
    }
    if (key === 'statusFlags') {
      const m = FLAG_MASKS.StatusFlag!;
      if (!(value === undefined || (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= m && (value & ~m) === 0)))
        return DkError.INVALID_ARGUMENT;
      continue;
    }
    if (key !== 'atimeNs' && key !== 'mtimeNs') return DkError.INVALID_ARGUMENT;
    if (!(value === undefined || value === 'now' || typeof value === 'bigint')) return DkError.INVALID_ARGUMENT;
  }
  return 0;
}

/** 0 when every argument has the shape spec.ts declares, else the code to return. */
export function checkArgs(spec: PrimitiveSpec, args: readonly unknown[]): DkErrorCode | 0 {
  for (let i = 0; i < spec.args.length; i++) {
    const r = checkOne(spec, spec.args[i]!, args[i]);
    if (r !== 0) return r;
  }
  return 0;
}
