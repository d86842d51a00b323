// The control socket of a program that continues here from a snapshot or a log checkpoint
// (`drawbridge receive`, `drawbridge restore`), so that `drawbridge checkpoint PID` and `drawbridge migrate PID` reach
// it as they reach a `drawbridge run`: a migrated program can be migrated again. Without it, the
// receiving process had no socket, and a second migrate found no program to checkpoint.
//
// The socket is named by the pid (control.ts), so one program per process answers it: a
// receive running several at once gives it to the first, and to the next one received once
// that one has ended (`receive --once` runs one program per process). Its snapshots are sealed
// with the key the request names, as run's are; they record no measurement, since the one the
// program first ran under does not travel with a migration.

import type { Server } from 'node:net';
import type { Running } from '../runtime/picoprocess-types.ts';
import { CONTROL_DELAY_MS, serveControl, type ControlHandler } from './control.ts';
import { writeSealedSnapshot } from './snapshot-file.ts';

/** Whether a program answers this process's control socket now. */
let held = false;

/** Answer `drawbridge checkpoint/migrate PID` for `running` while it runs (a line to `say` when another program holds the socket). */
export function serveControlOfContinued(running: Running, name: string, say: (line: string) => void): void {
  const checkpoint = running.checkpoint;
  if (!checkpoint) return;
  serveControlWhile(
    async (req) => {
      const snapshot = await checkpoint(req.leaveRunning);
      return { ok: true, bytes: writeSealedSnapshot(req.out, snapshot, { keyFile: req.key, encrypt: req.encrypt }) };
    },
    running.done,
    name,
    say,
  );
}

/** Answer this process's control socket with `handler` until `done` (one program at a time: `say` tells another that it is not reachable). */
export function serveControlWhile(handler: ControlHandler, done: Promise<unknown>, name: string, say: (line: string) => void): void {
  if (held) {
    say(`${name}: not reachable by drawbridge checkpoint/migrate ${process.pid}: another program of this process answers it (receive --once: one per process)`);
    return;
  }
  held = true;
  let server: Server | null = null;
  // Opened after a moment, as run's is: a program over by then never needed it.
  const timer = setTimeout(() => {
    server = serveControl(handler);
  }, CONTROL_DELAY_MS);
  timer.unref();
  void done.finally(() => {
    clearTimeout(timer);
    // Closing a listening unix socket removes its file: the next program may take the name.
    server?.close();
    held = false;
  });
}
