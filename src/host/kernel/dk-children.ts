// The child process primitives: DkProcessCreate starts a child picoprocess through the
// runtime's launcher (the host only keeps its handle, child-process.ts), DkProcessGetExitCode
// reads a child's code, DkProcessExit ends the calling picoprocess. The rules of every
// primitive are in process.ts.

import { DkError, type DkErrorCode } from '../../abi/errors.ts';
import type { DkResult, Handle } from '../../abi/dk.ts';
import type { StreamObject } from './kobject.ts';
import type { ProcessState } from './process-state.ts';
import { ChildProcess } from './child-process.ts';
import { isInt } from './arg-checks.ts';

/** Most handles DkProcessCreate passes on: stdin, stdout, stderr, then streams the child opens with inherit:N. */
export const MAX_PASSED_HANDLES = 4096;

export function dkProcessCreate(p: ProcessState, uri: string, args: readonly string[], stdio: readonly Handle[]): DkResult<Handle> {
  if (p.gone()) return DkError.EXITED;
  if (typeof uri !== 'string' || uri.length === 0) return DkError.INVALID_ARGUMENT;
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) return DkError.INVALID_ARGUMENT;
  if (!Array.isArray(stdio) || stdio.length > MAX_PASSED_HANDLES) return DkError.INVALID_ARGUMENT;
  const launcher = p.options.launcher;
  if (launcher === undefined) return DkError.NOT_SUPPORTED;
  const streams: (StreamObject | null)[] = [];
  for (const h of stdio) {
    if (h === 0) {
      streams.push(null);
      continue;
    }
    const s = p.stream(h);
    if (typeof s === 'number') return s;
    streams.push(s);
  }
  if (p.full()) return DkError.QUOTA_EXCEEDED;
  let launched: ReturnType<typeof launcher>;
  try {
    launched = launcher({ parent: p, uri, args: [...args], stdio: streams });
  } catch (e) {
    p.debug(`process launcher failed: ${String(e)}`);
    return DkError.IO_ERROR;
  }
  if (typeof launched === 'number') return launched < 0 ? (launched as DkErrorCode) : DkError.IO_ERROR;
  return p.insert(new ChildProcess(launched));
}
export function dkProcessGetExitCode(p: ProcessState, process: Handle): DkResult<number> {
  if (p.gone()) return DkError.EXITED;
  const c = p.handles.get(process);
  if (c === undefined) return DkError.BAD_HANDLE;
  if (!(c instanceof ChildProcess)) return DkError.WRONG_HANDLE_TYPE;
  return c.exitCode ?? DkError.WOULD_BLOCK;
}
export function dkProcessExit(p: ProcessState, code: number): DkResult<0> {
  if (p.exitCode !== null) return DkError.EXITED;
  p.terminate(isInt(code) ? code : -1);
  return 0;
}
