// The frame-buffer view over node:http, for any server that routes to it (`run --fb`:
// run-view.ts; the serve console): the frame stream with backpressure, the input route with its
// bounds, and the checks every route of the view makes (a bearer token, same origin).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { INPUT_RECORD_BYTES, MAX_INPUT_BATCH } from '../../web/fb/wire.ts';
import type { FrameViewer } from './frames.ts';
import { checkInput, injectAll, type InputRate } from './input.ts';
import type { InputEvent } from '../../host/kernel/kernel.ts';

/** The largest input body taken: one full batch. */
export const MAX_INPUT_BODY = MAX_INPUT_BATCH * INPUT_RECORD_BYTES;

/** Whether the request carries `Authorization: Bearer TOKEN` (compared in constant time). */
export function hasToken(req: IncomingMessage, token: string): boolean {
  const given = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Whether the request comes from a page of this very origin (or from no page: curl). A browser
 * names the page's origin in Origin on a POST or a fetch, and says how it relates in
 * Sec-Fetch-Site: another site's page is refused even before its token would be looked at.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.headers.origin;
  return origin === undefined || origin === `http://${req.headers.host ?? ''}`;
}

/** Answer with a one-line text body. */
export function answer(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(text + '\n');
}

/**
 * Send a viewer's messages on res until either ends: the first is the whole frame, then dirty
 * rectangles, each encoded only once the connection has taken the one before (write said so,
 * or 'drain' came), so a slow viewer holds at most one message and the viewer's dirty region.
 */
export async function streamFrames(res: ServerResponse, viewer: FrameViewer): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.flushHeaders();
  let open = true;
  let drained: (() => void) | null = null;
  res.on('close', () => {
    open = false;
    viewer.close();
    drained?.();
  });
  res.on('drain', () => drained?.());
  while (open && !viewer.isClosed) {
    const message = viewer.next();
    if (message === null) {
      await viewer.ready();
      continue;
    }
    if (!res.write(message)) await new Promise<void>((resolve) => (drained = resolve));
    drained = null;
  }
  if (open) res.end();
}

/** The request's body, or null once it passes max bytes (the rest is not read). */
export function readBody(req: IncomingMessage, max: number): Promise<Uint8Array | null> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.destroy();
        resolve(null);
      } else chunks.push(c);
    });
    req.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

/**
 * POST of a batch of input events for picoprocess pid, shown by viewer: 204 once injected; 413
 * past one batch, 400/409/429 as checkInput says. The caller has checked the token and origin.
 */
export async function acceptInput(
  req: IncomingMessage,
  res: ServerResponse,
  target: { pid: number; size: { width: number; height: number } | null; rate: InputRate; inject: (pid: number, e: InputEvent) => number },
): Promise<void> {
  const body = await readBody(req, MAX_INPUT_BODY).catch(() => null);
  if (body === null) return answer(res, 413, `at most ${MAX_INPUT_BATCH} events (${MAX_INPUT_BODY} bytes) a request`);
  const verdict = checkInput(body, target.size, target.rate);
  if (!verdict.ok) return answer(res, verdict.status, verdict.reason);
  if (!injectAll(target.inject, target.pid, verdict.events)) return answer(res, 410, 'the program has ended');
  res.writeHead(204, { 'cache-control': 'no-store' });
  res.end();
}
