// The web console's files: the HTML shell at / and the built script and style sheet
// (dist/web, `npm run build`), served without login, under a strict Content-Security-Policy
// (no inline script, nothing from another origin), and nothing else of the disk.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type Daemon } from '../../src/server/daemon.ts';
import { http } from './console-http.ts';

const BUILT = join(import.meta.dirname, '..', '..', 'dist', 'web', 'console.js');
let d: Daemon;

before(async () => {
  assert.ok(existsSync(BUILT), `${BUILT} is missing: run npm run build`);
  d = await startDaemon({ connectionFile: null, token: 'console-static-token', workers: 0, warmUp: 0 });
});
after(async () => {
  await d.close();
});

test('GET / is the HTML shell under a strict Content-Security-Policy with a fresh style nonce', async () => {
  const a = await http(d.connection, 'GET', '/');
  assert.equal(a.status, 200);
  assert.equal(a.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(a.headers['cache-control'], 'no-store');
  assert.equal(a.headers['x-content-type-options'], 'nosniff');
  assert.equal(a.headers['x-frame-options'], 'DENY');
  const csp = String(a.headers['content-security-policy']);
  const directives = new Map(csp.split('; ').map((d) => [d.split(' ')[0]!, d.split(' ').slice(1)]));
  assert.deepEqual(directives.get('default-src'), ["'none'"]);
  assert.deepEqual(directives.get('script-src'), ["'self'"], 'no inline script, no other origin');
  assert.deepEqual(directives.get('connect-src'), ["'self'"]);
  assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
  const nonce = /content="([^"]+)"/.exec(a.text.match(/<meta name="drawbridge-style-nonce"[^>]*>/)![0])![1]!;
  assert.deepEqual(directives.get('style-src'), ["'self'", `'nonce-${nonce}'`]);
  assert.doesNotMatch(a.text, /<script>|<script [^>]*>[^<]/, 'no inline script in the page');
  assert.match(a.text, /<script type="module" src="\/console.js"><\/script>/);
  assert.match(a.text, /<link rel="stylesheet" href="\/console.css">/);
  const again = await http(d.connection, 'GET', '/');
  assert.doesNotMatch(again.text, new RegExp(nonce.replace(/[+/]/g, '\\$&')), 'a new nonce for every page');
});

test('the script and the style sheet are served as built, without login; HEAD too', async () => {
  const js = await http(d.connection, 'GET', '/console.js');
  assert.equal(js.status, 200);
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.ok(js.bytes.length > 1000);
  const css = await http(d.connection, 'GET', '/console.css');
  assert.equal(css.status, 200);
  assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
  assert.match(css.text, /\.xterm/, "the terminal's style sheet is bundled in");
  const head = await http(d.connection, 'HEAD', '/console.js');
  assert.equal(head.status, 200);
  assert.equal(head.bytes.length, 0);
  assert.equal(Number(head.headers['content-length']), js.bytes.length);
});

test('nothing else of the disk is served: other paths need the token like any API route', async () => {
  for (const path of ['/console.ts', '/package.json', '/../package.json', '/dist/web/console.js', '/%2e%2e/package.json', '/index.html']) {
    const a = await http(d.connection, 'GET', path);
    assert.equal(a.status, 401, path);
    assert.equal(a.headers['content-type'], 'application/json');
  }
  const post = await http(d.connection, 'POST', '/');
  assert.equal(post.status, 405);
});

test("the console's code inserts text as text: no HTML parsing of any string", () => {
  const folder = join(import.meta.dirname, '..', '..', 'src', 'web', 'console');
  const files = readdirSync(folder).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length > 5);
  for (const f of files) {
    const code = readFileSync(join(folder, f), 'utf8');
    assert.doesNotMatch(code, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|DOMParser|createContextualFragment/, f);
  }
});
