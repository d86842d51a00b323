// Why a picoprocess of the daemon ended, in one line, for `drawbridge ps` and
// GET /v1/processes/ID. The exit statuses the host gives are named as abi/exit-status.ts names
// them (trap, killed, cpu exceeded...); a status below GUEST_EXIT_CODE_END without a message is
// the guest's own choice (proc_exit, or _start returning: 0).
//
// A memory limit ends nothing by itself (memory.grow fails, malloc returns NULL, the program
// decides): a program that failed with its memory at limits.memory has that said after its reason.

import { CPU_EXCEEDED_EXIT_CODE, EXIT_STATUSES, GUEST_EXIT_CODE_END, KILLED_EXIT_CODE } from '../abi/exit-status.ts';
import { formatSize } from '../monitor/manifest/units.ts';

/** What the reason is made of: the end's status and message (ExitStatus), whether it was a checkpoint, and a full memory. */
export interface EndFacts {
  exitCode: number;
  error?: string | null;
  checkpointed?: boolean;
  /** limits.memory, when the program failed with its memory grown to it (noteMemoryFull). */
  memoryFullAt?: number;
}

/** `status`, noting limits.memory when the program failed (not killed, not over its CPU time) with `memoryBytes` at or past it. */
export function noteMemoryFull<T extends EndFacts>(status: T, memoryBytes: number, limit: number): T {
  const failed = status.exitCode !== 0 && status.exitCode !== KILLED_EXIT_CODE && status.exitCode !== CPU_EXCEEDED_EXIT_CODE && !status.checkpointed;
  return failed && memoryBytes >= limit ? { ...status, memoryFullAt: limit } : status;
}

/** One line: `exited 0`, `trap: integer divide by zero`, `killed`, `cpu time limit exceeded (...)`; null while it runs. */
export function endReason(status: EndFacts | null): string | null {
  if (!status) return null;
  const reason = baseReason(status);
  return status.memoryFullAt === undefined ? reason : `${reason} (memory full: limits.memory ${formatSize(status.memoryFullAt)})`;
}

function baseReason(status: EndFacts): string {
  if (status.checkpointed) return 'checkpointed';
  const { exitCode, error } = status;
  const entry = EXIT_STATUSES.find((s) => s.code === exitCode);
  // A status the guest chose itself: no host message comes with it.
  if (!error && (exitCode < GUEST_EXIT_CODE_END || !entry)) return `exited ${exitCode}`;
  const name = entry ? entry.name : `exited ${exitCode}`;
  // `killed` says it all unless the message says more (the daemon shutting down).
  if (!error || error === name) return name;
  // The CPU quota's message names the limit already (quotas.ts cpuExceededMessage).
  if (entry?.name === 'cpu exceeded' && /^CPU time limit exceeded/.test(error)) return error.replace(/^CPU/, 'cpu');
  return `${name}: ${error.replace(/^wasm trap: /, '')}`;
}
