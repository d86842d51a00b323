// record: logs every Dk call with its result (record-log.ts) so that `replay` can run the
// program again, bit for bit, without the outside world.
//
//   --ext record:file=run.log
//
// Calls are numbered when they start and written when they end. What the log must hold for
// replay is the nondeterministic part (time, random bits, bytes read, wait outcomes, child
// exit codes, attributes); every other call is logged too, so that replay can check that the
// program makes the same calls in the same order.

import type { Dk } from '../abi/dk.ts';
import { checkOptions, ExtensionError, PASS, wrapDk, type Call, type ExtensionHost, type ExtensionInstance, type ExtensionOptions } from './api.ts';
import { filledBytes } from './format.ts';
import { logHeader, type LogEntry } from './record-log.ts';
import { encodeArgs, encodeValue, toBase64 } from './values.ts';

const KNOWN_OPTIONS = new Set(['file']);

export function createRecord(lower: Dk, options: ExtensionOptions, host: ExtensionHost): ExtensionInstance {
  checkOptions('record', options, KNOWN_OPTIONS);
  if (!options.file) throw new ExtensionError('record: needs file=PATH, where the log goes');
  const sink = host.output(options.file);
  sink.write(logHeader() + '\n');
  let seq = 0;
  const dk = wrapDk(lower, {
    before(call: Call) {
      call.note = ++seq;
      return PASS;
    },
    after(call: Call, result: unknown) {
      const entry: LogEntry = { i: call.note as number, c: call.spec.name, a: encodeArgs(call.spec.args, call.args), r: encodeValue(result) };
      call.spec.args.forEach((a, k) => {
        const buf = call.args[k];
        if (a.type === 'bytes-out' && buf instanceof Uint8Array) {
          const n = filledBytes(result, buf);
          if (n > 0) entry.o = toBase64(buf.subarray(0, n));
        }
      });
      sink.write(JSON.stringify(entry) + '\n');
      return result;
    },
  });
  return {
    dk,
    state: { save: () => ({ seq }), restore: (d) => void (seq = Number((d as { seq?: number })?.seq ?? 0)) },
    close: () => sink.close?.(),
  };
}
