// Capture of a running picoprocess on Node. The machinery (Asyncify unwind at a wait or a
// tick, snapshot, rewind) is capture-core.ts, which has no Node and is shared with the browser
// host; this file gives it Node's clock, event loop, SHA-256, snapshot encoder and fork registry.

import { nowMs } from '../runtime/clock.ts';
import type { WasiLibOs } from '../libos/index.ts';
import { registerFork } from './fork.ts';
import { encodeSnapshot, sha256, snapshotInProcess } from './snapshot.ts';
import { CaptureCore, type CapturePlatform, type CaptureSource } from './capture-core.ts';

export { CaptureError, type CapturePlatform, type CaptureSource } from './capture-core.ts';

const NODE: CapturePlatform = {
  nowMs,
  afterOtherWork: (fn) => setImmediate(fn),
  sha256,
  encode: encodeSnapshot,
  inProcess: snapshotInProcess,
  registerFork,
};

export class Capturer extends CaptureCore {
  constructor(libos: WasiLibOs, source: CaptureSource) {
    super(libos, source, NODE);
  }
}
