// durable: the layer of a log-mode picoprocess (docs/durable.md). It sits nearest the library
// OS and does two things, one after the other:
//
// - Live: every call goes to the host; its answer is appended to the durable log
//   (durable-log.ts) before the program sees it, through a sink that writes it out at once.
// - Replaying (a restore): the program runs again from its start and the log answers it, as
//   `replay` does (replay.ts: the calls on the picoprocess's own state go below, everything
//   that touches the outside world is answered from the log), with one difference: no outside
//   effect is made again, output included (what the program wrote to stdout was written
//   before). Each call is checked against its entry (primitive, argument digest); the first one
//   that differs stops it with one line naming the call. When the program makes the call after
//   the log's last entry (the call it was waiting in when the checkpoint was taken), the digest
//   of its linear memory is checked against the checkpoint's, the handles it holds are brought
//   back (durable-handles.ts: stdio reopened, files reopened by URI at their position, sockets
//   and pipes as reset connections; a child process cannot be), and from there on it is live.
//
// After a restore the program keeps the handle numbers the log holds; the real handles it gets
// from then on may be others, so this layer translates between the two in both directions (a
// run that was never restored translates nothing). The log is always in the program's numbers,
// so a restored picoprocess can be checkpointed again, and restored again.

import { DkError, dkErrorName } from '../abi/errors.ts';
import { Access } from '../abi/dk.ts';
import type { Dk } from '../abi/dk.ts';
import type { PrimitiveSpec } from '../abi/spec.ts';
import { ExtensionHalt, PASS, wrapDk, type Call } from './api.ts';
import { argsDigest, encodeEntry, sameValue, type DurableEntry } from './durable-log.ts';
import { HandleOrigins } from './durable-handles.ts';
import { filledBytes, formatCall, formatValue } from './format.ts';
import { replayedBelow } from './replay.ts';

/** Where log entries go: written out (and durable) when append returns. */
export interface DurableSink {
  append(bytes: Uint8Array): void;
}

export interface DurableOptions {
  sink: DurableSink;
  /** The digest of the program's linear memory now (hex); the runtime computes it. */
  memoryDigest(): string;
  /** Run these entries again first (a restore), then go live. */
  replay?: { entries: Iterable<DurableEntry>; memoryDigest: string | null };
  /** Told once a replay has gone live (its memory checked, its handles back), before the first live call goes below. */
  onLive?: () => void;
  /** Bytes the sink holds before the first append (its header, the log copied from a checkpoint). */
  startBytes?: number;
}

/** Where a checkpoint of the log was taken: the calls before it and the memory at it. */
export interface LogBoundary {
  /** Entries of the log before the boundary (the call the program waits in is the next one). */
  calls: number;
  /** Bytes of the log file up to there, its header included. */
  logBytes: number;
  memoryDigest: string;
}

/** Thrown into the program once a checkpoint stopped it: exit status 0, nothing printed. */
export class CheckpointStop extends ExtensionHalt {
  constructor() {
    super('', 0, true);
  }
}

export interface DurableInstance {
  dk: Dk;
  /** Whether the restore has gone live (always true for a run that is not a restore). */
  readonly live: boolean;
  /** Entries in the log so far. */
  readonly calls: number;
  /**
   * The boundary of a checkpoint: now, when the program waits in a call, else at the start of
   * its next call. Refused (an Error with one line) while replaying, or while it holds what a
   * log restore cannot bring back.
   */
  boundary(): Promise<LogBoundary>;
  /** After a checkpoint that stops it: the program ends at its next step (its wait is woken by the caller). */
  stop(): void;
  /** After a checkpoint that leaves it running: a call held at the boundary goes on. */
  resume(): void;
}

/** Primitives that go below while a restore replays: replay's, but for the host debug log (an outside effect). */
function belowInRestore(spec: PrimitiveSpec): boolean {
  return replayedBelow(spec) && spec.method !== 'debugStringPrint';
}

/** How long a checkpoint waits for a program that computes to reach a call that waits. */
const BOUNDARY_WAIT_MS = 10_000;

/** A handle number that no host gives out: a translated call on it fails as on any bad handle. */
const NO_HANDLE = 0x3fffffff;

/** URIs reopened as they were when a restore goes live. */
const REOPENED = /^(stdin|stdout|stderr|null|file|dir):/;

interface Note {
  seq: number;
  digest: number;
  /** The program's arguments (before translation). */
  args: unknown[];
  replayed: boolean;
}

export function createDurable(lower: Dk, options: DurableOptions): DurableInstance {
  const { sink } = options;
  /** The log's entries, read one at a time (a log may be large). */
  const entries = options.replay ? options.replay.entries[Symbol.iterator]() : null;
  let live = entries === null;
  let seq = 0;
  /** Entries in the log so far: the replayed ones count as the replay goes (they are in the file already). */
  let written = 0;
  /** A checkpoint stopped it: the program ends at its next step. */
  let stopping = false;
  /** A divergence stopped it: every call after fails. */
  let halted = false;
  /** Holds the call at a boundary taken while the program was not waiting, until the checkpoint is written. */
  let hold: { promise: Promise<void>; release: () => void } | null = null;
  /** Bytes of the log (header included) so far. */
  let bytes = options.startBytes ?? 0;
  const handles = new HandleOrigins();
  /** program handle -> real handle, and back; empty and unused until a restore goes live. */
  const toReal = new Map<number, number>();
  const toProgram = new Map<number, number>();
  let translate = false;
  const inFlight = new Set<number>();
  let waiting: ((b: LogBoundary) => void)[] = [];

  const halt = (message: string): never => {
    halted = true;
    throw new ExtensionHalt(`restore: ${message}`);
  };
  const callBelow = (spec: PrimitiveSpec, args: unknown[]): unknown => (lower[spec.method] as (...a: unknown[]) => unknown)(...args);
  const realOf = (h: unknown): unknown => (typeof h === 'number' && h > 0 ? (toReal.get(h) ?? NO_HANDLE) : h);

  function bind(program: number, real: number): void {
    toReal.set(program, real);
    toProgram.set(real, program);
  }
  /** The program's number for a real handle the host just gave: the same when free. */
  function programNumber(real: number): number {
    let p = real;
    while (toReal.has(p) || handles.held.has(p)) p++;
    bind(p, real);
    return p;
  }

  function replayCall(c: Call, note: Note, e: DurableEntry): unknown {
    const spec = c.spec;
    if (!belowInRestore(spec)) {
      spec.args.forEach((a, i) => {
        const buf = c.args[i];
        if (a.type === 'bytes-out' && buf instanceof Uint8Array && e.out) buf.set(e.out.subarray(0, buf.length));
      });
      if (spec.method === 'objectsWaitAny' && typeof e.result === 'number' && e.result >= 0) {
        // A wait one of its own events or semaphores satisfied consumed it: consume it below too.
        const real = toReal.get((c.args[0] as readonly number[])[e.result]!);
        if (real !== undefined) return lower.objectsWaitAny([real], 0n).then(() => e.result);
      }
      return spec.blocking ? Promise.resolve(e.result) : e.result;
    }
    // Its own state: the call goes below with the real handles; one on a handle that exists only
    // in the log (a stream) is answered from the log.
    const args = c.args.slice();
    for (let i = 0; i < spec.args.length; i++) {
      if (spec.args[i]!.type !== 'handle' || typeof args[i] !== 'number' || (args[i] as number) <= 0) continue;
      const r = toReal.get(args[i] as number);
      if (r === undefined) return e.result;
      args[i] = r;
    }
    const got = callBelow(spec, args);
    if (spec.result === 'handle' && typeof e.result === 'number' && e.result > 0 && typeof got === 'number' && got > 0) {
      bind(e.result, got);
      return e.result;
    }
    if (!sameValue(got, e.result)) {
      halt(`diverged at call ${note.seq}: ${formatCall(spec, note.args)} gave ${show(e.result)} when logged, ${show(got)} now`);
    }
    return got;
  }

  /** The end of the log: check the memory, bring the handles back, go live. */
  function goLive(c: Call): void {
    const want = options.replay?.memoryDigest ?? null;
    if (want !== null) {
      const now = options.memoryDigest();
      if (now !== want) {
        halt(
          `memory differs at call ${seq} (${formatCall(c.spec, c.args)}), where the checkpoint was taken: sha256 ${want.slice(0, 16)}... in the checkpoint, ${now.slice(0, 16)}... now (the log or the module is not the one that ran)`,
        );
      }
    }
    const lost = handles.unrestorable();
    if (lost !== null) halt(`${lost}, which a restore from a log cannot bring back`);
    // Streams first, then their events, then the references the program held on each.
    const order = [...handles.held].sort(([, a], [, b]) => Number(a.origin.kind === 'event') - Number(b.origin.kind === 'event'));
    for (const [h, held] of order) {
      if (toReal.has(h)) continue;
      const o = held.origin;
      let real: number;
      if (o.kind === 'stream') {
        const uri = REOPENED.test(o.uri) ? o.uri : 'reset:';
        const access = uri === 'reset:' ? Access.READ | Access.WRITE : o.access;
        real = lower.streamOpen(uri, access, 0, uri === 'reset:' ? 0 : o.options);
        if (real < 0) halt(`cannot reopen ${o.uri} (handle ${h}) to go live: ${dkErrorName(real)}`);
        if (o.position !== null && o.position > 0) {
          const r = lower.streamAttributesSetByHandle(real, { position: o.position });
          if (r < 0) halt(`cannot move ${o.uri} (handle ${h}) back to byte ${o.position}: ${dkErrorName(r)}`);
        }
      } else if (o.kind === 'event') {
        const stream = toReal.get(o.stream);
        const ev = stream === undefined ? DkError.BAD_HANDLE : lower.streamGetEvent(stream, o.side);
        real = ev > 0 ? ev : lower.notificationEventCreate(true);
        if (real < 0) halt(`cannot make the event of handle ${o.stream} (handle ${h}) to go live: ${dkErrorName(real)}`);
      } else continue; // 'own': made below during the replay, bound already
      bind(h, real);
      for (let k = 1; k < held.refs; k++) lower.objectReference(real);
    }
    live = true;
    translate = true;
    options.onLive?.();
  }

  function takeBoundary(): LogBoundary {
    return { calls: written, logBytes: bytes, memoryDigest: options.memoryDigest() };
  }

  const dk = wrapDk(lower, {
    before(c: Call) {
      // Ended (by a checkpoint, its wait has thrown CheckpointStop; or by a divergence): what
      // is left (the library OS closing its handles) gets EXITED.
      if (stopping || halted) return c.spec.blocking ? Promise.resolve(DkError.EXITED) : DkError.EXITED;
      const note: Note = { seq: ++seq, digest: argsDigest(c.spec.args, c.args), args: c.args.slice(), replayed: false };
      c.note = note;
      if (!live) {
        const got = entries!.next();
        if (got.done) goLive(c);
        else {
          const e = got.value;
          written++;
          if (e.spec !== c.spec || e.args !== note.digest) {
            const what = e.spec !== c.spec ? `the log has ${e.spec.name}` : `the log has ${e.spec.name} with other arguments`;
            halt(`diverged at call ${note.seq}: ${what}, but the program called ${formatCall(c.spec, c.args)}`);
          }
          note.replayed = true;
          return replayCall(c, note, e);
        }
      }
      if (translate) {
        for (let i = 0; i < c.spec.args.length; i++) {
          const t = c.spec.args[i]!.type;
          if (t === 'handle') c.args[i] = realOf(c.args[i]);
          else if (t === 'handles' && Array.isArray(c.args[i])) c.args[i] = (c.args[i] as unknown[]).map(realOf);
        }
      }
      if (!c.spec.blocking) return PASS;
      inFlight.add(note.seq);
      if (waiting.length && inFlight.size === 1) {
        // A checkpoint asked for while the program computed: taken here, at the start of the
        // call it waits in, which waits until the checkpoint is written (and then stops or goes on).
        let release = () => {};
        const promise = new Promise<void>((r) => (release = r));
        hold = { promise, release };
        const b = takeBoundary();
        for (const w of waiting.splice(0)) w(b);
        return promise.then(() => {
          if (stopping) throw new CheckpointStop();
          return callBelow(c.spec, c.args);
        });
      }
      return PASS;
    },
    after(c: Call, result: unknown) {
      const note = c.note as Note | undefined;
      if (note === undefined) return result; // answered EXITED by before: the program has ended
      inFlight.delete(note.seq);
      if (!note.replayed) {
        if (stopping) throw new CheckpointStop();
        if (translate && c.spec.result === 'handle' && typeof result === 'number' && result > 0) result = programNumber(result);
        let out: Uint8Array | undefined;
        c.spec.args.forEach((a, i) => {
          const buf = note.args[i];
          if (a.type === 'bytes-out' && buf instanceof Uint8Array) {
            const n = filledBytes(result, buf);
            if (n > 0) out = buf.subarray(0, n);
          }
        });
        const entry = encodeEntry({ seq: note.seq, spec: c.spec, args: note.digest, result, out });
        sink.append(entry);
        bytes += entry.length;
        written++;
      }
      handles.observe(c.spec, note.args, result);
      if (translate && c.spec.method === 'objectClose' && !handles.held.has(note.args[0] as number)) {
        const real = toReal.get(note.args[0] as number);
        toReal.delete(note.args[0] as number);
        if (real !== undefined) toProgram.delete(real);
      }
      return result;
    },
  });

  return {
    dk,
    get live() {
      return live;
    },
    get calls() {
      return written;
    },
    boundary() {
      if (!live) return Promise.reject(new Error('it is still replaying its log (a restore): checkpoint it once it has gone live'));
      const lost = handles.unrestorable();
      if (lost !== null) return Promise.reject(new Error(`${lost}, which a restore from a log could not bring back`));
      if (inFlight.size > 1) return Promise.reject(new Error('more than one thread is in a call: a log checkpoint needs one'));
      if (inFlight.size === 1) return Promise.resolve(takeBoundary());
      // Computing: taken at the start of its next waiting call, or refused if none comes soon.
      return new Promise((resolve, reject) => {
        const give = (b: LogBoundary) => {
          clearTimeout(timer);
          resolve(b);
        };
        const timer = setTimeout(() => {
          waiting = waiting.filter((w) => w !== give);
          reject(new Error(`it made no call that waits within ${BOUNDARY_WAIT_MS / 1000} s (a log checkpoint is taken at one): try again`));
        }, BOUNDARY_WAIT_MS);
        waiting.push(give);
      });
    },
    stop() {
      stopping = true;
      waiting = [];
      hold?.release();
    },
    resume() {
      hold?.release();
      hold = null;
    },
  };
}

function show(v: unknown): string {
  if (typeof v === 'number' && v < 0) return `${v} ${dkErrorName(v)}`;
  return formatValue(v);
}
