// Checks of guest arguments that several Dk primitive families share. Guest input is hostile:
// a value of the wrong type or out of range is answered with INVALID_ARGUMENT, never thrown on.

import { NO_OFFSET, Prot } from '../../abi/dk.ts';

/** The bits a prot argument may hold (DkVirtualMemoryAlloc/Protect, DkStreamMap). */
export const PROT_BITS = Prot.READ | Prot.WRITE | Prot.EXEC;

export function isFlags(value: unknown, allowed: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= allowed && (value & ~allowed) === 0;
}
export function isInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}
export function isOffset(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= NO_OFFSET;
}
