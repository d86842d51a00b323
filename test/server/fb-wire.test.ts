// The frame-buffer view's wire format and coalescing (src/web/fb/wire.ts, src/server/fb/),
// by property: the input decoder takes nothing outside its bounds, the rectangle stream decodes
// whatever the chunking and refuses what lies outside a frame, and a viewer that reads slower
// than the guest draws still ends with exactly the guest's last pixels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeInputEvents,
  encodeInputEvents,
  encodeRect,
  EventType,
  INPUT_RECORD_BYTES,
  isKeyCode,
  MAX_FRAME_PIXELS,
  MAX_INPUT_BATCH,
  RECT_HEADER_BYTES,
  RectStreamDecoder,
  rectInside,
  type Rect,
} from '../../src/web/fb/wire.ts';
import { addDirty, FrameHub, MAX_PENDING_RECTS } from '../../src/server/fb/frames.ts';
import { checkInput, InputRate } from '../../src/server/fb/input.ts';

const frameSize = fc.record({ width: fc.integer({ min: 1, max: 64 }), height: fc.integer({ min: 1, max: 64 }) });

test('the input decoder never accepts a batch that is too big, not whole events, of unknown types or outside the frame', () => {
  const word = fc.oneof(
    fc.integer({ min: 0, max: 5 }),
    fc.integer({ min: 0, max: 70 }),
    fc.integer({ min: 0, max: 0xffffffff }),
    fc.constantFrom(0xe000, 0x10ffff, 0xd800, 0x1f),
  );
  const record = fc.tuple(word, word, word).map(([t, c, v]) => encodeInputEvents([{ type: t, code: c, value: v }]));
  // Near the edges of the frame: known types, codes and values around its bounds.
  const edge = (width: number, height: number) =>
    fc
      .tuple(fc.integer({ min: 0, max: 4 }), fc.constantFrom(0, 1, width - 1, width, width + 1, 0x20), fc.constantFrom(-1, 0, 1, 2, height - 1, height))
      .map(([t, c, v]) => encodeInputEvents([{ type: t, code: c, value: v }]));
  const batch = (width: number, height: number) =>
    fc.oneof(
      fc.uint8Array({ maxLength: 2 * MAX_INPUT_BATCH * INPUT_RECORD_BYTES }),
      fc.array(record, { maxLength: MAX_INPUT_BATCH + 4 }).map((rs) => new Uint8Array(Buffer.concat(rs))),
      fc.array(edge(width, height), { minLength: 1, maxLength: 2 }).map((rs) => new Uint8Array(Buffer.concat(rs))),
      // Whole batches of good events, at the size bound and one past it.
      fc
        .integer({ min: MAX_INPUT_BATCH, max: MAX_INPUT_BATCH + 1 })
        .map((n) => encodeInputEvents(Array.from({ length: n }, () => ({ type: EventType.MOTION, code: 0, value: 0 })))),
    );
  const input = frameSize.chain(({ width, height }) => fc.record({ width: fc.constant(width), height: fc.constant(height), b: batch(width, height) }));
  fc.assert(
    fc.property(input, ({ b, width, height }) => {
      const r = decodeInputEvents(b, width, height);
      if (typeof r === 'string') return;
      assert.ok(b.length > 0 && b.length <= MAX_INPUT_BATCH * INPUT_RECORD_BYTES && b.length % INPUT_RECORD_BYTES === 0);
      assert.equal(r.length, b.length / INPUT_RECORD_BYTES);
      for (const e of r) {
        if (e.type === EventType.MOTION) assert.ok(e.code < width && e.value >= 0 && e.value < height, 'motion inside the frame');
        else if (e.type === EventType.KEY) assert.ok(isKeyCode(e.code) && (e.value === 0 || e.value === 1));
        else if (e.type === EventType.BUTTON) assert.ok(e.code >= 1 && e.code <= 3 && (e.value === 0 || e.value === 1));
        else assert.fail(`type ${e.type} accepted`);
      }
    }),
    { numRuns: 2000 },
  );
});

test('input events a page sends decode to what it sent', () => {
  fc.assert(
    fc.property(frameSize, fc.integer({ min: 1, max: MAX_INPUT_BATCH }), fc.infiniteStream(fc.nat()), ({ width, height }, n, seeds) => {
      const it = seeds[Symbol.iterator]();
      const next = () => it.next().value as number;
      const events = Array.from({ length: n }, () => {
        const kind = next() % 3;
        if (kind === 0) return { type: EventType.MOTION, code: next() % width, value: next() % height };
        if (kind === 1) return { type: EventType.BUTTON, code: 1 + (next() % 3), value: next() % 2 };
        return { type: EventType.KEY, code: 'a'.charCodeAt(0) + (next() % 26), value: next() % 2 };
      });
      assert.deepEqual(decodeInputEvents(encodeInputEvents(events), width, height), events);
    }),
  );
});

test('a batch past the rate is refused whole (429); the bucket fills again with time', () => {
  let now = 0;
  const rate = new InputRate(100, 10, () => now);
  const size = { width: 4, height: 4 };
  const ten = encodeInputEvents(Array.from({ length: 10 }, () => ({ type: EventType.MOTION, code: 1, value: 1 })));
  assert.equal(checkInput(ten, size, rate).ok, true);
  const refused = checkInput(ten.subarray(0, INPUT_RECORD_BYTES), size, rate);
  assert.deepEqual(refused, { ok: false, status: 429, reason: 'more than 500 events a second' });
  now += 50; // 5 events' worth
  assert.equal(checkInput(ten.subarray(0, 5 * INPUT_RECORD_BYTES), size, rate).ok, true);
  assert.equal(checkInput(ten.subarray(0, INPUT_RECORD_BYTES), size, rate).ok, false);
  assert.equal(checkInput(ten, null, rate).ok, false);
});

/** A frame of random pixels and rectangles inside it. */
const frameWithRects = frameSize.chain(({ width, height }) =>
  fc.record({
    width: fc.constant(width),
    height: fc.constant(height),
    pixels: fc.uint8Array({ minLength: width * height * 4, maxLength: width * height * 4 }),
    rects: fc.array(
      fc
        .record({ x: fc.nat(width - 1), y: fc.nat(height - 1) })
        .chain(({ x, y }) =>
          fc.record({ x: fc.constant(x), y: fc.constant(y), w: fc.integer({ min: 1, max: width - x }), h: fc.integer({ min: 1, max: height - y }) }),
        ),
      { minLength: 1, maxLength: 8 },
    ),
  }),
);

test('rectangle messages decode to their rectangles and pixels, however the stream is cut', () => {
  fc.assert(
    fc.property(frameWithRects, fc.array(fc.nat(), { maxLength: 10 }), ({ width, height, pixels, rects }, cuts) => {
      const stream = Buffer.concat(rects.map((r) => encodeRect(pixels, width, height, r)));
      const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
      const decoder = new RectStreamDecoder();
      const got = [];
      let from = 0;
      for (const p of [...points, stream.length]) {
        got.push(...decoder.push(new Uint8Array(stream.subarray(from, p))));
        from = p;
      }
      assert.equal(got.length, rects.length);
      got.forEach((m, i) => {
        const r = rects[i]!;
        assert.deepEqual([m.x, m.y, m.w, m.h, m.frameWidth, m.frameHeight], [r.x, r.y, r.w, r.h, width, height]);
        for (let row = 0; row < r.h; row++) {
          const want = pixels.subarray(((r.y + row) * width + r.x) * 4, ((r.y + row) * width + r.x + r.w) * 4);
          assert.deepEqual(m.pixels.subarray(row * r.w * 4, (row + 1) * r.w * 4), want);
        }
      });
    }),
  );
});

test('the rectangle decoder refuses a header outside its frame or past the largest frame, and never claims more', () => {
  const u32 = fc.oneof(fc.integer({ min: 0, max: 70 }), fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(8192, 8193, 65536));
  const header = fc.tuple(u32, u32, u32, u32, u32, u32).map((words) => {
    const b = new Uint8Array(RECT_HEADER_BYTES);
    const v = new DataView(b.buffer);
    words.forEach((w, i) => v.setUint32(i * 4, w, true));
    return b;
  });
  fc.assert(
    fc.property(header, fc.uint8Array({ maxLength: 4096 }), (h, rest) => {
      const v = new DataView(h.buffer);
      const [x, y, w, hh, fw, fh] = [0, 1, 2, 3, 4, 5].map((i) => v.getUint32(i * 4, true)) as [number, number, number, number, number, number];
      const valid = fw >= 1 && fh >= 1 && fw <= 8192 && fh <= 8192 && fw * fh <= MAX_FRAME_PIXELS && rectInside({ x, y, w, h: hh }, fw, fh);
      const decoder = new RectStreamDecoder();
      let messages;
      try {
        messages = decoder.push(new Uint8Array(Buffer.concat([h, rest])));
      } catch (e) {
        assert.ok(e instanceof RangeError);
        assert.equal(valid, false, 'a valid header was refused');
        return;
      }
      assert.equal(valid, true, 'an invalid header was taken');
      for (const m of messages) {
        assert.ok(rectInside(m, m.frameWidth, m.frameHeight));
        assert.equal(m.pixels.length, m.w * m.h * 4);
      }
    }),
    { numRuns: 3000 },
  );
});

test('a dirty region stays within its bound and covers every rectangle added to it', () => {
  const rect = fc.record({ x: fc.nat(50), y: fc.nat(50), w: fc.integer({ min: 1, max: 20 }), h: fc.integer({ min: 1, max: 20 }) });
  fc.assert(
    fc.property(fc.array(rect, { maxLength: 60 }), (rs) => {
      const region: Rect[] = [];
      for (const r of rs) {
        addDirty(region, r);
        assert.ok(region.length <= MAX_PENDING_RECTS);
      }
      for (const r of rs) {
        for (let y = r.y; y < r.y + r.h; y++)
          for (let x = r.x; x < r.x + r.w; x++)
            assert.ok(
              region.some((d) => x >= d.x && x < d.x + d.w && y >= d.y && y < d.y + d.h),
              `pixel ${x},${y} lost`,
            );
      }
    }),
  );
});

test('a viewer slower than the guest ends with exactly the final pixels, holding at most its bound of rectangles', () => {
  const step = fc.oneof(
    fc.record({ kind: fc.constant('draw' as const), x: fc.nat(), y: fc.nat(), w: fc.nat(), h: fc.nat(), colour: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('read' as const), n: fc.integer({ min: 1, max: 3 }) }),
    fc.record({ kind: fc.constant('resize' as const), width: fc.integer({ min: 1, max: 24 }), height: fc.integer({ min: 1, max: 24 }) }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 24 }), fc.array(step, { maxLength: 80 }), (w0, h0, steps) => {
      // The kernel's side: a frame buffer the guest draws into, each change notified.
      let width = w0;
      let height = h0;
      let pixels = new Uint8Array(width * height * 4);
      const hub = new FrameHub();
      const notify = (x: number, y: number, w: number, h: number) => hub.update({ processId: 7, width, height, format: 1, pixels, x, y, w, h });
      notify(0, 0, width, height);
      const viewer = hub.viewer(7);
      // The browser's side: a canvas the messages are drawn on.
      let screen = new Uint8Array(0);
      let sw = 0;
      const decoder = new RectStreamDecoder();
      const read = (n: number) => {
        for (let i = 0; i < n; i++) {
          const msg = viewer.next();
          if (msg === null) return;
          for (const m of decoder.push(msg)) {
            if (m.frameWidth * m.frameHeight * 4 !== screen.length || m.frameWidth !== sw)
              [screen, sw] = [new Uint8Array(m.frameWidth * m.frameHeight * 4), m.frameWidth];
            for (let row = 0; row < m.h; row++) screen.set(m.pixels.subarray(row * m.w * 4, (row + 1) * m.w * 4), ((m.y + row) * sw + m.x) * 4);
          }
        }
      };
      for (const s of steps) {
        if (s.kind === 'draw') {
          const x = s.x % width;
          const y = s.y % height;
          const w = 1 + (s.w % (width - x));
          const h = 1 + (s.h % (height - y));
          for (let row = y; row < y + h; row++) pixels.fill(s.colour, (row * width + x) * 4, (row * width + x + w) * 4);
          notify(x, y, w, h);
        } else if (s.kind === 'read') read(s.n);
        else {
          [width, height] = [s.width, s.height];
          pixels = new Uint8Array(width * height * 4).fill(9);
          notify(0, 0, width, height);
        }
        assert.ok(viewer.pending().length <= MAX_PENDING_RECTS);
      }
      read(Infinity);
      assert.equal(sw, width);
      assert.deepEqual(screen, pixels);
    }),
  );
});

test('a viewer that joins late gets the whole frame first; a closed viewer gets nothing more', async () => {
  const hub = new FrameHub();
  const pixels = new Uint8Array(2 * 2 * 4).fill(5);
  hub.update({ processId: 1, width: 2, height: 2, format: 1, pixels, x: 1, y: 1, w: 1, h: 1 });
  const v = hub.viewer(1);
  await v.ready();
  const [first] = new RectStreamDecoder().push(v.next()!);
  assert.deepEqual([first!.x, first!.y, first!.w, first!.h], [0, 0, 2, 2]);
  assert.equal(v.next(), null);
  v.close();
  hub.update({ processId: 1, width: 2, height: 2, format: 1, pixels, x: 0, y: 0, w: 1, h: 1 });
  assert.equal(v.next(), null);
  await v.ready(); // settles: closed
});
