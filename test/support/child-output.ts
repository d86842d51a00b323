// A child process's stdout or stderr as text, with a wait for a pattern (and a liveness bound
// that names what was awaited and shows what came, instead of a hung test).
import type { ChildProcessWithoutNullStreams } from 'node:child_process';

export function collect(child: ChildProcessWithoutNullStreams, stream: 'stdout' | 'stderr') {
  let text = '';
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  child[stream].setEncoding('utf8');
  child[stream].on('data', (d: string) => {
    text += d;
    for (const w of [...waiters]) {
      const m = text.match(w.re);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  return {
    text: () => text,
    waitFor: (re: RegExp, what = String(re), ms = 60_000) =>
      new Promise<RegExpMatchArray>((resolve, reject) => {
        const m = text.match(re);
        if (m) return resolve(m);
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; got: ${text}`)), ms);
        waiters.push({ re, resolve: (x) => (clearTimeout(timer), resolve(x)) });
      }),
  };
}
