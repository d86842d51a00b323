// The `drawbridge` import module: what WASI preview 1 lacks (sockets, child processes, fork, a
// frame buffer and input events), offered to guests beside wasi_snapshot_preview1 and declared
// for C in include/drawbridge.h.
// One entry per function: its family file and whether it may wait (imported as a JSPI
// Suspending function). Families register here as they land.

export interface DrawbridgeEntry {
  family: 'net' | 'process' | 'fb';
  blocking: boolean;
}

export const DRAWBRIDGE_CALLS: Record<string, DrawbridgeEntry> = {
  // process.ts: child picoprocesses and pipes (include/drawbridge/process.h)
  process_spawn: { family: 'process', blocking: false },
  process_wait: { family: 'process', blocking: true },
  process_kill: { family: 'process', blocking: false },
  pipe: { family: 'process', blocking: false },
  // net.ts: sockets beyond preview 1 (include/drawbridge/net.h)
  socket: { family: 'net', blocking: false },
  bind: { family: 'net', blocking: true }, // a UDP bind waits until the host has bound
  recvfrom: { family: 'net', blocking: true },
  sendto: { family: 'net', blocking: true },
  listen: { family: 'net', blocking: true },
  connect: { family: 'net', blocking: true },
  getaddrinfo: { family: 'net', blocking: true },
  getsockname: { family: 'net', blocking: true },
  getpeername: { family: 'net', blocking: false },
  // fb.ts: a frame buffer in the guest's memory and the display's input events (include/drawbridge/fb.h)
  fb_export: { family: 'fb', blocking: false },
  fb_update: { family: 'fb', blocking: false },
  input_read: { family: 'fb', blocking: true }, // never waits, but a spinning guest gives the loop a turn
  input_wait: { family: 'fb', blocking: true },
};
