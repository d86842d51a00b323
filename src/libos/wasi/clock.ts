// clock_res_get, clock_time_get. clock_time_get is a hot path: no allocation beyond the
// BigInt the Dk returns. Like wasmtime, the CPU-time clocks are not offered (EBADF).

import { Clock } from '../../abi/dk.ts';
import { ClockId, Errno } from './constants.ts';
import type { WasiState } from './state.ts';

export function clockCalls(os: WasiState) {
  const dk = os.dk;
  const mem = os.mem;
  return {
    clock_res_get(id: number, resPtr: number): number {
      if (id !== ClockId.REALTIME && id !== ClockId.MONOTONIC) return id === ClockId.PROCESS_CPUTIME_ID || id === ClockId.THREAD_CPUTIME_ID ? Errno.BADF : Errno.INVAL;
      mem.refresh();
      mem.setU64(resPtr, 1n);
      return Errno.SUCCESS;
    },
    clock_time_get(id: number, _precision: bigint, timePtr: number): number {
      let t: bigint | number;
      if (id === ClockId.MONOTONIC) t = dk.systemTimeQuery(Clock.MONOTONIC);
      else if (id === ClockId.REALTIME) t = dk.systemTimeQuery(Clock.REALTIME);
      else return id === ClockId.PROCESS_CPUTIME_ID || id === ClockId.THREAD_CPUTIME_ID ? Errno.BADF : Errno.INVAL;
      if (typeof t !== 'bigint') return Errno.IO;
      mem.refresh();
      mem.dv.setBigUint64(timePtr, t, true);
      return Errno.SUCCESS;
    },
  };
}
