// Readiness notifications from the real network, batched per turn of the event loop.
//
// libuv hands over every socket that became readable in one poll phase, one callback each,
// and Node runs the microtasks after each callback. A guest waiting in poll() on 32
// connections would be resumed by the first delivery, handle one request, and wait again:
// one poll round (and one JSPI suspension) per request, where a native server's epoll_wait
// returns every ready socket at once. So a socket's bytes are buffered at once (a poll that
// runs anyway sees them: readiness is the stream's state), but the wake-up of waiters is
// deferred to setImmediate, after the poll phase: one resumption sees every socket that
// got data in that turn. It costs no latency beyond the rest of the current turn.

interface Notifiable {
  changed(): void;
}

let pending: Notifiable[] = [];
let scheduled = false;

function flush(): void {
  const batch = pending;
  pending = [];
  scheduled = false;
  // Each stream once per turn, in the order they became ready.
  const seen = new Set<Notifiable>();
  for (const s of batch) {
    if (seen.has(s)) continue;
    seen.add(s);
    s.changed();
  }
}

/** Wake the waiters of `s` after the current poll phase (with every other stream of it). */
export function notifyLater(s: Notifiable): void {
  pending.push(s);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
}
