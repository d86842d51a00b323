// The record/replay log: JSON lines.
//
//   {"drawbridge":"record","version":1,"abi":"1.0.0"}                       header
//   {"i":1,"c":"DkStreamOpen","a":["stdin:",1,0,0],"r":1}                    one line per call
//   {"i":7,"c":"DkStreamRead","a":[1,-1,{"$len":1024}],"r":6,"o":"aGVsbG8K"}
//
// i: the call's number (calls are numbered when they start; a blocking call's line is written
// when it ends, so lines may come out of order and are sorted on reading). c: the primitive.
// a: the arguments (values.ts: bigints and bytes tagged; data given in as length + FNV-1a,
// a buffer to fill as its length). r: the result. o: what the call wrote into its bytes-out
// buffer (base64), when it wrote something.
//
// Every call is logged, not only the nondeterministic ones: replay checks each call against
// its line (the first one that differs stops the run), and answers the calls that reach the
// outside world from the log.

import { DK_ABI_VERSION } from '../abi/dk.ts';
import { ExtensionError } from './api.ts';
import type { Json } from './values.ts';

export const LOG_VERSION = 1;

export interface LogEntry {
  i: number;
  c: string;
  a: Json[];
  r: Json;
  o?: string;
}

export function logHeader(): string {
  return JSON.stringify({ drawbridge: 'record', version: LOG_VERSION, abi: DK_ABI_VERSION });
}

/** Parses a whole log; throws ExtensionError naming the line that is wrong. */
export function parseLog(text: string, name = 'log'): LogEntry[] {
  const lines = text.split('\n');
  let header: unknown;
  try {
    header = JSON.parse(lines[0] ?? '');
  } catch {
    header = null;
  }
  const h = header as { drawbridge?: unknown; version?: unknown; abi?: unknown } | null;
  if (!h || h.drawbridge !== 'record') throw new ExtensionError(`replay: ${name} is not a drawbridge record log (no header line)`);
  if (h.version !== LOG_VERSION)
    throw new ExtensionError(`replay: ${name} is a version ${String(h.version)} log; this drawbridge reads version ${LOG_VERSION}`);
  if (typeof h.abi !== 'string' || h.abi.split('.')[0] !== DK_ABI_VERSION.split('.')[0]) {
    throw new ExtensionError(`replay: ${name} was recorded with ABI ${String(h.abi)}; this host has ${DK_ABI_VERSION}`);
  }
  const entries: LogEntry[] = [];
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n]!;
    if (line.trim() === '') continue;
    let e: LogEntry;
    try {
      e = JSON.parse(line) as LogEntry;
    } catch {
      throw new ExtensionError(`replay: ${name}:${n + 1}: not JSON`);
    }
    if (!Number.isInteger(e.i) || e.i < 1 || typeof e.c !== 'string' || !Array.isArray(e.a) || !('r' in e)) {
      throw new ExtensionError(`replay: ${name}:${n + 1}: not a call line`);
    }
    entries.push(e);
  }
  entries.sort((x, y) => x.i - y.i);
  entries.forEach((e, k) => {
    if (e.i !== k + 1) throw new ExtensionError(`replay: ${name}: call ${k + 1} is missing (the log is cut or edited)`);
  });
  return entries;
}
