// proc_exit, proc_raise, sched_yield.

import { isDkError } from '../../abi/errors.ts';
import { GUEST_EXIT_CODE_END } from '../../abi/exit-status.ts';
import { Errno } from '../core/constants.ts';
import { errnoOf } from '../core/errno.ts';
import type { WasiState } from '../core/state.ts';
import { GuestError, ProcExit } from '../core/throws.ts';
import { INTERRUPTED_CALL } from '../core/wait.ts';

export function procCalls(os: WasiState) {
  return {
    proc_exit(code: number): never {
      // wasmtime accepts exit statuses 0..125 only; 126+ are reserved for the shell.
      if (code >>> 0 >= GUEST_EXIT_CODE_END) throw new GuestError('exit with invalid exit status outside of [0..126)');
      os.dk.processExit(code);
      throw new ProcExit(code);
    },
    proc_raise(_signal: number): number {
      return Errno.NOTSUP;
    },
    async sched_yield(): Promise<number> {
      // Lets the other picoprocesses of this event loop run (wasmtime: a no-op).
      const r = await os.dk.threadYieldExecution();
      if (os.interrupted) return INTERRUPTED_CALL;
      return isDkError(r) ? errnoOf(r) : Errno.SUCCESS;
    },
  };
}
