// The one closed set of error codes of the Drawbridge ABI.
//
// Errors are values: every primitive returns either its result or one of these
// negative integers. No primitive throws for an expected condition ("would block",
// "not found", "refused by the monitor"), so hot paths stay free of exceptions and
// every layer (monitor, extensions, tracing, record/replay) can treat a result as data.
// The set is closed and versioned with the ABI: adding a code is an ABI change.

export const DkError = {
  /** The operation cannot complete now; wait on the stream's event (DkStreamGetEvent) and issue it again. */
  WOULD_BLOCK: -1,
  NOT_FOUND: -2,
  ALREADY_EXISTS: -3,
  /** The host's own permissions refuse it (EACCES/EPERM on the host). */
  ACCESS_DENIED: -4,
  /** The security monitor refuses it: outside the manifest's grants. */
  NOT_CAPABLE: -5,
  BAD_HANDLE: -6,
  INVALID_ARGUMENT: -7,
  /** A pointer or length outside the picoprocess's address space. */
  BAD_ADDRESS: -8,
  NO_MEMORY: -9,
  /** A manifest limit is exhausted (handles, children, bytes written, memory, CPU time). */
  QUOTA_EXCEEDED: -10,
  /** The primitive or URI kind exists but this host or handle cannot do it. */
  NOT_SUPPORTED: -11,
  // -12 is retired and never reused: codes are stable across ABI versions.
  NOT_A_DIRECTORY: -13,
  IS_A_DIRECTORY: -14,
  DIRECTORY_NOT_EMPTY: -15,
  NAME_TOO_LONG: -16,
  /** Too many symbolic links, or a symbolic link where none may be followed. */
  SYMLINK_LOOP: -17,
  BROKEN_PIPE: -18,
  TIMED_OUT: -19,
  INTERRUPTED: -20,
  IO_ERROR: -21,
  BUSY: -22,
  NO_SPACE: -23,
  CROSS_DEVICE: -24,
  READ_ONLY: -25,
  FILE_TOO_LARGE: -26,
  /** The handle is of the wrong kind for the operation (seek on a pipe, enumerate a file). */
  WRONG_HANDLE_TYPE: -27,
  OVERFLOW: -28,
  CONNECTION_REFUSED: -29,
  CONNECTION_RESET: -30,
  NOT_CONNECTED: -31,
  ADDRESS_IN_USE: -32,
  ADDRESS_NOT_AVAILABLE: -33,
  /** The picoprocess or thread has exited; the call cannot be completed. */
  EXITED: -34,
} as const;

export type DkErrorName = keyof typeof DkError;
export type DkErrorCode = (typeof DkError)[DkErrorName];

const NAMES = new Map<number, DkErrorName>((Object.keys(DkError) as DkErrorName[]).map((name) => [DkError[name], name]));

/** A result is an error exactly when it is a negative number. */
export function isDkError(value: unknown): value is DkErrorCode {
  return typeof value === 'number' && value < 0;
}

export function dkErrorName(code: number): string {
  return NAMES.get(code) ?? `UNKNOWN_ERROR(${code})`;
}

export const ALL_DK_ERRORS: readonly DkErrorCode[] = [...NAMES.keys()] as DkErrorCode[];
