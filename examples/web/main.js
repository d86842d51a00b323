// The browser example (docs/browser.md): a C guest in a terminal, checkpointed to a file and
// restored from one, its files kept in IndexedDB; and a frame-buffer guest on a canvas.
// Served from the repository root by any static server (after npm run build), e.g.
//   python3 -m http.server -b 127.0.0.1 8000      then open http://127.0.0.1:8000/examples/web/
import { Terminal } from '../../node_modules/@xterm/xterm/lib/xterm.mjs';
import { indexedDbFileStore, restore, start } from '../../dist/browser/drawbridge.js';

const $ = (id) => document.getElementById(id);
const term = new Terminal({ convertEol: true, cursorBlink: true, rows: 16, cols: 88 });
term.open($('terminal'));
const store = indexedDbFileStore('drawbridge-example');
let program = null;
let line = '';

// What the program is granted: /data of its files (kept in IndexedDB), its output to the terminal.
const grants = () => ({
  mounts: ['/data'],
  files: { data: {} },
  fileStore: store,
  stdout: (text) => term.write(text),
  stderr: (text) => term.write(text),
});

async function attach(running, what) {
  program = running;
  line = '';
  $('status').textContent = what;
  $('checkpoint').disabled = !running.capturable;
  const status = await running.done;
  if (program !== running) return;
  program = null;
  $('checkpoint').disabled = true;
  $('status').textContent = status.checkpointed
    ? 'checkpointed (restore it to go on)'
    : `ended with status ${status.exitCode}${status.error ? `: ${status.error}` : ''}`;
}

const failed = (e) => ($('status').textContent = e.message);

$('start').onclick = () => {
  program?.kill();
  term.reset();
  start({ module: new URL('greeter.prepared.wasm', import.meta.url), name: 'greeter', ...grants() }).then((r) => attach(r, 'running'), failed);
};

$('checkpoint').onclick = async () => {
  if (!program) return;
  try {
    const snapshot = await program.checkpoint();
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([snapshot], { type: 'application/octet-stream' }));
    a.download = 'greeter.snap';
    a.click();
  } catch (e) {
    failed(e);
  }
};

$('restore').onchange = async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  program?.kill();
  term.reset();
  // The page holds no host key: it restores a snapshot whose source it trusts.
  restore({ snapshot: new Uint8Array(await file.arrayBuffer()), trustUnsealed: true, ...grants() }).then((r) => attach(r, `restored ${file.name}`), failed);
  event.target.value = '';
};

// The terminal is the program's stdin, a line at a time (Enter sends it, Ctrl-D ends input).
term.onData((data) => {
  if (!program) return;
  for (const ch of data) {
    if (ch === '\r') {
      term.write('\r\n');
      program.writeStdin(`${line}\n`);
      line = '';
    } else if (ch === '\x7f') {
      if (line) term.write('\b \b');
      line = line.slice(0, -1);
    } else if (ch === '\x04') program.endStdin();
    else if (ch >= ' ') {
      line += ch;
      term.write(ch);
    }
  }
});

// The frame buffer: each changed rectangle copied onto the canvas; mouse and keys sent back.
const canvas = $('fb');
const ctx = canvas.getContext('2d');
let shown = null;
let fbProgram = null;

function draw(frame) {
  if (canvas.width !== frame.width || canvas.height !== frame.height) [canvas.width, canvas.height] = [frame.width, frame.height];
  if (!shown || shown.width !== frame.width || shown.height !== frame.height) shown = ctx.createImageData(frame.width, frame.height);
  for (let y = frame.y; y < frame.y + frame.h; y++) {
    const from = (y * frame.width + frame.x) * 4;
    shown.data.set(frame.pixels.subarray(from, from + frame.w * 4), from);
  }
  ctx.putImageData(shown, 0, 0, frame.x, frame.y, frame.w, frame.h);
}

const at = (e) => {
  const r = canvas.getBoundingClientRect();
  return [Math.floor(((e.clientX - r.left) * canvas.width) / r.width), Math.floor(((e.clientY - r.top) * canvas.height) / r.height)];
};
canvas.onmousemove = (e) => fbProgram?.input({ type: 2, code: at(e)[0], value: at(e)[1] });
canvas.onmousedown = (e) => {
  canvas.focus();
  fbProgram?.input({ type: 2, code: at(e)[0], value: at(e)[1] });
  fbProgram?.input({ type: 3, code: e.button + 1, value: 1 });
};
canvas.onmouseup = (e) => fbProgram?.input({ type: 3, code: e.button + 1, value: 0 });
canvas.onkeydown = (e) => {
  if (e.key.length === 1) fbProgram?.input({ type: 1, code: e.key.codePointAt(0), value: 1 });
  e.preventDefault();
};
canvas.onkeyup = (e) => {
  if (e.key.length === 1) fbProgram?.input({ type: 1, code: e.key.codePointAt(0), value: 0 });
};

$('fb-start').onclick = async () => {
  fbProgram?.kill();
  try {
    fbProgram = await start({ module: new URL('../life.wasm', import.meta.url), onFrame: draw });
    $('fb-status').textContent = 'running';
    const status = await fbProgram.done;
    $('fb-status').textContent = `ended with status ${status.exitCode}`;
  } catch (e) {
    $('fb-status').textContent = e.message;
  }
};
