// What `drawbridge run --fb ADDR:PORT` checks before it runs anything, apart from the view itself
// (run-view.ts), which the CLI loads only when --fb is given: node:http costs a run's start.

export class FrameBufferViewError extends Error {}

/** ADDR:PORT (IPv6 as [ADDR]:PORT) into host and port; a one-line reason when it is not one. */
export function parseListenAddress(text: string): { host: string; port: number } | string {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) return `--fb ${text}: expected ADDR:PORT, e.g. 127.0.0.1:8080 ([ADDR]:PORT for IPv6)`;
  return { host: m[1] ?? m[2]!, port };
}
