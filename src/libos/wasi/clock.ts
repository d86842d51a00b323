// clock_res_get, clock_time_get. clock_time_get is a hot path: no allocation beyond the
// BigInt the Dk returns. Like wasmtime, the CPU-time clocks are not offered (EBADF).

import { Clock } from '../../abi/dk.ts';
import { ClockId, Errno } from '../core/constants.ts';
import type { WasiState } from '../core/state.ts';
import { GuestError } from '../core/throws.ts';

/** The CPU-time clocks are not offered (EBADF, as wasmtime); any other id is not a clock id at all. */
function cpuClockOrFault(id: number): number {
  if (id === ClockId.PROCESS_CPUTIME_ID || id === ClockId.THREAD_CPUTIME_ID) return Errno.BADF;
  throw new GuestError(`invalid clock id ${id >>> 0}`);
}

export function clockCalls(os: WasiState) {
  const dk = os.dk;
  const mem = os.mem;
  return {
    clock_res_get(id: number, resPtr: number): number {
      if (id !== ClockId.REALTIME && id !== ClockId.MONOTONIC) return cpuClockOrFault(id);
      mem.refresh();
      mem.setU64(resPtr, 1n);
      return Errno.SUCCESS;
    },
    clock_time_get(id: number, _precision: bigint, timePtr: number): number {
      let t: bigint | number;
      if (id === ClockId.MONOTONIC) {
        t = dk.systemTimeQuery(Clock.MONOTONIC);
        if (os.monotonicOffset !== 0n && typeof t === 'bigint') t += os.monotonicOffset;
      } else if (id === ClockId.REALTIME) t = dk.systemTimeQuery(Clock.REALTIME);
      else return cpuClockOrFault(id);
      if (typeof t !== 'bigint') return Errno.IO;
      mem.refresh();
      mem.dv.setBigUint64(timePtr, t, true);
      return Errno.SUCCESS;
    },
  };
}
