// A picoprocess's frame buffer on a <canvas>: draws the rectangle stream of the host's
// frame-buffer view (src/web/fb/wire.ts) and sends the canvas's mouse and keyboard events back
// as input events. Used by the `run --fb` page (src/web/fb/main.ts) and the serve console.
//
// Input is sent one batch at a time: events wait while a batch is in flight, and a pointer that
// moves faster than batches go keeps only its latest position once the queue is half full, so a
// busy page never builds a backlog.

import { Button, encodeInputEvents, EventType, isKeyCode, Key, MAX_INPUT_BATCH, RectStreamDecoder, type WireInputEvent } from './fb/wire.ts';

export interface FrameBufferViewOptions {
  /** GET: the frame stream. */
  streamUrl: string;
  /** POST: batches of input events. */
  inputUrl: string;
  /** Sent as `Authorization: Bearer TOKEN` on both. */
  token: string;
  /** The frame's size, when it first comes and whenever it changes (to size the canvas on the page). */
  onFrameSize?(width: number, height: number): void;
  /** One line on what the view is doing: connecting, showing, ended, refused. */
  onStatus?(text: string): void;
}

export interface FrameBufferView {
  /** Settles when the stream ends (the program ended, or close()). */
  done: Promise<void>;
  close(): void;
}

/** Named keys (KeyboardEvent.key) that type no character. */
const NAMED_KEYS: Record<string, number> = {
  Backspace: Key.BACKSPACE,
  Tab: Key.TAB,
  Enter: Key.ENTER,
  Escape: Key.ESCAPE,
  Delete: Key.DELETE,
  ArrowUp: Key.UP,
  ArrowDown: Key.DOWN,
  ArrowLeft: Key.LEFT,
  ArrowRight: Key.RIGHT,
  Home: Key.HOME,
  End: Key.END,
  PageUp: Key.PAGE_UP,
  PageDown: Key.PAGE_DOWN,
  Insert: Key.INSERT,
  Shift: Key.SHIFT,
  Control: Key.CONTROL,
  Alt: Key.ALT,
  Meta: Key.META,
};
for (let i = 1; i <= 12; i++) NAMED_KEYS[`F${i}`] = Key.F1 + i - 1;

/** The key code of a KeyboardEvent.key, or null for a key the guest is not told of. */
export function keyCode(key: string): number | null {
  const named = NAMED_KEYS[key];
  if (named !== undefined) return named;
  const cp = key.codePointAt(0);
  return cp !== undefined && String.fromCodePoint(cp) === key && isKeyCode(cp) ? cp : null;
}

export function attachFrameBuffer(canvas: HTMLCanvasElement, options: FrameBufferViewOptions): FrameBufferView {
  const ctx = canvas.getContext('2d');
  if (ctx === null) throw new Error('this browser gives no 2D canvas');
  const abort = new AbortController();
  const auth = { authorization: `Bearer ${options.token}` };
  const status = (text: string) => options.onStatus?.(text);
  let size: { width: number; height: number } | null = null;

  async function stream(): Promise<void> {
    status('connecting');
    const res = await fetch(options.streamUrl, { headers: auth, signal: abort.signal, cache: 'no-store' });
    if (!res.ok || res.body === null) {
      status(res.status === 401 ? 'refused: the URL needs its #token=...' : `refused: ${res.status} ${await res.text()}`);
      return;
    }
    status("waiting for the program's first frame");
    const decoder = new RectStreamDecoder();
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const m of decoder.push(value)) {
        if (size === null || size.width !== m.frameWidth || size.height !== m.frameHeight) {
          size = { width: m.frameWidth, height: m.frameHeight };
          canvas.width = m.frameWidth;
          canvas.height = m.frameHeight;
          options.onFrameSize?.(m.frameWidth, m.frameHeight);
          status('showing');
        }
        const data = new Uint8ClampedArray(m.pixels.buffer as ArrayBuffer, m.pixels.byteOffset, m.pixels.byteLength);
        ctx!.putImageData(new ImageData(data, m.w, m.h), m.x, m.y);
      }
    }
    status('the program has ended');
  }

  // ---- input ----
  const queue: WireInputEvent[] = [];
  let inFlight = false;

  function push(e: WireInputEvent): void {
    if (size === null) return;
    const last = queue[queue.length - 1];
    if (e.type === EventType.MOTION && last?.type === EventType.MOTION && queue.length >= MAX_INPUT_BATCH / 2) queue[queue.length - 1] = e;
    else if (queue.length < 4 * MAX_INPUT_BATCH) queue.push(e);
    void flush();
  }

  async function flush(): Promise<void> {
    if (inFlight || queue.length === 0 || abort.signal.aborted) return;
    inFlight = true;
    const batch = queue.splice(0, MAX_INPUT_BATCH);
    try {
      const body = encodeInputEvents(batch);
      await fetch(options.inputUrl, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/octet-stream' },
        body: body.buffer as ArrayBuffer,
        signal: abort.signal,
      });
    } catch {
      // the view is closing, or the host has gone: the stream says which
    } finally {
      inFlight = false;
    }
    void flush();
  }

  /** The frame pixel under a mouse event, clamped to the frame. */
  function pixelOf(e: MouseEvent): { x: number; y: number } | null {
    if (size === null) return null;
    const box = canvas.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) return null;
    const x = Math.floor(((e.clientX - box.left) * size.width) / box.width);
    const y = Math.floor(((e.clientY - box.top) * size.height) / box.height);
    return { x: Math.min(size.width - 1, Math.max(0, x)), y: Math.min(size.height - 1, Math.max(0, y)) };
  }

  let pressed = 0;
  const motion = (e: MouseEvent) => {
    const p = pixelOf(e);
    if (p) push({ type: EventType.MOTION, code: p.x, value: p.y });
  };
  const button = (e: MouseEvent, down: boolean) => {
    const b = e.button === 0 ? Button.LEFT : e.button === 1 ? Button.MIDDLE : e.button === 2 ? Button.RIGHT : null;
    if (b === null) return;
    motion(e);
    push({ type: EventType.BUTTON, code: b, value: down ? 1 : 0 });
  };
  const onDown = (e: MouseEvent) => {
    canvas.focus();
    e.preventDefault();
    pressed++;
    button(e, true);
  };
  const onMove = (e: MouseEvent) => {
    // Over the canvas, or anywhere while a button pressed on it is held (a drag leaving it).
    if (e.target === canvas || pressed > 0) motion(e);
  };
  const onUp = (e: MouseEvent) => {
    if (pressed === 0) return;
    pressed--;
    button(e, false);
  };
  const onKey = (e: KeyboardEvent, down: boolean) => {
    const code = keyCode(e.key);
    if (code === null) return;
    e.preventDefault();
    push({ type: EventType.KEY, code, value: down ? 1 : 0 });
  };
  const onKeyDown = (e: KeyboardEvent) => onKey(e, true);
  const onKeyUp = (e: KeyboardEvent) => onKey(e, false);
  const noMenu = (e: Event) => e.preventDefault();

  canvas.tabIndex = 0;
  canvas.addEventListener('mousedown', onDown);
  window.addEventListener('mousemove', onMove);
  window.addEventListener('mouseup', onUp);
  canvas.addEventListener('keydown', onKeyDown);
  canvas.addEventListener('keyup', onKeyUp);
  canvas.addEventListener('contextmenu', noMenu);

  function detach(): void {
    canvas.removeEventListener('mousedown', onDown);
    window.removeEventListener('mousemove', onMove);
    window.removeEventListener('mouseup', onUp);
    canvas.removeEventListener('keydown', onKeyDown);
    canvas.removeEventListener('keyup', onKeyUp);
    canvas.removeEventListener('contextmenu', noMenu);
  }

  const done = stream()
    .catch((e: unknown) => {
      if (!abort.signal.aborted) status(`the stream broke: ${e instanceof Error ? e.message : String(e)}`);
    })
    .finally(detach);
  return {
    done,
    close() {
      abort.abort();
      detach();
    },
  };
}
