// The page of `drawbridge run --fb ADDR:PORT` (src/server/fb/run-view.ts): the program's frame
// buffer on a canvas, live, with the mouse and keyboard sent back to it. The token comes in the
// URL's fragment (#token=...), which the browser never sends to a server.

import { el } from '../dom.ts';
import { attachFrameBuffer } from '../fb-canvas.ts';

const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
const status = el('p', { id: 'status' }, 'connecting');
const canvas = el('canvas', { id: 'fb', width: '1', height: '1', 'aria-label': "the program's frame buffer" });
canvas.style.imageRendering = 'pixelated';
canvas.style.display = 'block';
canvas.style.outline = '1px solid #888';
// Whole-pixel line heights: the canvas then starts on a whole pixel, and its pixels stay sharp.
document.body.style.font = '14px/20px system-ui, sans-serif';
document.body.style.margin = '16px';
document.body.append(el('h1', {}, document.title), canvas, status, el('p', {}, 'Click the frame to type to the program.'));
const h1 = document.querySelector('h1')!;
h1.style.fontSize = '16px';
h1.style.margin = '0 0 12px';

if (token === '') status.textContent = 'This page needs the URL drawbridge printed, with its #token=...';
else {
  attachFrameBuffer(canvas, {
    streamUrl: '/fb/stream',
    inputUrl: '/fb/input',
    token,
    onStatus: (text) => (status.textContent = text),
    // Small frames at twice their size, in whole pixels.
    onFrameSize(width, height) {
      const scale = width <= 480 && height <= 360 ? 2 : 1;
      canvas.style.width = `${width * scale}px`;
      canvas.style.height = `${height * scale}px`;
    },
  });
}
