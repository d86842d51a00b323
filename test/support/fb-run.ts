// `drawbridge run --fb 127.0.0.1:0 MODULE` in a child process, for the frame-buffer view's tests
// (test/server/fb-run.test.ts, test/browser/fb.test.ts): the URL it prints, and its exit.
import { spawn, type ChildProcess } from 'node:child_process';

export interface FbRun {
  child: ChildProcess;
  /** http://127.0.0.1:PORT */
  origin: string;
  /** The URL as printed, with #token=... */
  url: string;
  token: string;
  /** The exit status (the program's), once it exits. */
  exit: Promise<number | null>;
  stderr(): string;
  stop(): Promise<void>;
}

/** Start the run and wait for the line with the URL (rejects with stderr if it exits first). */
export function startFbRun(module: string, extra: string[] = []): Promise<FbRun> {
  const child = spawn(process.execPath, ['bin/drawbridge.js', 'run', '--fb', '127.0.0.1:0', ...extra, module], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /frame buffer: (http:\/\/127\.0\.0\.1:\d+)\/#token=([0-9a-f]+)\n/.exec(err);
      if (m)
        resolve({
          child,
          origin: m[1]!,
          url: `${m[1]}/#token=${m[2]}`,
          token: m[2]!,
          exit,
          stderr: () => err,
          stop: async () => {
            if (child.exitCode === null) child.kill();
            await exit;
          },
        });
    });
    void exit.then((code) => reject(new Error(`drawbridge run exited with ${code} before printing its URL: ${err}`)));
  });
}
