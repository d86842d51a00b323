// A picoprocess's frame buffer in `drawbridge serve` (the console's view of it): the frames
// cross from its worker thread to the daemon's API (GET /v1/processes/ID/fb, the whole frame
// then dirty rectangles), input goes back (POST .../fb/input, checked as run --fb's), the
// console's session cookie opens both from its own origin only, and a stream ends with its
// picoprocess (one that never shows a frame too).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { startDaemon, type Daemon } from '../../src/server/daemon.ts';
import { call } from '../../src/server/client.ts';
import type { ProcessInfo } from '../../src/server/supervisor.ts';
import { Button, encodeInputEvents, EventType, RectStreamDecoder, type RectMessage } from '../../src/web/fb/wire.ts';
import { fromPage, http, logIn } from './console-http.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const PAINT = join(ROOT, 'examples', 'paint.wasm');
const IDLE = join(ROOT, 'build', 'guests', 'density', 'idle.wasm');
const TOKEN = 'console-fb-token';
let d: Daemon;

before(async () => {
  d = await startDaemon({ connectionFile: null, token: TOKEN, workers: 1, warmUp: 0 });
});
after(async () => {
  await d.close();
});

/** A frame stream, kept as a picture: every rectangle applied to a copy of the frame. */
class Frames {
  width = 0;
  height = 0;
  rgba = new Uint8Array(0);
  messages = 0;
  first: RectMessage | null = null;
  ended = false;
  private readonly decoder = new RectStreamDecoder();
  private waiters: (() => void)[] = [];
  constructor(res: IncomingMessage) {
    res.on('data', (chunk: Buffer) => {
      for (const m of this.decoder.push(new Uint8Array(chunk))) {
        this.first ??= m;
        if (m.frameWidth !== this.width || m.frameHeight !== this.height) {
          this.width = m.frameWidth;
          this.height = m.frameHeight;
          this.rgba = new Uint8Array(this.width * this.height * 4);
        }
        for (let row = 0; row < m.h; row++) this.rgba.set(m.pixels.subarray(row * m.w * 4, (row + 1) * m.w * 4), ((m.y + row) * this.width + m.x) * 4);
        this.messages++;
      }
      this.wake();
    });
    res.on('close', () => {
      this.ended = true;
      this.wake();
    });
  }
  pixel(x: number, y: number): number[] {
    const at = (y * this.width + x) * 4;
    return [...this.rgba.subarray(at, at + 3)];
  }
  async until(ok: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 500);
      });
    }
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

function openFrames(id: number, headers: Record<string, string>): Promise<{ status: number; frames: Frames | null; close: () => void }> {
  const u = new URL(d.connection.url!);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: Number(u.port), path: `/v1/processes/${id}/fb`, headers }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return resolve({ status: res.statusCode!, frames: null, close: () => req.destroy() });
      }
      resolve({ status: 200, frames: new Frames(res), close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

const bearer = { authorization: `Bearer ${TOKEN}` };

test("the paint example's frames reach the API from its worker, and a drag sent as input is drawn", async () => {
  const { process: p } = (await call(d.connection, 'POST', '/v1/processes', { body: { module: PAINT } })) as { process: ProcessInfo };
  const view = await openFrames(p.id, bearer);
  try {
    assert.equal(view.status, 200);
    const f = view.frames!;
    await f.until(() => f.width === 320 && f.pixel(160, 120).join() === '255,255,255', 'the white page');
    assert.deepEqual([f.first!.x, f.first!.y, f.first!.w, f.first!.h], [0, 0, 320, 240], 'the whole frame first');

    // A drag from the console's own page, with the session cookie (the page sends an empty bearer).
    const { cookie } = await logIn(d.connection, TOKEN);
    const drag = encodeInputEvents([
      { type: EventType.MOTION, code: 100, value: 120 },
      { type: EventType.BUTTON, code: Button.LEFT, value: 1 },
      { type: EventType.MOTION, code: 140, value: 120 },
      { type: EventType.MOTION, code: 180, value: 120 },
      { type: EventType.BUTTON, code: Button.LEFT, value: 0 },
    ]);
    const sent = await http(d.connection, 'POST', `/v1/processes/${p.id}/fb/input`, {
      headers: fromPage(d.connection, cookie!, { authorization: 'Bearer', 'content-type': 'application/octet-stream' }),
      body: drag,
    });
    assert.equal(sent.status, 204, sent.text);
    await f.until(() => f.pixel(140, 120).join() === '0,0,0' && f.pixel(180, 120).join() === '0,0,0', 'the stroke drawn in black');
    assert.equal(f.pixel(140, 200).join(), '255,255,255', 'nothing drawn off the path');

    // The same input from another origin with the cookie is refused, and so is a pointer outside the frame.
    const cross = await http(d.connection, 'POST', `/v1/processes/${p.id}/fb/input`, {
      headers: { cookie: `drawbridge_session=${cookie}`, origin: 'http://127.0.0.1:1', 'sec-fetch-site': 'same-site' },
      body: drag,
    });
    assert.equal(cross.status, 403);
    const outside = await http(d.connection, 'POST', `/v1/processes/${p.id}/fb/input`, {
      headers: bearer,
      body: encodeInputEvents([{ type: EventType.MOTION, code: 320, value: 10 }]),
    });
    assert.equal(outside.status, 400);
    // Viewing with the cookie from another origin is refused too.
    assert.equal(
      (await openFrames(p.id, { cookie: `drawbridge_session=${cookie}`, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' })).status,
      403,
    );

    // A second viewer starts with the whole frame as it is now, stroke included.
    const second = await openFrames(p.id, bearer);
    const g = second.frames!;
    await g.until(() => g.messages > 0, "the second viewer's first frame");
    assert.deepEqual([g.first!.w, g.first!.h], [320, 240]);
    assert.equal(g.pixel(140, 120).join(), '0,0,0');
    // Its stream ends when the picoprocess does.
    await call(d.connection, 'POST', `/v1/processes/${p.id}/kill`);
    await g.until(() => g.ended, 'the end of the stream');
    await f.until(() => f.ended, 'the end of the first stream');
    second.close();
  } finally {
    view.close();
  }
});

test('a picoprocess without a frame buffer: input is refused before a frame, and its view ends with it', async () => {
  const { process: p } = (await call(d.connection, 'POST', '/v1/processes', { body: { module: IDLE } })) as { process: ProcessInfo };
  const view = await openFrames(p.id, bearer);
  assert.equal(view.status, 200);
  const early = await http(d.connection, 'POST', `/v1/processes/${p.id}/fb/input`, {
    headers: bearer,
    body: encodeInputEvents([{ type: EventType.KEY, code: 65, value: 1 }]),
  });
  assert.equal(early.status, 409);
  await call(d.connection, 'POST', `/v1/processes/${p.id}/kill`);
  await view.frames!.until(() => view.frames!.ended, 'the end of the stream');
  assert.equal(view.frames!.messages, 0);
  // An ended picoprocess has no view to open.
  assert.equal((await openFrames(p.id, bearer)).status, 409);
});
