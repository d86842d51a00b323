// The `drawbridge` import module: what WASI preview 1 lacks (sockets, child processes, fork),
// offered to guests beside wasi_snapshot_preview1 and declared for C in include/drawbridge.h.
// One entry per function: its family file and whether it may wait (imported as a JSPI
// Suspending function). Families register here as they land.

export interface DrawbridgeEntry {
  family: 'net' | 'process';
  blocking: boolean;
}

export const DRAWBRIDGE_CALLS: Record<string, DrawbridgeEntry> = {};
