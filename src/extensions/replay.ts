// replay: runs a program again from a record log, bit for bit, without the outside world.
//
//   --ext replay:file=run.log
//
// Every call is checked against its line in the log; the first one whose primitive or
// arguments differ stops the run (ExtensionHalt, exit status 125) with a message that names
// the call number, the call the log expected and the one the program made.
//
// Which calls reach the layer below, and which the log answers:
// - Calls on the picoprocess itself go below as usual: memory, threads, events, semaphores,
//   handle references and closes, DkProcessExit, DkDebugStringPrint. They act on its own state
//   and give the same results again; a result that differs is a divergence too.
// - Everything that touches the outside world is answered from the log and never goes below:
//   streams (files, stdin, pipes, devices: opens, reads, attributes, writes), time, random
//   bits, input events, children (their creation and exit codes), waits and sleeps (the
//   recorded outcome, at once). Files are inputs like stdin: their bytes come from the log,
//   and files the program wrote are not written again.
// - Output is the exception: stdout: and stderr: are opened below for real and what the
//   program writes to them is written again, so a replay prints what the run printed. (The
//   result the program sees is still the recorded one; a stdout that takes less than all,
//   a full non-blocking pipe, would lose the rest.)
// Handles: the program sees the recorded numbers. The ones that exist below for real (stdout,
// stderr, events, threads) are mapped to the real handles; the others exist only in the log.
// Threads: replay follows one sequence of calls, so a program whose threads interleave
// differently from the recorded run diverges (WASI preview 1 programs have one thread).

import type { Dk, DkMethod } from '../abi/dk.ts';
import { DkError, dkErrorName } from '../abi/errors.ts';
import { PRIMITIVE_BY_NAME, type PrimitiveSpec } from '../abi/spec.ts';
import { checkOptions, ExtensionError, ExtensionHalt, wrapDk, type Call, type ExtensionHost, type ExtensionInstance, type ExtensionOptions } from './api.ts';
import { formatCall, formatFlags, formatValue } from './format.ts';
import { parseLog, type LogEntry } from './record-log.ts';
import { decodeValue, encodeArgs, encodeValue, fromBase64, type Json } from './values.ts';

const KNOWN_OPTIONS = new Set(['file']);

/** Calls on the picoprocess's own state, outside the memory and thread categories. */
const OWN_STATE = new Set<DkMethod>(['processExit', 'instructionCacheFlush', 'objectReference', 'objectClose', 'debugStringPrint']);

/** True for the primitives that go below in replay; the rest are answered from the log. */
export function replayedBelow(spec: PrimitiveSpec): boolean {
  if (spec.category === 'memory') return true;
  // Waits, sleeps and yields are outcomes of the outside world's timing: answered from the log.
  if (spec.category === 'threads') return !spec.blocking && !spec.nondeterministic;
  return OWN_STATE.has(spec.method);
}

/** The stream URIs that are output: opened and written again in replay. */
const OUTPUT_URIS = new Set(['stdout:', 'stderr:']);

export interface ReplayInstance extends ExtensionInstance {
  /** Calls of the log not replayed yet. */
  remaining(): number;
}

export function createReplay(lower: Dk, options: ExtensionOptions, host: ExtensionHost): ReplayInstance {
  checkOptions('replay', options, KNOWN_OPTIONS);
  if (!options.file) throw new ExtensionError('replay: needs file=PATH, the log a record run wrote');
  return createReplayFromLog(lower, parseLog(host.readText(options.file), options.file));
}

export function createReplayFromLog(lower: Dk, entries: readonly LogEntry[]): ReplayInstance {
  let next = 0;
  let halted = false;
  /** Recorded handle -> the real handle below, with the references the program holds. */
  const real = new Map<number, { handle: number; refs: number }>();

  const halt = (message: string): never => {
    halted = true;
    throw new ExtensionHalt(`replay: ${message}`);
  };

  const call = (spec: PrimitiveSpec, args: unknown[]): unknown => (lower[spec.method] as (...a: unknown[]) => unknown)(...args);

  function below(c: Call, entry: LogEntry, recorded: unknown): unknown {
    const args = c.args.slice();
    for (let i = 0; i < c.spec.args.length; i++) {
      if (c.spec.args[i]!.type !== 'handle') continue;
      const h = args[i];
      if (typeof h !== 'number' || h <= 0) continue;
      const r = real.get(h);
      // A handle that exists only in the log (a stream, a child): the log answers for it.
      if (!r) return recorded;
      args[i] = r.handle;
    }
    const got = call(c.spec, args);
    const m = c.spec.method;
    if (c.spec.result === 'handle') {
      if (typeof recorded === 'number' && recorded > 0 && typeof got === 'number' && got > 0) {
        real.set(recorded, { handle: got, refs: 1 });
        return recorded;
      }
    } else if (m === 'objectReference' || m === 'objectClose') {
      const r = real.get(c.args[0] as number);
      if (r && got === 0) {
        r.refs += m === 'objectReference' ? 1 : -1;
        if (r.refs <= 0) real.delete(c.args[0] as number);
      }
    }
    if (JSON.stringify(encodeValue(got)) !== JSON.stringify(entry.r)) {
      halt(`diverged at call ${entry.i}: ${describe(entry.c, entry.a)} gave ${show(entry.r)} when recorded, ${show(encodeValue(got))} now`);
    }
    return got;
  }

  function fromLog(c: Call, entry: LogEntry, recorded: unknown): unknown {
    const m = c.spec.method;
    c.spec.args.forEach((a, i) => {
      const buf = c.args[i];
      if (a.type === 'bytes-out' && buf instanceof Uint8Array && entry.o) buf.set(fromBase64(entry.o).subarray(0, buf.length));
    });
    if (c.spec.result === 'handle' && typeof recorded === 'number' && recorded > 0) {
      real.delete(recorded);
      // Output streams exist for real, so that the replay prints what the run printed.
      if (m === 'streamOpen' && OUTPUT_URIS.has(c.args[0] as string)) {
        const h = call(c.spec, c.args);
        if (typeof h === 'number' && h > 0) real.set(recorded, { handle: h, refs: 1 });
      }
    } else if (m === 'streamWrite' && typeof recorded === 'number' && recorded > 0) {
      const r = real.get(c.args[0] as number);
      const data = c.args[2];
      if (r && data instanceof Uint8Array) lower.streamWrite(r.handle, c.args[1] as number, data.subarray(0, recorded));
    } else if (m === 'objectsWaitAny' && typeof recorded === 'number' && recorded >= 0) {
      // A recorded wait satisfied by one of the program's own events or semaphores consumed
      // it: consume it below too (a poll), so that its state stays as it was in the run.
      const handles = c.args[0] as readonly number[];
      const r = real.get(handles[recorded]!);
      if (r) return lower.objectsWaitAny([r.handle], 0n).then(() => recorded);
    }
    return recorded;
  }

  const dk = wrapDk(lower, {
    before(c: Call) {
      if (halted) return DkError.EXITED;
      const entry = entries[next];
      const now = encodeArgs(c.spec.args, c.args);
      if (!entry) {
        halt(`diverged at call ${next + 1}: the log ends after call ${entries.length}, but the program called ${formatCall(c.spec, c.args)}`);
      }
      const e = entry!;
      next++;
      if (e.c !== c.spec.name || JSON.stringify(e.a) !== JSON.stringify(now)) {
        halt(`diverged at call ${e.i}: the log has ${describe(e.c, e.a)}, but the program called ${formatCall(c.spec, c.args)}`);
      }
      const recorded = decodeValue(e.r);
      return replayedBelow(c.spec) ? below(c, e, recorded) : fromLog(c, e, recorded);
    },
  });

  return {
    dk,
    remaining: () => entries.length - next,
    state: { save: () => ({ next }), restore: (d) => void (next = Number((d as { next?: number })?.next ?? 0)) },
  };
}

function show(j: Json): string {
  const v = decodeValue(j);
  if (typeof v === 'number' && v < 0) return `${v} ${dkErrorName(v)}`;
  return formatValue(v);
}

/** A call as the log holds it, in the trace's words: DkStreamRead(stream=3, offset=-1, buffer=[1024]). */
export function describe(name: string, args: readonly Json[]): string {
  const spec = PRIMITIVE_BY_NAME.get(name);
  if (!spec) return `${name}(${args.map((a) => JSON.stringify(a)).join(', ')})`;
  const parts = spec.args.map((a, i) => {
    const v = args[i] ?? null;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && typeof v.$len === 'number') {
      return `${a.name}=${typeof v.$fnv === 'string' ? `<${v.$len} bytes, fnv1a ${v.$fnv}>` : `[${v.$len}]`}`;
    }
    if (a.type.startsWith('flags:') && typeof v === 'number') return `${a.name}=${formatFlags(a.type.slice(6), v)}`;
    return `${a.name}=${formatValue(decodeValue(v))}`;
  });
  return `${name}(${parts.join(', ')})`;
}
