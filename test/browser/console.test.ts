// The web console of `drawbridge serve` in a real browser (Debian's Chromium): log in (a wrong
// token first), spawn a guest from the form, see its stdout and stderr arrive in the terminal,
// answer it through the stdin line, kill it; checkpoint a prepared guest (the snapshot is
// downloaded), upload the snapshot back (restore), talk to the restored one, move it to the
// other worker thread and talk to it there. No page may
// break the Content-Security-Policy on the way (Chromium reports each violation on the console).
//
// DRAWBRIDGE_SCREENSHOTS=1 writes docs/images/console.png (the process table and a console).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startDaemon } from '../../src/server/daemon.ts';
import { call } from '../../src/server/client.ts';
import { launchChromium, testNeedingChromium } from '../support/browser.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const GREETER = join(ROOT, 'build', 'guests', 'console', 'greeter.wasm');
const IDLE = join(ROOT, 'build', 'guests', 'density', 'idle.wasm');
const TOKEN = 'console-browser-token';
/** How long a step may take before the test fails naming it: a liveness bound, generous for a loaded machine. */
const WAIT_MS = 90_000;
const PAINT = join(ROOT, 'examples', 'paint.wasm');
const LIFE = join(ROOT, 'examples', 'life.wasm');

/** The page's document, as the functions run in the page see it (this project's Node code has no DOM types). */
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): { length: number };
  getElementById(id: string): {
    width: number;
    height: number;
    getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
  } | null;
};

/** What the terminal shows (its rows' text). */
async function terminalText(page: Page): Promise<string> {
  return (await page.locator('#terminal .xterm-rows').textContent()) ?? '';
}

async function untilTerminalHas(page: Page, text: string): Promise<void> {
  await page.waitForFunction((t) => (document.querySelector('#terminal .xterm-rows')?.textContent ?? '').includes(t), text, { timeout: WAIT_MS });
}

/** The table's row of picoprocess `id` once its state cell reads `state`. */
async function untilRowState(page: Page, id: number, state: string): Promise<void> {
  await page.waitForFunction(([i, s]) => document.querySelector(`#process-table tr[data-id="${i}"] .state`)?.textContent === s, [id, state] as const, {
    timeout: WAIT_MS,
  });
}

/** The id of the picoprocess the console shows. */
async function shownId(page: Page): Promise<number> {
  const title = (await page.locator('#panel h2').textContent()) ?? '';
  return Number(title.split(' ')[0]);
}

testNeedingChromium('the web console: log in, spawn, output, stdin, kill, checkpoint download, restore upload, move', async () => {
  const d = await startDaemon({ connectionFile: null, token: TOKEN, workers: 2, warmUp: 0 });
  const browser = await launchChromium();
  const violations: string[] = [];
  try {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 820 } });
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    page.on('console', (m) => {
      if (/Content.Security.Policy/i.test(m.text())) violations.push(m.text());
    });
    page.on('pageerror', (e) => violations.push(`page error: ${e.message}`));
    await page.goto(d.connection.url!);

    // A wrong token says so, and no more; the right one opens the console.
    await page.fill('#token', 'not-the-token');
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.querySelector('.login .error')?.textContent === 'Wrong token.');
    await page.fill('#token', TOKEN);
    await page.click('button[type=submit]');
    await page.waitForSelector('#spawn-form');

    // Spawn the greeter from the form: its output arrives in the terminal, stderr too.
    await page.fill('#spawn-module', GREETER);
    await page.click('#spawn-form button[type=submit]');
    await page.waitForSelector('#panel:not(.hidden)');
    const greeter = await shownId(page);
    assert.ok(greeter > 0);
    await untilRowState(page, greeter, 'running');
    await untilTerminalHas(page, 'greeter: ready');
    await untilTerminalHas(page, 'greeter: waiting for a line');

    // A line typed into the stdin field reaches it; its answer comes back.
    await page.fill('#stdin-line', 'hello console');
    await page.press('#stdin-line', 'Enter');
    await untilTerminalHas(page, 'HELLO, HELLO CONSOLE');

    // Neighbours for the table; selecting a row opens its console, following its output from the start.
    for (const line of ['one\n', 'two\n']) await call(d.connection, 'POST', '/v1/processes', { body: { module: IDLE, stdin: line } });
    // One that computes (the Game of Life), for sparklines that move.
    await call(d.connection, 'POST', '/v1/processes', { body: { module: LIFE } });
    await page.waitForFunction(() => document.querySelectorAll('#process-table tbody tr').length === 4);
    await page.click(`#process-table tr[data-id="${greeter + 1}"]`);
    await untilTerminalHas(page, 'echo: one');
    await page.click(`#process-table tr[data-id="${greeter}"]`);
    await untilTerminalHas(page, 'HELLO, HELLO CONSOLE');
    // The sparklines have figures once a few stats events have come.
    await page.waitForFunction(() => /%/.test(document.querySelector(`#process-table tbody tr .num:nth-child(4)`)?.textContent ?? ''));
    if (process.env.DRAWBRIDGE_SCREENSHOTS === '1') {
      await page.waitForTimeout(8000); // a few seconds of sparkline for the picture
      mkdirSync(join(ROOT, 'docs', 'images'), { recursive: true });
      await page.screenshot({ path: join(ROOT, 'docs', 'images', 'console.png') });
    }

    // Kill: the table and the console say so.
    await page.click('#kill');
    await untilRowState(page, greeter, 'killed');
    assert.equal(await page.locator('#panel .state').textContent(), 'killed');
    assert.ok(await page.locator('#stdin-line').isDisabled());

    // Checkpoint a prepared guest: the snapshot is downloaded, and it stops.
    await page.click(`#process-table tr[data-id="${greeter + 1}"]`);
    await untilTerminalHas(page, 'echo: one');
    await page.fill('#stdin-line', 'before');
    await page.press('#stdin-line', 'Enter');
    await untilTerminalHas(page, 'echo: before');
    const downloading = page.waitForEvent('download');
    await page.click('#checkpoint');
    const download = await downloading;
    assert.equal(download.suggestedFilename(), `picoprocess-${greeter + 1}.snap`);
    const saved = join(mkdtempSync(join(tmpdir(), 'drawbridge-console-')), 'one.snap');
    await download.saveAs(saved);
    const snapshot = readFileSync(saved);
    assert.ok(snapshot.length > 1000);
    await untilRowState(page, greeter + 1, 'checkpointed');

    // Upload it back: a new picoprocess, listed and running, that goes on answering.
    await page.setInputFiles('#restore-file', saved);
    await page.waitForFunction((old) => (document.querySelector('#panel h2')?.textContent ?? '').split(' ')[0] !== String(old), greeter + 1);
    const restored = await shownId(page);
    assert.ok(restored > greeter + 2, `a new id: ${restored}`);
    assert.match((await page.locator('#notice').textContent()) ?? '', new RegExp(`restored one\\.snap as picoprocess ${restored}`));
    await untilRowState(page, restored, 'running');
    await page.fill('#stdin-line', 'after');
    await page.press('#stdin-line', 'Enter');
    await untilTerminalHas(page, 'echo: after');
    assert.ok(!(await terminalText(page)).includes('echo: before'), 'a restored picoprocess starts a new output');

    // Move it to the other worker thread: same id, its output going on.
    const worker = (await call(d.connection, 'GET', `/v1/processes/${restored}`)).process.worker as number;
    await page.click('#move');
    await page.waitForFunction((w) => (document.querySelector('#notice')?.textContent ?? '').endsWith(`moved to worker ${w}`), 1 - worker);
    await page.fill('#stdin-line', 'moved');
    await page.press('#stdin-line', 'Enter');
    await untilTerminalHas(page, 'echo: moved');

    // Log out: the page asks for the token again, and the cookie no longer opens the API.
    await page.click('#logout');
    await page.waitForSelector('#token');
    const status = await page.evaluate(async () => (await fetch('/v1/processes')).status);
    assert.equal(status, 401);
    assert.deepEqual(violations, []);
  } finally {
    await browser.close();
    await d.close();
  }
});

/** The RGBA pixels the frame-buffer canvas of the console holds now (what it drew), as one string per pixel. */
async function canvasPixels(page: Page): Promise<{ width: number; height: number; pixels: string[] }> {
  return page.evaluate(() => {
    const c = document.getElementById('frame-canvas')!;
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const pixels: string[] = [];
    for (let i = 0; i < data.length; i += 4) pixels.push(`${data[i]},${data[i + 1]},${data[i + 2]}`);
    return { width: c.width, height: c.height, pixels };
  });
}

testNeedingChromium("the web console shows a picoprocess's frame buffer on a canvas, and a mouse drag on it is drawn by the guest", async () => {
  const d = await startDaemon({ connectionFile: null, token: TOKEN, workers: 1, warmUp: 0 });
  const browser = await launchChromium();
  const violations: string[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(WAIT_MS);
    page.on('console', (m) => {
      if (/Content.Security.Policy/i.test(m.text())) violations.push(m.text());
    });
    page.on('pageerror', (e) => violations.push(`page error: ${e.message}`));
    await page.goto(d.connection.url!);
    await page.fill('#token', TOKEN);
    await page.click('button[type=submit]');
    await page.waitForSelector('#spawn-form');

    // The Game of Life: its frames arrive on the canvas and go on changing.
    const life = ((await call(d.connection, 'POST', '/v1/processes', { body: { module: LIFE } })) as { process: { id: number } }).process.id;
    await page.waitForSelector(`#process-table tr[data-id="${life}"]`);
    await page.click(`#process-table tr[data-id="${life}"]`);
    await page.waitForSelector('#frame:not(.hidden)', { timeout: WAIT_MS });
    const first = await canvasPixels(page);
    assert.deepEqual([first.width, first.height], [320, 240]);
    assert.ok(new Set(first.pixels).size >= 2, 'live cells and dead ones');
    const changed = async () => (await canvasPixels(page)).pixels.some((p, i) => p !== first.pixels[i]);
    while (!(await changed())) await page.waitForTimeout(50);
    if (process.env.DRAWBRIDGE_SCREENSHOTS === '1') await page.screenshot({ path: join(ROOT, 'docs', 'images', 'console-fb.png') });
    await call(d.connection, 'POST', `/v1/processes/${life}/kill`);
    await untilRowState(page, life, 'killed');

    // Paint: a drag across its page, made with the mouse on the canvas, is drawn in black.
    const paint = ((await call(d.connection, 'POST', '/v1/processes', { body: { module: PAINT } })) as { process: { id: number } }).process.id;
    await page.waitForSelector(`#process-table tr[data-id="${paint}"]`);
    await page.click(`#process-table tr[data-id="${paint}"]`);
    await page.waitForSelector('#frame:not(.hidden)', { timeout: WAIT_MS });
    const at = (x: number, y: number, p: { width: number; pixels: string[] }) => p.pixels[y * p.width + x];
    while (at(160, 120, await canvasPixels(page)) !== '255,255,255') await page.waitForTimeout(50);
    const box = (await page.locator('#frame-canvas').boundingBox())!;
    // The canvas shows the 320x240 frame at twice its size.
    const screen = (x: number, y: number) => [box.x + (x * box.width) / 320 + 1, box.y + (y * box.height) / 240 + 1] as const;
    await page.mouse.move(...screen(100, 150));
    await page.mouse.down();
    for (let x = 110; x <= 200; x += 10) await page.mouse.move(...screen(x, 150));
    await page.mouse.up();
    await page.waitForFunction(
      () => {
        const c = document.getElementById('frame-canvas')!;
        const d = c.getContext('2d')!.getImageData(150, 150, 1, 1).data;
        return d[0] === 0 && d[1] === 0 && d[2] === 0;
      },
      undefined,
      { timeout: WAIT_MS },
    );
    const after = await canvasPixels(page);
    assert.equal(at(150, 200, after), '255,255,255', 'nothing drawn off the path');
    assert.deepEqual(violations, []);
  } finally {
    await browser.close();
    await d.close();
  }
});

testNeedingChromium(
  "another origin's page on the same host cannot use the console's cookie: its requests reach the daemon with the cookie and are refused",
  async () => {
    const lines: string[] = [];
    const d = await startDaemon({ connectionFile: null, token: TOKEN, workers: 1, warmUp: 0, log: (l) => lines.push(l) });
    // The attacker: a web server on another port of 127.0.0.1 (a guest's, say): same site, other origin.
    const evil = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><title>evil</title><form id="f" method="POST" action="${d.connection.url}/v1/processes" enctype="text/plain"><input name='{"module":"${IDLE}","x":"' value='"}'></form>
<script>
fetch(${JSON.stringify(`${d.connection.url}/v1/processes`)}, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ module: ${JSON.stringify(IDLE)} }) })
  .finally(() => { document.title = 'fetched'; document.getElementById('f').submit(); });
</script>`);
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', () => r()));
    const evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}/`;
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(WAIT_MS);
      await page.goto(d.connection.url!);
      await page.fill('#token', TOKEN);
      await page.click('button[type=submit]');
      await page.waitForSelector('#spawn-form');
      // The same browser, logged in, visits the other page: a fetch, then a form posted to the API.
      const count = () => lines.filter((l) => / POST \/v1\/processes /.test(l)).length;
      await page.goto(evilUrl);
      const deadline = Date.now() + WAIT_MS;
      while (count() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const posts = lines.filter((l) => / POST \/v1\/processes /.test(l));
      assert.equal(posts.length, 2, lines.join('\n'));
      for (const l of posts) assert.match(l, / 403 /, 'refused as cross-origin (not 401: the cookie came with it)');
      const { processes } = (await call(d.connection, 'GET', '/v1/processes')) as { processes: unknown[] };
      assert.deepEqual(processes, []);
    } finally {
      await browser.close();
      evil.close();
      await d.close();
    }
  },
);
