// The exit statuses drawbridge gives a picoprocess that did not choose its own, as one table:
// each with its name, code and meaning, as wasmtime and POSIX shells use them (128 + a signal
// number for an end that came from outside the program). A guest's own statuses (proc_exit)
// are 0 up to GUEST_EXIT_CODE_END; the ones from there up belong to the host.

export interface ExitStatusEntry {
  readonly name: string;
  readonly code: number;
  readonly meaning: string;
}

export const EXIT_STATUSES = [
  {
    name: 'error',
    code: 1,
    meaning: 'the guest misused the WASI ABI (bad pointers, bad enum values), as wasmtime reports it; or its picoprocess failed while being set up',
  },
  {
    name: 'halted',
    code: 125,
    meaning: 'an extension halted the run on purpose (a replay that diverged); as docker and git bisect use 125: the run itself failed',
  },
  {
    name: 'cannot execute',
    code: 126,
    meaning: 'the module could not be started (no _start, no memory, imports that cannot be bound), as a shell reports a file it cannot execute',
  },
  { name: 'trap', code: 134, meaning: '128 + SIGABRT: the guest trapped, as wasmtime reports it on Unix; also a host error under a running picoprocess' },
  { name: 'killed', code: 137, meaning: '128 + SIGKILL: stopped from outside (drawbridge kill, a parent killing its child, a daemon shutting down)' },
  { name: 'cpu exceeded', code: 152, meaning: "128 + SIGXCPU: the manifest's CPU time limit was exceeded, as a shell reports a process ended by RLIMIT_CPU" },
] as const satisfies readonly ExitStatusEntry[];

export type ExitStatusName = (typeof EXIT_STATUSES)[number]['name'];

/** The code of the status named `name`. */
export function exitCodeOf(name: ExitStatusName): number {
  return EXIT_STATUSES.find((s) => s.name === name)!.code;
}

export const ERROR_EXIT_CODE = exitCodeOf('error');
export const HALTED_EXIT_CODE = exitCodeOf('halted');
export const CANNOT_EXECUTE_EXIT_CODE = exitCodeOf('cannot execute');
export const TRAP_EXIT_CODE = exitCodeOf('trap');
export const KILLED_EXIT_CODE = exitCodeOf('killed');
export const CPU_EXCEEDED_EXIT_CODE = exitCodeOf('cpu exceeded');

/** A guest's own exit statuses are below this (wasmtime: from 126 up they are the shell's). */
export const GUEST_EXIT_CODE_END = CANNOT_EXECUTE_EXIT_CODE;
