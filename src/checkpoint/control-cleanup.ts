// Files removed however the process ends: a normal exit and an uncaught error (both emit
// 'exit'), and the signals that end a process by default and can be caught (SIGINT: Ctrl-C;
// SIGTERM: kill; SIGHUP: its terminal closed), which emit no 'exit'. For the control socket of
// `drawbridge run` (control.ts): left behind, it would name a process that is gone.
//
// A signal is then raised again with its default action, so the process still ends by that
// signal (a shell sees 130 for Ctrl-C). Where something else in the process listens for the
// signal, the process may go on: the files are left alone and nothing is raised. One listener
// per signal however many files, so that test holds.

import { rmSync } from 'node:fs';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const paths = new Set<string>();
let installed = false;

function removeAll(): void {
  for (const path of paths) rmSync(path, { force: true });
}

function install(): void {
  installed = true;
  process.on('exit', removeAll);
  for (const signal of SIGNALS) {
    const onSignal = () => {
      if (process.listenerCount(signal) > 1) return;
      removeAll();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** Remove `path` when the process ends; the function returned stops that (the file was removed or handed on). */
export function removeOnExit(path: string): () => void {
  paths.add(path);
  if (!installed) install();
  return () => void paths.delete(path);
}
