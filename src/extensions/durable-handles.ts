// The handles a durable picoprocess holds, and where each came from: what a restore needs to
// bring them back when it goes live at the end of the log (durable.ts), and what a log
// checkpoint refuses to carry (a child process). Kept in the program's own numbering (the one
// the log holds), fed every call the program makes with the result it got, whether the log or
// the host gave it. The kind of a handle follows from the primitive that made it, by the ABI
// table's category: threads make the picoprocess's own objects, processes its children,
// streams its streams and their events, the rest (a frame buffer) something of the host's.

import type { PrimitiveSpec } from '../abi/spec.ts';

export type Origin =
  /** An object of the picoprocess itself: thread, event, semaphore. */
  | { kind: 'own' }
  /** A stream, by the URI it was opened with, and the file position it has now (when known). */
  | { kind: 'stream'; uri: string; access: number; options: number; position: number | null }
  /** The READ or WRITE event of a stream (by the stream's handle). */
  | { kind: 'event'; stream: number; side: number }
  | { kind: 'process'; uri: string }
  | { kind: 'other'; what: string };

export interface Held {
  origin: Origin;
  refs: number;
}

const num = (v: unknown): number | null => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : null);

export class HandleOrigins {
  readonly held = new Map<number, Held>();

  /** Take note of one call the program made and the result it got. */
  observe(spec: PrimitiveSpec, args: readonly unknown[], result: unknown): void {
    const m = spec.method;
    if (spec.result === 'handle') {
      if (typeof result !== 'number' || result <= 0) return;
      this.held.set(result, { origin: originOf(spec, args), refs: 1 });
      return;
    }
    if (typeof result === 'number' && result < 0) return;
    const h = args[0] as number;
    const held = this.held.get(h);
    if (!held) return;
    if (m === 'objectReference') held.refs++;
    else if (m === 'objectClose') {
      if (--held.refs <= 0) this.held.delete(h);
    } else if (held.origin.kind === 'stream') {
      const o = held.origin;
      // The position of a file: moved by reads and writes at NO_OFFSET, set, or reported.
      if ((m === 'streamRead' || m === 'streamWrite') && args[1] === -1 && typeof result === 'number' && o.position !== null) o.position += result;
      else if (m === 'streamAttributesSetByHandle') {
        const p = num((args[1] as { position?: unknown } | null)?.position);
        if (p !== null) o.position = p;
      } else if (m === 'streamAttributesQueryByHandle') {
        const p = num((result as { position?: unknown } | null)?.position);
        if (p !== null) o.position = p;
      }
    }
  }

  /** The first handle that a log restore cannot bring back (a child, a frame buffer), described; null when none. */
  unrestorable(): string | null {
    for (const [h, { origin: o }] of this.held) {
      if (o.kind === 'process') return `handle ${h} is a child process (${o.uri})`;
      if (o.kind === 'other') return `handle ${h} is ${o.what}`;
    }
    return null;
  }
}

function originOf(spec: PrimitiveSpec, args: readonly unknown[]): Origin {
  switch (spec.category) {
    case 'threads':
      return { kind: 'own' };
    case 'processes':
      return { kind: 'process', uri: String(args[0]) };
    case 'streams':
      if (spec.method === 'streamGetEvent') return { kind: 'event', stream: args[0] as number, side: args[1] as number };
      return {
        kind: 'stream',
        uri: String(args[0]),
        access: Number(args[1]),
        options: Number(args[3] ?? 0),
        position: String(args[0]).startsWith('file:') ? 0 : null,
      };
    default:
      return { kind: 'other', what: `made by ${spec.name}` };
  }
}
