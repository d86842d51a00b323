// `drawbridge checkpoint PID` for a picoprocess in log mode (docs/durable.md): the control
// socket of control.ts answers with a log checkpoint (durable-run.ts), sealed with the host key
// and bound to the measurement it runs under, as a snapshot is.

import type { Manifest } from '../monitor/manifest/manifest.ts';
import type { ExtensionRequest } from '../extensions/spec-text.ts';
import type { ControlHandler } from './control.ts';
import { takeLogCheckpoint, type CheckpointStart, type DurableSetup } from './durable-run.ts';
import type { Measurement } from './measure.ts';
import { writeSealedSnapshot } from './snapshot-file.ts';

/** What a log checkpoint records of how the program started and what it was granted. */
export function checkpointStart(
  module: { sha256: string; size: number; name: string },
  args: readonly string[],
  manifest: Manifest,
  preopens: readonly { guestPath: string; name: string }[],
  listenSockets: readonly string[],
  extensions: readonly ExtensionRequest[],
): CheckpointStart {
  return {
    module: { sha256: module.sha256, size: module.size, name: module.name },
    args: [...args],
    env: { ...manifest.env },
    preopens: preopens.map((p) => ({ guestPath: p.guestPath, name: p.name })),
    listenSockets: [...listenSockets],
    mounts: manifest.mounts.map((m) => ({ guest: m.guest, mode: m.mode })),
    network: { connect: manifest.network.connect.map((p) => p.text), listen: manifest.network.listen.map((p) => p.text) },
    extensions: extensions.map((e) => e.name),
  };
}

/** What answers `drawbridge checkpoint` with a log checkpoint; without --leave-running the program then ends (status 0). */
export function logControlHandler(
  setup: DurableSetup,
  start: CheckpointStart,
  module: Uint8Array,
  process: { kill(code: number): void },
  measurement: () => Measurement,
): ControlHandler {
  return async (req) => {
    const cp = await takeLogCheckpoint(setup, start, module);
    let bytes: number;
    try {
      bytes = writeSealedSnapshot(req.out, cp.bytes, { keyFile: req.key, encrypt: req.encrypt, measurement: measurement() });
    } catch (e) {
      cp.resume();
      throw e;
    }
    if (req.leaveRunning) cp.resume();
    else {
      cp.stop();
      // Wakes its wait: the program ends there, at its boundary, and prints nothing more.
      process.kill(0);
    }
    return { ok: true, bytes };
  };
}
