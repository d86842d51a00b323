// The memory quota, applied where the guest feels it: the maximum of the module's own linear
// memory is rewritten in its memory section before compiling, so a memory.grow past the limit
// returns -1 inside the guest (malloc returns NULL, the program reports "out of memory" its
// own way) instead of growing the host. A module that declares a smaller maximum keeps it.
//
// A module whose initial memory is already above the limit is refused (it could not even
// start within its quota). An imported memory is not rewritten: drawbridge does not provide
// memory imports at all (picoprocess.ts refuses them), so there is nothing to limit.

export const WASM_PAGE = 65536;
const SECTION_MEMORY = 5;

export class MemoryLimitError extends Error {}

function readU32(bytes: Uint8Array, pos: number): [value: number, next: number] {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 5; i++) {
    if (pos >= bytes.length) throw new MemoryLimitError('truncated module');
    const b = bytes[pos++]!;
    result += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [result, pos];
    mul *= 128;
  }
  throw new MemoryLimitError('bad LEB128 in the module');
}

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/**
 * The module with the maximum of each memory it defines set to at most `limitBytes`
 * (rounded down to whole 64 KiB pages) plus `extraPages` (room the runtime itself may need,
 * e.g. the unwind buffer of a checkpoint). Returns the input unchanged when nothing changes.
 */
export function limitModuleMemory(bytes: Uint8Array, limitBytes: number, extraPages = 0): Uint8Array {
  const maxPages = Math.min(65536, Math.floor(limitBytes / WASM_PAGE) + extraPages);
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos]!;
    const [size, body] = readU32(bytes, pos + 1);
    const end = body + size;
    if (end > bytes.length) throw new MemoryLimitError('truncated module');
    if (id !== SECTION_MEMORY) {
      pos = end;
      continue;
    }
    let [count, p] = readU32(bytes, body);
    const content: number[] = [...leb(count)];
    let changed = false;
    for (; count > 0; count--) {
      const flags = bytes[p++]!;
      if (flags & 0x04) throw new MemoryLimitError('64-bit memories are not supported');
      let initial: number;
      [initial, p] = readU32(bytes, p);
      let max: number | null = null;
      if (flags & 1) [max, p] = readU32(bytes, p);
      if (initial > maxPages) {
        throw new MemoryLimitError(`the module starts with ${initial} pages (${(initial * WASM_PAGE) / 2 ** 20} MiB) of memory, more than limits.memory allows (${maxPages} pages)`);
      }
      const newMax = max === null ? maxPages : Math.min(max, maxPages);
      if (newMax !== max) changed = true;
      content.push(flags | 1, ...leb(initial), ...leb(newMax));
    }
    if (p !== end) throw new MemoryLimitError('malformed memory section');
    if (!changed) return bytes;
    const section = [SECTION_MEMORY, ...leb(content.length), ...content];
    const out = new Uint8Array(pos + section.length + (bytes.length - end));
    out.set(bytes.subarray(0, pos), 0);
    out.set(section, pos);
    out.set(bytes.subarray(end), pos + section.length);
    return out;
  }
  return bytes;
}
