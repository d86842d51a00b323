// The web console's files: a small HTML shell at `/` and the page's script and style sheet,
// built by scripts/build-web.ts into dist/web (console.js, console.css, their source maps).
// Served to anyone (they hold no data: everything the page shows comes from /v1 after login),
// under a strict Content-Security-Policy: scripts only from this origin (no inline script, no
// CDN: the console works offline), connections only to this origin, no frames, no forms
// posting anywhere, no plugins. Styles come from console.css, plus the <style> elements the
// terminal (@xterm/xterm) makes for its colours and cell sizes, which the page marks with the
// nonce of this answer (src/web/console/style-nonce.ts).

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The files of dist/web the console serves, by URL path, with their types. */
const FILES: Record<string, { file: string; type: string }> = {
  '/console.js': { file: 'console.js', type: 'text/javascript; charset=utf-8' },
  '/console.css': { file: 'console.css', type: 'text/css; charset=utf-8' },
  '/console.js.map': { file: 'console.js.map', type: 'application/json' },
  '/console.css.map': { file: 'console.css.map', type: 'application/json' },
};

/** dist/web of the package this file belongs to (run from src/, from dist/ or from the CLI bundle): the nearest folder above that has one. */
function webFolder(): string {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'dist', 'web'))) return join(dir, 'dist', 'web');
    if (dirname(dir) === dir) return join(import.meta.dirname, '..', '..', '..', 'dist', 'web');
  }
}

const WEB = webFolder();

const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "font-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function shell(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="drawbridge-style-nonce" content="${nonce}">
<title>drawbridge console</title>
<link rel="stylesheet" href="/console.css">
<script type="module" src="/console.js"></script>
</head>
<body><noscript>The drawbridge console needs JavaScript.</noscript></body>
</html>
`;
}

function answer(res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...COMMON_HEADERS, ...headers, 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Answer a request for one of the console's files; false when `pathname` is none of them. */
export function serveConsoleFile(req: IncomingMessage, res: ServerResponse, pathname: string): boolean {
  const method = req.method ?? 'GET';
  if (pathname !== '/' && pathname !== '/favicon.ico' && !(pathname in FILES)) return false;
  req.resume();
  if (method !== 'GET' && method !== 'HEAD') {
    answer(res, 405, 'text/plain; charset=utf-8', `${method} is not allowed here\n`, { allow: 'GET, HEAD' });
    return true;
  }
  if (pathname === '/favicon.ico') {
    res.writeHead(204, COMMON_HEADERS).end();
    return true;
  }
  if (!existsSync(join(WEB, 'console.js'))) {
    answer(res, 503, 'text/plain; charset=utf-8', `the web console is not built (${join(WEB, 'console.js')} is missing): run npm run build\n`);
    return true;
  }
  if (pathname === '/') {
    const nonce = randomBytes(16).toString('base64');
    answer(res, 200, 'text/html; charset=utf-8', shell(nonce), { 'content-security-policy': contentSecurityPolicy(nonce), 'cache-control': 'no-store' });
    return true;
  }
  const { file, type } = FILES[pathname]!;
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(WEB, file));
  } catch {
    answer(res, 404, 'text/plain; charset=utf-8', `${file} is not built: run npm run build\n`);
    return true;
  }
  answer(res, 200, type, bytes, { 'cache-control': 'no-cache' }); // node:http sends no body to a HEAD
  return true;
}
