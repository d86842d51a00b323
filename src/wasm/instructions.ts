// Walking a function body one instruction at a time: the immediates each opcode carries, so
// that a scan (the tick rewrite, counted loops, indirect calls) can step over any instruction
// of the MVP and of the proposals the rewriters accept (bulk memory, SIMD, threads, reference
// types, exceptions, tail calls; not GC). An opcode it does not know is an error, never a guess.

import type { Reader } from './binary.ts';

/** Advance past one instruction whose opcode byte is at r.pos; returns the opcode. */
export function skipInstruction(r: Reader): number {
  const op = r.byte();
  switch (op) {
    case 0x02:
    case 0x03:
    case 0x04:
    case 0x06:
      r.blockType();
      break;
    case 0x07:
    case 0x08:
    case 0x09:
    case 0x18:
      r.skipLeb();
      break;
    case 0x0c:
    case 0x0d:
    case 0xd4:
    case 0xd6:
      r.skipLeb();
      break;
    case 0x0e: {
      const n = r.u32();
      for (let i = 0; i <= n; i++) r.skipLeb();
      break;
    }
    case 0x10:
    case 0x12:
    case 0x14:
    case 0x15:
    case 0xd2:
      r.skipLeb();
      break;
    case 0x11:
    case 0x13:
      r.skipLeb();
      r.skipLeb();
      break;
    case 0x1c: {
      const n = r.u32();
      for (let i = 0; i < n; i++) r.byte();
      break;
    }
    case 0x20:
    case 0x21:
    case 0x22:
    case 0x23:
    case 0x24:
    case 0x25:
    case 0x26:
      r.skipLeb();
      break;
    case 0x3f:
    case 0x40:
      r.skipLeb();
      break;
    case 0x41:
    case 0x42:
      r.skipLeb();
      break;
    case 0x43:
      r.pos += 4;
      break;
    case 0x44:
      r.pos += 8;
      break;
    case 0xd0:
      r.heapType();
      break;
    case 0xfc: {
      const sub = r.u32();
      if (sub <= 7) break;
      if (sub === 8 || sub === 10 || sub === 12 || sub === 14) {
        r.skipLeb();
        r.skipLeb();
        break;
      }
      if (sub === 9 || sub === 11 || sub === 13 || (sub >= 15 && sub <= 17)) {
        r.skipLeb();
        break;
      }
      throw new Error(`unknown instruction 0xfc ${sub}`);
    }
    case 0xfd: {
      const sub = r.u32();
      if (sub <= 11 || sub === 92 || sub === 93) r.memarg();
      else if (sub === 12 || sub === 13) r.pos += 16;
      else if (sub >= 21 && sub <= 34) r.byte();
      else if (sub >= 84 && sub <= 91) {
        r.memarg();
        r.byte();
      }
      break;
    }
    case 0xfe: {
      const sub = r.u32();
      if (sub === 3) r.byte();
      else r.memarg();
      break;
    }
    default:
      if (op >= 0x28 && op <= 0x3e) r.memarg();
      else if (
        op <= 0x01 ||
        op === 0x05 ||
        op === 0x0b ||
        op === 0x0f ||
        op === 0x19 ||
        op === 0x1a ||
        op === 0x1b ||
        (op >= 0x45 && op <= 0xc4) ||
        op === 0xd1 ||
        op === 0xd3
      ) {
        // no immediates
      } else throw new Error(`unknown instruction 0x${op.toString(16)}`);
  }
  return op;
}
