// What a syscall throws instead of returning an errno: the guest exits (ProcExit) or made a
// mistake that ends the run (GuestError). The runtime catches both. PreopenError: a grant's
// folder could not be opened before the program started.

/** Thrown by proc_exit to unwind the guest; the runtime turns it into the exit status. */
export class ProcExit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`proc_exit(${code})`);
    this.name = 'ProcExit';
    this.code = code;
  }
}

/** A guest mistake that wasmtime reports as an error, not an errno (e.g. proc_exit(200)). */
export class GuestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GuestError';
  }
}

/** A pre-opened folder could not be opened at start; the runtime names its host folder (`host`). */
export class PreopenError extends Error {
  readonly guestPath: string;
  readonly errno: string;
  constructor(guestPath: string, errno: string, host?: string) {
    const why = PREOPEN_REASONS[errno] ?? errno;
    super(host === undefined ? `cannot pre-open ${guestPath}: ${why}` : `cannot pre-open ${guestPath}: host folder ${host}: ${why}`);
    this.name = 'PreopenError';
    this.guestPath = guestPath;
    this.errno = errno;
  }
}

const PREOPEN_REASONS: Record<string, string> = {
  NOENT: 'no such folder',
  NOTDIR: 'not a folder',
  ACCES: 'permission denied',
  INVAL: 'not an absolute path, or not a folder the manifest grants',
  NOTCAPABLE: 'not granted by the manifest',
};
