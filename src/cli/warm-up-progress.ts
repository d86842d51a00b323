// What `drawbridge serve` shows while it warms up (server/pool/warm-up.ts): on a terminal, one
// line rewritten in place (at most every PROGRESS_EVERY_MS) and wiped at the end; elsewhere (a
// log file, a pipe) one line when it begins and one when it ends. Bounded either way.

import type { WarmUpProgress, WarmUpResult } from '../server/pool/warm-up.ts';

const PROGRESS_EVERY_MS = 100;
const PREFIX = 'drawbridge serve: ';

export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export interface WarmUpDisplay extends WarmUpProgress {
  /** The warm-up is over (or was skipped): wipe the line, or say how it went. */
  finish(result: WarmUpResult): void;
}

export function warmUpDisplay(stream: ProgressStream, now: () => number = () => performance.now()): WarmUpDisplay {
  const tty = stream.isTTY === true;
  let total = 0;
  let shownAt = -Infinity;
  let begun = false;
  const show = (ended: number) => stream.write(`\r${PREFIX}warming up: ${ended}/${total} starts`);
  return {
    start(n) {
      total = n;
      begun = true;
      if (tty) show(0);
      else stream.write(`${PREFIX}warming up: ${n} starts of a built-in guest before listening\n`);
      shownAt = now();
    },
    ended(count) {
      if (!tty) return;
      const t = now();
      if (count < total && t - shownAt < PROGRESS_EVERY_MS) return;
      shownAt = t;
      show(count);
    },
    finish(result) {
      if (!begun) return;
      begun = false;
      if (tty) stream.write('\r\x1b[2K');
      else stream.write(`${PREFIX}${result.starts > 0 ? `warmed up by ${result.starts} starts in ${result.ms} ms` : `no warm-up: ${result.skipped}`}\n`);
    },
  };
}
