// `drawbridge run --fb`: the paint example served over HTTP as a user's browser would reach it,
// and as another local user or another site's page would try to: without the token nothing is
// shown and no input is taken, a cross-origin request is refused even with it, malformed input
// is refused; with it the first message is the whole frame, a drag is drawn, and q ends the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { encodeInputEvents, EventType, RectStreamDecoder, type RectMessage, type WireInputEvent } from '../../src/web/fb/wire.ts';
import { startFbRun, type FbRun } from '../support/fb-run.ts';
import { parseListenAddress } from '../../src/server/fb/view-address.ts';

interface Reply {
  status: number;
  body: string;
}

function send(run: FbRun, method: string, path: string, headers: Record<string, string>, body?: Uint8Array): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`${run.origin}${path}`, { method, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const bearer = (run: FbRun) => ({ authorization: `Bearer ${run.token}` });
const input = (run: FbRun, events: WireInputEvent[], headers: Record<string, string> = bearer(run)) =>
  send(run, 'POST', '/fb/input', headers, encodeInputEvents(events));

/** The frame stream: messages as they come; call until(pred) to wait for one that satisfies pred. */
function openStream(run: FbRun): Promise<{ res: IncomingMessage; until(pred: (m: RectMessage) => boolean): Promise<RectMessage>; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = request(`${run.origin}/fb/stream`, { headers: bearer(run) }, (res) => {
      const decoder = new RectStreamDecoder();
      const seen: RectMessage[] = [];
      let waiter: (() => void) | null = null;
      res.on('data', (c: Buffer) => {
        seen.push(...decoder.push(new Uint8Array(c)));
        waiter?.();
      });
      resolve({
        res,
        async until(pred) {
          for (;;) {
            const i = seen.findIndex(pred);
            if (i >= 0) return seen.splice(0, i + 1)[i]!;
            seen.length = 0;
            await new Promise<void>((r) => (waiter = r));
          }
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** The RGBA of frame pixel (x, y), from a message covering it. */
const pixel = (m: RectMessage, x: number, y: number) => [...m.pixels.subarray(((y - m.y) * m.w + (x - m.x)) * 4, ((y - m.y) * m.w + (x - m.x)) * 4 + 4)];
const covers = (m: RectMessage, x: number, y: number) => x >= m.x && x < m.x + m.w && y >= m.y && y < m.y + m.h;

test('run --fb: the token is needed, cross-origin requests are refused, the first frame is whole, a drag is drawn, q ends the run', async () => {
  const run = await startFbRun('examples/paint.wasm');
  try {
    // The page and its script are public; they hold nothing of the program.
    const page = await send(run, 'GET', '/', {});
    assert.equal(page.status, 200);
    assert.match(page.body, /<script type="module" src="\/fb.js">/);
    assert.equal((await send(run, 'GET', '/fb.js', {})).status, 200);

    // Without the token, or with another one: neither the frames nor input.
    assert.equal((await send(run, 'GET', '/fb/stream', {})).status, 401);
    assert.equal((await send(run, 'GET', '/fb/stream', { authorization: `Bearer ${'0'.repeat(32)}` })).status, 401);
    const noToken = await input(run, [{ type: EventType.KEY, code: 'q'.charCodeAt(0), value: 1 }], {});
    assert.deepEqual(noToken, { status: 401, body: 'the token printed with the URL is needed (Authorization: Bearer TOKEN)\n' });
    // Another site's page, even one that learnt the token: refused by its origin.
    const evil = await input(run, [{ type: EventType.KEY, code: 'q'.charCodeAt(0), value: 1 }], { ...bearer(run), origin: 'http://evil.example' });
    assert.deepEqual(evil, { status: 403, body: 'cross-origin requests are refused\n' });
    const crossSite = await send(run, 'GET', '/fb/stream', { ...bearer(run), 'sec-fetch-site': 'cross-site' });
    assert.equal(crossSite.status, 403);

    // With the token: the whole frame first (paper white below the palette, black selected).
    const stream = await openStream(run);
    const first = await stream.until(() => true);
    assert.deepEqual([first.x, first.y, first.w, first.h, first.frameWidth, first.frameHeight], [0, 0, 320, 240, 320, 240]);
    assert.deepEqual(pixel(first, 100, 100), [255, 255, 255, 255]);
    assert.deepEqual(pixel(first, 10, 10), [0, 0, 0, 255]);

    // At most 8 views at once: a ninth is refused until one closes.
    const more = await Promise.all(Array.from({ length: 7 }, () => openStream(run)));
    const ninth = await send(run, 'GET', '/fb/stream', bearer(run));
    assert.deepEqual(ninth, { status: 503, body: 'at most 8 views at once: close one\n' });
    for (const m of more) m.close();

    // Malformed input is refused whole: unknown types, motion outside the frame, too many events.
    assert.equal((await input(run, [{ type: 9, code: 0, value: 0 }])).status, 400);
    assert.equal((await input(run, [{ type: EventType.MOTION, code: 320, value: 10 }])).status, 400);
    assert.equal(
      (
        await input(
          run,
          Array.from({ length: 65 }, () => ({ type: EventType.MOTION, code: 1, value: 1 })),
        )
      ).status,
      413,
    );
    assert.equal((await send(run, 'POST', '/fb/input', bearer(run), new Uint8Array(13))).status, 400);

    // A drag from (100, 100) to (140, 100) with the left button held: a black line.
    const drag = await input(run, [
      { type: EventType.MOTION, code: 100, value: 100 },
      { type: EventType.BUTTON, code: 1, value: 1 },
      { type: EventType.MOTION, code: 120, value: 100 },
      { type: EventType.MOTION, code: 140, value: 100 },
      { type: EventType.BUTTON, code: 1, value: 0 },
    ]);
    assert.equal(drag.status, 204);
    const drawn = await stream.until((m) => covers(m, 140, 100) && pixel(m, 140, 100)[0] === 0);
    assert.deepEqual(pixel(drawn, 140, 100), [0, 0, 0, 255]);
    stream.close();

    assert.equal((await input(run, [{ type: EventType.KEY, code: 'q'.charCodeAt(0), value: 1 }])).status, 204);
    assert.equal(await run.exit, 0);
  } finally {
    await run.stop();
  }
});

test('run --fb with an address that is not ADDR:PORT says so in one line', async () => {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, ['bin/drawbridge.js', 'run', '--fb', 'localhost', 'examples/paint.wasm'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'drawbridge run: --fb localhost: expected ADDR:PORT, e.g. 127.0.0.1:8080 ([ADDR]:PORT for IPv6)\n');
});

test('--fb takes ADDR:PORT, IPv6 in brackets, and nothing else', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseListenAddress('[::1]:0'), { host: '::1', port: 0 });
  for (const bad of ['localhost', ':80', '127.0.0.1:', '127.0.0.1:70000', '::1:80', '[::1]', '127.0.0.1:80:80']) {
    assert.equal(parseListenAddress(bad), `--fb ${bad}: expected ADDR:PORT, e.g. 127.0.0.1:8080 ([ADDR]:PORT for IPv6)`, bad);
  }
});
