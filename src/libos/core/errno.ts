// DkError codes to WASI errno values: one table, used by every syscall family; and the names
// of errno values, for messages.

import { DkError } from '../../abi/errors.ts';
import { Errno } from './constants.ts';

const TABLE = new Map<number, number>([
  [DkError.WOULD_BLOCK, Errno.AGAIN],
  [DkError.NOT_FOUND, Errno.NOENT],
  [DkError.ALREADY_EXISTS, Errno.EXIST],
  [DkError.ACCESS_DENIED, Errno.ACCES],
  // The monitor's refusal: a path outside every grant. wasmtime (cap-std) answers EPERM.
  [DkError.NOT_CAPABLE, Errno.PERM],
  [DkError.BAD_HANDLE, Errno.BADF],
  [DkError.INVALID_ARGUMENT, Errno.INVAL],
  [DkError.BAD_ADDRESS, Errno.FAULT],
  [DkError.NO_MEMORY, Errno.NOMEM],
  [DkError.QUOTA_EXCEEDED, Errno.DQUOT],
  [DkError.NOT_SUPPORTED, Errno.NOTSUP],
  [DkError.NOT_A_DIRECTORY, Errno.NOTDIR],
  [DkError.IS_A_DIRECTORY, Errno.ISDIR],
  [DkError.DIRECTORY_NOT_EMPTY, Errno.NOTEMPTY],
  [DkError.NAME_TOO_LONG, Errno.NAMETOOLONG],
  [DkError.SYMLINK_LOOP, Errno.LOOP],
  [DkError.BROKEN_PIPE, Errno.PIPE],
  [DkError.TIMED_OUT, Errno.TIMEDOUT],
  [DkError.INTERRUPTED, Errno.INTR],
  [DkError.IO_ERROR, Errno.IO],
  [DkError.BUSY, Errno.BUSY],
  [DkError.NO_SPACE, Errno.NOSPC],
  [DkError.CROSS_DEVICE, Errno.XDEV],
  [DkError.READ_ONLY, Errno.ROFS],
  [DkError.FILE_TOO_LARGE, Errno.FBIG],
  [DkError.WRONG_HANDLE_TYPE, Errno.BADF],
  [DkError.OVERFLOW, Errno.OVERFLOW],
  [DkError.CONNECTION_REFUSED, Errno.CONNREFUSED],
  [DkError.CONNECTION_RESET, Errno.CONNRESET],
  [DkError.NOT_CONNECTED, Errno.NOTCONN],
  [DkError.ADDRESS_IN_USE, Errno.ADDRINUSE],
  [DkError.ADDRESS_NOT_AVAILABLE, Errno.ADDRNOTAVAIL],
  [DkError.EXITED, Errno.CANCELED],
]);

export function errnoOf(dkError: number): number {
  return TABLE.get(dkError) ?? Errno.IO;
}

/** The name of a WASI errno (NOENT), for messages; the number itself when it has none. */
export function errnoName(errno: number): string {
  for (const [k, v] of Object.entries(Errno)) if (v === errno) return k;
  return String(errno);
}
