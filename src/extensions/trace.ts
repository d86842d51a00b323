// trace: every Dk call with its arguments, result and duration, like strace.
//
//   --ext trace                                   text to stderr
//   --ext trace:format=json,file=/tmp/t.log       JSON lines to a file
//   --ext trace:filter=streams+DkSystemTimeQuery  only these categories / primitives
//
// Options: format = text | json; file = a path (default: stderr); filter = names joined by
// "+": a category (memory, threads, processes, streams, other), a primitive by its ABI name
// (DkStreamRead) or its method name (streamRead). Unfiltered primitives are not wrapped at
// all, so they cost nothing. Numbering counts traced calls only.
//
// Text:  12 DkStreamRead(stream=3, offset=-1, buffer="hello\n"[1024]) = 6 <3.2us>
// JSON:  {"seq":12,"call":"DkStreamRead","category":"streams","args":{...},"result":6,"us":3.2}
//        with "error":"NOT_FOUND" for an error result, bytes as {"len":N,"text":"..."}.

import type { Dk } from '../abi/dk.ts';
import { dkErrorName } from '../abi/errors.ts';
import { PRIMITIVES, type PrimitiveSpec } from '../abi/spec.ts';
import { checkOptions, ExtensionError, wrapDk, PASS, type Call, type ExtensionHost, type ExtensionInstance, type ExtensionOptions } from './api.ts';
import { BYTES_SHOWN, filledBytes, formatCall, formatDuration, formatResult } from './format.ts';
import { encodeValue, type Json } from './values.ts';

/** Bytes show in JSON as text (lossy UTF-8: invalid bytes become U+FFFD), at most BYTES_SHOWN. */
const utf8 = new TextDecoder('utf-8');
const CATEGORIES = new Set(['memory', 'threads', 'processes', 'streams', 'other']);
const KNOWN_OPTIONS = new Set(['format', 'file', 'filter']);

/** The primitives a filter selects; null selects all. Throws ExtensionError on an unknown name. */
export function parseFilter(text: string | undefined): ((spec: PrimitiveSpec) => boolean) | null {
  if (text === undefined || text === '' || text === 'all') return null;
  const names = new Set<string>();
  for (const word of text
    .split('+')
    .map((w) => w.trim())
    .filter(Boolean)) {
    if (!CATEGORIES.has(word) && !PRIMITIVES.some((p) => p.name === word || p.method === word)) {
      throw new ExtensionError(`trace: unknown filter "${word}" (a category: ${[...CATEGORIES].join(', ')}; or a primitive such as DkStreamRead)`);
    }
    names.add(word);
  }
  return (spec) => names.has(spec.category) || names.has(spec.name) || names.has(spec.method);
}

export function createTrace(lower: Dk, options: ExtensionOptions, host: ExtensionHost): ExtensionInstance {
  checkOptions('trace', options, KNOWN_OPTIONS);
  const format = options.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new ExtensionError(`trace: format must be "text" or "json", not "${format}"`);
  const only = parseFilter(options.filter);
  const sink = host.output(options.file);
  const line = format === 'json' ? jsonLine : textLine;
  let seq = 0;
  const dk = wrapDk(lower, {
    only: only ?? undefined,
    before(call: Call) {
      // Arguments are formatted after the call (a bytes-out buffer shows what it received);
      // bytes given in are copied now, while they are the caller's.
      call.note = performance.now();
      return PASS;
    },
    after(call: Call, result: unknown) {
      const ms = performance.now() - (call.note as number);
      sink.write(line(++seq, call, result, ms) + '\n');
      return result;
    },
  });
  return {
    dk,
    state: { save: () => ({ seq }), restore: (d) => void (seq = Number((d as { seq?: number })?.seq ?? 0)) },
    close: () => sink.close?.(),
  };
}

function textLine(seq: number, call: Call, result: unknown, ms: number): string {
  return `${seq} ${formatCall(call.spec, call.args, result)} = ${formatResult(result)} <${formatDuration(ms)}>`;
}

function jsonLine(seq: number, call: Call, result: unknown, ms: number): string {
  const args: Record<string, Json> = {};
  call.spec.args.forEach((a, i) => {
    const v = call.args[i];
    if (v instanceof Uint8Array) {
      const shown = a.type === 'bytes-out' ? v.subarray(0, filledBytes(result, v)) : v;
      args[a.name] = { len: v.length, text: utf8.decode(shown.subarray(0, BYTES_SHOWN)) };
    } else args[a.name] = encodeValue(v);
  });
  const out: Record<string, Json> = {
    seq,
    call: call.spec.name,
    category: call.spec.category,
    args,
    result: result instanceof Uint8Array ? { len: result.length } : encodeValue(result),
  };
  if (typeof result === 'number' && result < 0) out.error = dkErrorName(result);
  out.us = Math.round(ms * 10000) / 10;
  return JSON.stringify(out);
}
