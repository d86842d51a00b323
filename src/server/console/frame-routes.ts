// The console's view of a picoprocess's frame buffer (the guest's DkFrameBufferExport), over the
// API's authentication (token or session cookie, same-origin rules):
//
//   GET  /v1/processes/ID/fb         the frame stream (src/web/fb/wire.ts): the whole frame
//                                    once it has one, then dirty rectangles; ends when it ends
//   POST /v1/processes/ID/fb/input   a batch of input events (checked and paced as run --fb's,
//                                    src/server/fb/input.ts) for its DkInputEventRead
//
// The frames come from the picoprocess's worker thread through the pool (pool/frame-forward.ts,
// pool/frame-mirror.ts). At most MAX_VIEWERS streams are open at once.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Pool } from '../pool/pool.ts';
import { acceptInput, streamFrames } from '../fb/http.ts';
import { InputRate } from '../fb/input.ts';
import { sendJson } from './json.ts';

const MAX_VIEWERS = 32;
/** Input paces kept (one per picoprocess that was sent input), oldest forgotten first. */
const MAX_RATES = 1024;

export class FrameRoutes {
  private readonly pool: Pool;
  private viewers = 0;
  private readonly rates = new Map<number, InputRate>();

  constructor(pool: Pool) {
    this.pool = pool;
  }

  /** Answer a frame-buffer route of picoprocess `id` (`rest`: the path after /v1/processes/ID/fb); null when it is none. */
  handle(req: IncomingMessage, res: ServerResponse, id: number, rest: string[], method: string): Promise<void> | null {
    if (rest.length === 0 && method === 'GET') return this.stream(req, res, id);
    if (rest.length === 1 && rest[0] === 'input' && method === 'POST') {
      let rate = this.rates.get(id);
      if (!rate) {
        if (this.rates.size >= MAX_RATES) this.rates.delete(this.rates.keys().next().value!);
        this.rates.set(id, (rate = new InputRate()));
      }
      return acceptInput(req, res, { pid: id, size: this.pool.frameSize(id), rate, inject: (pid, e) => this.pool.injectInput(pid, e) });
    }
    return null;
  }

  private async stream(req: IncomingMessage, res: ServerResponse, id: number): Promise<void> {
    req.resume();
    if (this.viewers >= MAX_VIEWERS) return sendJson(res, 503, { error: `too many frame-buffer views open (${MAX_VIEWERS}): close one` });
    const viewer = this.pool.frameViewer(id);
    this.viewers++;
    try {
      await streamFrames(res, viewer);
    } finally {
      this.viewers--;
    }
  }
}
