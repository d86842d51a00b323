// random_get: straight into guest memory, no copy.

import { isDkError } from '../../abi/errors.ts';
import { Errno } from '../core/constants.ts';
import { errnoOf } from '../core/errno.ts';
import type { WasiState } from '../core/state.ts';

export function randomCalls(os: WasiState) {
  return {
    random_get(bufPtr: number, len: number): number {
      os.mem.refresh();
      const view = os.mem.bytes(bufPtr, len);
      // The host may cap one request; fill in pieces.
      for (let off = 0; off < len; off += 65536) {
        const r = os.dk.randomBitsRead(view.subarray(off, Math.min(len, off + 65536)));
        if (isDkError(r)) return errnoOf(r);
      }
      return Errno.SUCCESS;
    },
  };
}
