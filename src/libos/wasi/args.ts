// args_get, args_sizes_get, environ_get, environ_sizes_get: exactly what the picoprocess
// was given, nothing from the host.

import { Errno } from '../core/constants.ts';
import { encodeUtf8 } from '../core/memory.ts';
import type { WasiState } from '../core/state.ts';

function sizes(os: WasiState, list: readonly string[], countPtr: number, sizePtr: number): number {
  let size = 0;
  for (const s of list) size += encodeUtf8(s).length + 1;
  os.mem.refresh();
  os.mem.setU32(countPtr, list.length);
  os.mem.setU32(sizePtr, size);
  return Errno.SUCCESS;
}

function fill(os: WasiState, list: readonly string[], ptrsPtr: number, bufPtr: number): number {
  os.mem.refresh();
  let at = bufPtr;
  list.forEach((s, i) => {
    const bytes = encodeUtf8(s);
    os.mem.setU32(ptrsPtr + 4 * i, at);
    os.mem.write(at, bytes);
    os.mem.setU8(at + bytes.length, 0);
    at += bytes.length + 1;
  });
  return Errno.SUCCESS;
}

export function argsCalls(os: WasiState) {
  return {
    args_sizes_get: (countPtr: number, sizePtr: number) => sizes(os, os.args, countPtr, sizePtr),
    args_get: (argvPtr: number, bufPtr: number) => fill(os, os.args, argvPtr, bufPtr),
    environ_sizes_get: (countPtr: number, sizePtr: number) => sizes(os, os.env, countPtr, sizePtr),
    environ_get: (envPtr: number, bufPtr: number) => fill(os, os.env, envPtr, bufPtr),
  };
}
