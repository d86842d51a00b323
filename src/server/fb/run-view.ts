// `drawbridge run --fb ADDR:PORT`: the program's frame buffer on a web page, served on that
// address only. Every route but the page and its script needs the random token made at start
// (printed with the URL, in its fragment, which browsers never send) as a bearer token, and
// comes from the page's own origin: without the token the frames are not shown and input is
// refused, so another local user or another site's page can neither watch nor type.
//
//   GET  /                the page (dist/web/fb.js draws the stream on a canvas)
//   GET  /fb.js           the page's script
//   GET  /fb/stream       the frame stream (src/web/fb/wire.ts), token needed
//   POST /fb/input        a batch of input events, token needed

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InputEvent, KernelHost } from '../../host/kernel/kernel.ts';
import { FrameHub } from './frames.ts';
import { InputRate } from './input.ts';
import { acceptInput, answer, hasToken, sameOrigin, streamFrames } from './http.ts';
import { FrameBufferViewError } from './view-address.ts';

export interface RunView {
  /** http://ADDR:PORT/#token=TOKEN: what the user opens. */
  url: string;
  token: string;
  /** Show picoprocess pid (the program run; until then the page waits). */
  follow(pid: number): void;
  close(): Promise<void>;
}

/** Why the view cannot be served: one line for the user. */

/** dist/web, where `npm run build` puts the pages (beside the CLI bundle, or above src/). */
function webDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, '..', 'web'), join(here, '..', '..', '..', 'dist', 'web')];
  return candidates.find((d) => existsSync(join(d, 'fb.js'))) ?? candidates[0]!;
}

const PAGE = (title: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title}</title>
<meta name="viewport" content="width=device-width">
<script type="module" src="/fb.js"></script>
</head>
<body></body>
</html>
`;

/** Frame streams open at once (each may hold a frame's worth of pixels while it sends). */
export const MAX_STREAMS = 8;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Listen on ADDR:PORT and serve the view of the program `name` whose frames `hub` collects;
 * input goes to `inject`. Resolves once listening (the URL then has the port bound).
 */
export async function startRunView(
  address: { host: string; port: number },
  name: string,
  hub: FrameHub,
  inject: (pid: number, e: InputEvent) => number,
): Promise<RunView> {
  const dir = webDir();
  const script = join(dir, 'fb.js');
  if (!existsSync(script)) throw new FrameBufferViewError(`the frame-buffer page is not built (${script}): run npm run build`);
  const js = readFileSync(script);
  const token = randomBytes(16).toString('hex');
  const rate = new InputRate();
  let pid: number | null = null;
  const waiting = new Set<() => void>();
  const streams = new Set<ServerResponse>();

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/') {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy': "default-src 'self'; frame-ancestors 'none'",
        'x-content-type-options': 'nosniff',
      });
      return void res.end(PAGE(escapeHtml(`drawbridge: ${name}`)));
    }
    if (req.method === 'GET' && path === '/fb.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      return void res.end(js);
    }
    if (path !== '/fb/stream' && path !== '/fb/input') return answer(res, 404, 'not found');
    if (!sameOrigin(req)) return answer(res, 403, 'cross-origin requests are refused');
    if (!hasToken(req, token)) return answer(res, 401, 'the token printed with the URL is needed (Authorization: Bearer TOKEN)');
    if (path === '/fb/stream' && req.method === 'GET') {
      if (streams.size >= MAX_STREAMS) return answer(res, 503, `at most ${MAX_STREAMS} views at once: close one`);
      streams.add(res);
      res.on('close', () => streams.delete(res));
      while (pid === null) await new Promise<void>((r) => waiting.add(r));
      return streamFrames(res, hub.viewer(pid));
    }
    if (path === '/fb/input' && req.method === 'POST') {
      if (pid === null) return answer(res, 409, 'the program has not started yet');
      return acceptInput(req, res, { pid, size: hub.display(pid) ?? null, rate, inject });
    }
    return answer(res, 405, `${req.method} is not allowed on ${path}`);
  };

  const server: Server = createServer((req, res) => {
    route(req, res).catch(() => {
      if (!res.headersSent) answer(res, 500, 'internal error');
      else res.destroy();
    });
  });
  // A viewer's page sends small requests: no reason to wait long for a slow one.
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new FrameBufferViewError(`--fb ${address.host}:${address.port}: cannot listen there (${e.code ?? e.message}); choose another address or port`)),
    );
    server.listen(address.port, address.host, () => resolve());
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : address.port;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return {
    url: `http://${host}:${port}/#token=${token}`,
    token,
    follow(p: number) {
      pid = p;
      for (const w of waiting) w();
      waiting.clear();
    },
    close() {
      for (const s of streams) s.destroy();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // a page still waiting for the program's first frame, too
      return closed;
    },
  };
}

/** The view of a program run on `host`: its frame-buffer updates collected, input injected into it. */
export function startFrameBufferView(address: { host: string; port: number }, name: string, host: KernelHost): Promise<RunView> {
  const hub = new FrameHub();
  host.onFrameBufferUpdate(hub.listener);
  return startRunView(address, name, hub, (pid, e) => host.injectInput(pid, e));
}
