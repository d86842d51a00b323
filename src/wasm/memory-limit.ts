// The memory quota, applied where the guest feels it: the maximum of the module's own linear
// memory is rewritten in its memory section before compiling, so a memory.grow past the limit
// returns -1 inside the guest (malloc returns NULL, the program reports "out of memory" its
// own way) instead of growing the host. A module that declares a smaller maximum keeps it.
//
// A module whose initial memory is already above the limit is refused (it could not even
// start within its quota). An imported memory is not rewritten: drawbridge does not provide
// memory imports at all (picoprocess.ts refuses them), so there is nothing to limit.

import { Reader, concat, leb, section, sections } from './binary.ts';

export const WASM_PAGE = 65536;
const SECTION_MEMORY = 5;

export class MemoryLimitError extends Error {}

/**
 * The module with the maximum of each memory it defines set to at most `limitBytes`
 * (rounded down to whole 64 KiB pages) plus `extraPages` (room the runtime itself may need,
 * e.g. the unwind buffer of a checkpoint). Returns the input unchanged when nothing changes.
 */
export function limitModuleMemory(bytes: Uint8Array, limitBytes: number, extraPages = 0): Uint8Array {
  try {
    return rewrite(bytes, limitBytes, extraPages);
  } catch (e) {
    if (e instanceof MemoryLimitError) throw e;
    throw new MemoryLimitError(`malformed module: ${(e as Error).message}`);
  }
}

function rewrite(bytes: Uint8Array, limitBytes: number, extraPages: number): Uint8Array {
  const maxPages = Math.min(65536, Math.floor(limitBytes / WASM_PAGE) + extraPages);
  const mem = sections(bytes).find((s) => s.id === SECTION_MEMORY);
  if (!mem) return bytes;
  if (mem.end > bytes.length) throw new MemoryLimitError('truncated module');
  const r = new Reader(bytes, mem.payload);
  let count = r.u32();
  const content: number[] = [...leb(count)];
  let changed = false;
  for (; count > 0; count--) {
    const flags = r.byte();
    if (flags & 0x04) throw new MemoryLimitError('64-bit memories are not supported');
    const initial = r.u32();
    const max = flags & 1 ? r.u32() : null;
    if (initial > maxPages) {
      throw new MemoryLimitError(
        `the module starts with ${initial} pages (${(initial * WASM_PAGE) / 2 ** 20} MiB) of memory, more than limits.memory allows (${maxPages} pages)`,
      );
    }
    const newMax = max === null ? maxPages : Math.min(max, maxPages);
    if (newMax !== max) changed = true;
    content.push(flags | 1, ...leb(initial), ...leb(newMax));
  }
  if (r.pos !== mem.end) throw new MemoryLimitError('malformed memory section');
  if (!changed) return bytes;
  return concat([bytes.subarray(0, mem.start), section(SECTION_MEMORY, content), bytes.subarray(mem.end)]);
}
