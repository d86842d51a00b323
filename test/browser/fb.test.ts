// The frame-buffer view of `drawbridge run --fb` in a real browser (Debian's Chromium), checked
// by the canvas's pixels in screenshots, not by the DOM: the Game of Life example is shown and
// goes on changing; a mouse drag is drawn by the paint example along its path, in the colour a
// key chose. No page may break the Content-Security-Policy on the way.
//
// DRAWBRIDGE_SCREENSHOTS=1 writes docs/images/fb-life.png and docs/images/fb-paint.png.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { launchChromium, testNeedingChromium } from '../support/browser.ts';
import { startFbRun } from '../support/fb-run.ts';

/** The page's document, as the functions run in the page see it (this project's Node code has no DOM types). */
declare const document: { getElementById(id: string): { textContent: string | null } | null };

interface Image {
  width: number;
  height: number;
  /** RGBA, row after row. */
  rgba: Uint8Array;
}

/** Decode a PNG of 8-bit RGB or RGBA (what Chromium's screenshots are), with node:zlib. */
function decodePng(png: Buffer): Image {
  assert.equal(png.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', 'a PNG');
  let at = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (at < png.length) {
    const len = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.equal(data[8], 8, '8 bits a channel');
      assert.equal(data[12], 0, 'not interlaced');
      channels = data[9] === 6 ? 4 : data[9] === 2 ? 3 : 0;
      assert.ok(channels > 0, `colour type ${data[9]}`);
    } else if (type === 'IDAT') idat.push(data);
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? out[y * stride + i - channels]! : 0;
      const b = y > 0 ? out[(y - 1) * stride + i]! : 0;
      const c = i >= channels && y > 0 ? out[(y - 1) * stride + i - channels]! : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      const predictor = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter]!;
      out[y * stride + i] = (line[i]! + predictor) & 0xff;
    }
  }
  if (channels === 4) return { width, height, rgba: out };
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) rgba.set([out[i * 3]!, out[i * 3 + 1]!, out[i * 3 + 2]!, 255], i * 4);
  return { width, height, rgba };
}

/** The colour the screenshot shows at frame pixel (x, y) of a frame shown `scale` times its size. */
function at(img: Image, scale: number, x: number, y: number): [number, number, number] {
  const i = ((y * scale + (scale >> 1)) * img.width + x * scale + (scale >> 1)) * 4;
  return [img.rgba[i]!, img.rgba[i + 1]!, img.rgba[i + 2]!];
}

async function shot(page: Page, save?: string): Promise<Image> {
  const png = await page.locator('#fb').screenshot();
  if (save && process.env.DRAWBRIDGE_SCREENSHOTS === '1') writeFileSync(save, png);
  return decodePng(png);
}

/** Open the printed URL and wait until the first frame is on the canvas. */
async function openView(page: Page, url: string, violations: string[]): Promise<void> {
  page.on('console', (m) => {
    if (/Content.Security.Policy/i.test(m.text())) violations.push(m.text());
  });
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'showing', undefined, { timeout: 20_000 });
}

/** Screenshots of the canvas until one satisfies pred (the stream is live: it comes, or the test times out). */
async function untilShot(page: Page, pred: (img: Image) => boolean): Promise<Image> {
  for (;;) {
    const img = await shot(page);
    if (pred(img)) return img;
    await page.waitForTimeout(50);
  }
}

const LIFE_ALIVE = [90, 220, 120];
const LIFE_DEAD = [16, 18, 32];
const same = (a: number[], b: number[]) => a.every((v, i) => v === b[i]);

testNeedingChromium('the Game of Life example, live on the canvas: its cells by their pixels, and changing', async () => {
  const run = await startFbRun('examples/life.wasm');
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const violations: string[] = [];
    await openView(page, run.url, violations);
    const first = await shot(page);
    // 320x240 shown twice its size; cells of 4 pixels, 3 of them coloured and one a black grid line.
    assert.deepEqual([first.width, first.height], [640, 480]);
    const cells = (img: Image) => {
      let alive = 0;
      let dead = 0;
      for (let r = 0; r < 60; r++) {
        for (let c = 0; c < 80; c++) {
          const colour = at(img, 2, c * 4 + 1, r * 4 + 1);
          if (same(colour, LIFE_ALIVE)) alive++;
          else if (same(colour, LIFE_DEAD)) dead++;
        }
      }
      return {
        alive,
        dead,
        key: Array.from({ length: 60 * 80 }, (_, i) => (same(at(img, 2, (i % 80) * 4 + 1, Math.floor(i / 80) * 4 + 1), LIFE_ALIVE) ? 1 : 0)).join(''),
      };
    };
    const a = cells(first);
    assert.equal(a.alive + a.dead, 80 * 60, 'every cell is alive or dead');
    assert.ok(a.alive > 100 && a.dead > 100, `a living field: ${a.alive} alive, ${a.dead} dead`);
    assert.deepEqual(at(first, 2, 3, 3), [0, 0, 0], 'the grid line between cells');
    // Live: later screenshots show other generations.
    const later = await untilShot(page, (img) => cells(img).key !== a.key);
    const b = cells(later);
    assert.equal(b.alive + b.dead, 80 * 60);
    await shot(page, 'docs/images/fb-life.png');
    assert.deepEqual(violations, []);
  } finally {
    await browser.close();
    await run.stop();
  }
});

testNeedingChromium('a mouse drag on the canvas is drawn by the paint example along its path, in the colour a key chose', async () => {
  const run = await startFbRun('examples/paint.wasm');
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const violations: string[] = [];
    await openView(page, run.url, violations);
    const box = (await page.locator('#fb').boundingBox())!;
    const to = (x: number, y: number) => page.mouse.move(box.x + x * 2 + 1, box.y + y * 2 + 1, { steps: 4 });
    // A black stroke from (40, 60) to (200, 60), then red (key 2) from (60, 100) down to (60, 200).
    await to(40, 60);
    await page.mouse.down();
    for (let x = 60; x <= 200; x += 20) await to(x, 60);
    await page.mouse.up();
    await page.keyboard.press('2');
    await to(60, 100);
    await page.mouse.down();
    for (let y = 120; y <= 200; y += 20) await to(60, y);
    await page.mouse.up();
    const path = (img: Image) => [
      ...Array.from({ length: 17 }, (_, i) => at(img, 2, 40 + i * 10, 60)).map((c) => same(c, [0, 0, 0])),
      ...Array.from({ length: 11 }, (_, i) => at(img, 2, 60, 100 + i * 10)).map((c) => same(c, [220, 30, 30])),
    ];
    const img = await untilShot(page, (i) => path(i).every(Boolean));
    // Away from the strokes the paper is still white, and the palette shows red chosen.
    assert.deepEqual(at(img, 2, 120, 150), [255, 255, 255]);
    assert.deepEqual(at(img, 2, 300, 230), [255, 255, 255]);
    assert.deepEqual(at(img, 2, 40 + 10, 10), [220, 30, 30], 'the red swatch');
    assert.deepEqual(at(img, 2, 40 + 1, 10), [255, 255, 255], "the chosen swatch's white frame");
    // A third stroke, in blue (key 4), for the picture in the docs.
    await page.keyboard.press('4');
    await to(100, 180);
    await page.mouse.down();
    for (let i = 1; i <= 12; i++) await to(100 + i * 15, 180 - Math.round(50 * Math.sin(i / 2)));
    await page.mouse.up();
    await untilShot(page, (i) => same(at(i, 2, 100, 180), [30, 60, 220]));
    await shot(page, 'docs/images/fb-paint.png');
    assert.deepEqual(violations, []);
  } finally {
    await browser.close();
    await run.stop();
  }
});
