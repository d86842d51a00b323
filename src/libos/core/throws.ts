// What a syscall throws instead of returning an errno: the guest exits (ProcExit) or made a
// mistake that ends the run (GuestError). The runtime catches both.

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
