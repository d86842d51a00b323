// The durable log (src/extensions/durable-log.ts) and the durable layer (durable.ts), in
// process: entries round-trip; the decoder, fed untrusted bytes (random, mutated, cut, lying
// about lengths, nesting deep), answers a DurableLogError or a log no larger than its input and
// nothing else (fast-check); a run recorded by the layer replays with no output written again,
// and a replay whose memory differs at the log's end stops with one line naming the call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { PRIMITIVES } from '../../src/abi/spec.ts';
import {
  argsDigest,
  currentAbiMajor,
  decodeLog,
  DurableLogError,
  encodeEntry,
  encodeHeader,
  sameValue,
  type DurableEntry,
} from '../../src/extensions/durable-log.ts';
import { createDurable } from '../../src/extensions/durable.ts';
import { ExtensionHalt } from '../../src/extensions/api.ts';
import { compileModule } from '../../src/runtime/module-cache.ts';
import { startCommand } from '../../src/runtime/picoprocess.ts';
import { createNodeHost } from '../../src/host/node/index.ts';
import { emptyManifest } from '../../src/monitor/manifest/manifest.ts';
import { extGuest } from '../support/ext-support.ts';

const header = encodeHeader({ abiMajor: currentAbiMajor(), module: 'ab'.repeat(32) });
const concat = (parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

/** Values as the ABI gives them: numbers, bigints, strings, bytes, records, arrays; nested at most as deep as a log takes (MAX_DEPTH, 8). */
const value = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true }).filter((d) => !Number.isSafeInteger(d) || Object.is(d, -0)),
    fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
    fc.string(),
    fc.uint8Array({ maxLength: 64 }),
  ),
  node: fc.oneof(
    // Past this depth only leaves: the encoder refuses a deeper value (DurableLogError).
    { depthSize: 'small', maxDepth: 6 },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('node'), { maxKeys: 4 }),
  ),
})).node;

const entry: fc.Arbitrary<DurableEntry> = fc
  .record({
    seq: fc.integer({ min: 1, max: 2 ** 40 }),
    spec: fc.constantFrom(...PRIMITIVES),
    args: fc.nat({ max: 0xffffffff }),
    result: value,
    out: fc.option(fc.uint8Array({ minLength: 1, maxLength: 256 }), { nil: undefined }),
  })
  .map((e) => (e.out === undefined ? { seq: e.seq, spec: e.spec, args: e.args, result: e.result } : e));

test('entries round-trip: what is written is what is read', () => {
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 20 }), (entries) => {
      const log = decodeLog(concat([header, ...entries.map(encodeEntry)]));
      assert.equal(log.entries.length, entries.length);
      log.entries.forEach((got, i) => {
        const want = entries[i]!;
        assert.equal(got.seq, want.seq);
        assert.equal(got.spec, want.spec);
        assert.equal(got.args, want.args);
        assert.ok(sameValue(got.result, want.result), `result of entry ${i}`);
        assert.deepEqual(got.out ? [...got.out] : undefined, want.out ? [...want.out] : undefined);
      });
    }),
    { numRuns: 300 },
  );
});

/** Decoding must end in a log or a DurableLogError, holding no more bytes than it was given. */
function decodesSafely(bytes: Uint8Array, tolerateTail = false): void {
  try {
    const log = decodeLog(bytes, { tolerateTail });
    let held = 0;
    const size = (v: unknown): number =>
      v instanceof Uint8Array ? v.length : typeof v === 'string' ? v.length : Array.isArray(v) ? v.reduce((n: number, x) => n + size(x), 0) : 0;
    for (const e of log.entries) held += (e.out?.length ?? 0) + size(e.result);
    assert.ok(held <= bytes.length, `holds ${held} bytes from ${bytes.length}`);
    assert.ok(log.validBytes <= bytes.length);
  } catch (e) {
    if (!(e instanceof DurableLogError)) throw e;
    assert.doesNotMatch(e.message, /\n/);
  }
}

test('fuzz: random bytes after a valid header, and random bytes alone, never crash the decoder', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), fc.boolean(), (tail, withHeader) => {
      decodesSafely(withHeader ? concat([header, tail]) : tail);
      decodesSafely(concat([header, tail]), true);
    }),
    { numRuns: 2000 },
  );
});

test('fuzz: a valid log with bytes changed, cut or inserted is refused in one line, or read up to the damage', () => {
  fc.assert(
    fc.property(
      fc.array(entry, { minLength: 1, maxLength: 8 }),
      fc.array(fc.record({ at: fc.nat(), byte: fc.nat({ max: 255 }) }), { minLength: 1, maxLength: 4 }),
      fc.nat(),
      (entries, flips, cutAt) => {
        const good = concat([header, ...entries.map(encodeEntry)]);
        const bad = good.slice();
        for (const f of flips) {
          const at = header.length + (f.at % (bad.length - header.length));
          bad[at] = bad[at]! ^ (f.byte || 1);
        }
        decodesSafely(bad);
        const cut = good.subarray(0, header.length + (cutAt % (good.length - header.length)));
        decodesSafely(cut);
        // A cut log read with tolerateTail keeps every whole entry before the cut.
        const kept = decodeLog(cut, { tolerateTail: true });
        assert.ok(kept.entries.length < entries.length);
        assert.ok(kept.tail === null || /^entry \d+ \(byte \d+\): /.test(kept.tail));
      },
    ),
    { numRuns: 500 },
  );
});

test('lies about sizes and deep nesting are refused without allocating what they claim', () => {
  // An entry claiming 2^40 bytes, an array claiming 2^30 elements, arrays nested 10 000 deep.
  const huge = concat([header, new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x20])]);
  assert.throws(() => decodeLog(huge), /entry 1 \(byte \d+\): an entry of \d+ bytes \(at most \d+\)/);
  const body = (result: number[]) => {
    const b = [1, 0, 0, 0, 0, 0, ...result, 0];
    // frame: varint length, body, FNV-1a of the body
    let h = 0x811c9dc5;
    for (const x of b) h = Math.imul(h ^ x, 0x01000193);
    const check = new Uint8Array(4);
    new DataView(check.buffer).setUint32(0, h >>> 0, true);
    const len = b.length < 128 ? [b.length] : [(b.length & 0x7f) | 0x80, b.length >> 7];
    return concat([header, new Uint8Array([...len, ...b]), check]);
  };
  assert.throws(() => decodeLog(body([10, 0x80, 0x80, 0x80, 0x80, 0x04])), /entry 1 .*cut short/);
  assert.throws(() => decodeLog(body(new Array(5000).fill(10).flatMap((t) => [t, 1]))), /nests too deep|out of range/);
  assert.throws(() => decodeLog(new Uint8Array(Buffer.from('DRAWBDLG\x07'))), /version 7 durable log/);
  assert.throws(() => decodeLog(new Uint8Array(Buffer.from('hello world'))), /not a drawbridge durable log/);
});

test('the argument digest tells calls apart by what the ABI says they carry', () => {
  const read = PRIMITIVES.find((s) => s.method === 'streamRead')!;
  const write = PRIMITIVES.find((s) => s.method === 'streamWrite')!;
  // A buffer to fill counts by its length, not its contents; data given counts by its bytes.
  assert.equal(argsDigest(read.args, [3, -1, new Uint8Array([1, 2])]), argsDigest(read.args, [3, -1, new Uint8Array([9, 9])]));
  assert.notEqual(argsDigest(read.args, [3, -1, new Uint8Array(2)]), argsDigest(read.args, [3, -1, new Uint8Array(3)]));
  assert.notEqual(argsDigest(write.args, [3, -1, new Uint8Array([1])]), argsDigest(write.args, [3, -1, new Uint8Array([2])]));
});

/** Run the ext/inputs guest (clocks, random bits, a sleep, stdin) under the durable layer. */
async function runDurable(replay?: { entries: DurableEntry[]; memoryDigest: string | null }) {
  const module = await compileModule(readFileSync(extGuest('inputs')), 'inputs');
  const appended: Uint8Array[] = [];
  const out: Uint8Array[] = [];
  let memory: WebAssembly.Memory | null = null;
  let running;
  try {
    running = await startCommand({
      host: createNodeHost(),
      module,
      args: ['inputs'],
      manifest: emptyManifest(),
      stdin: replay ? new Uint8Array(0) : Buffer.from('hello from a pipe\nsecond line\n'),
      stdout: (b) => void out.push(b.slice()),
      stderr: (b) => void out.push(b.slice()),
      onMemory: (m) => (memory = m),
      wrapDk: (dk) =>
        createDurable(dk, {
          sink: { append: (b) => void appended.push(b.slice()) },
          memoryDigest: () => createHash('sha256').update(new Uint8Array(memory!.buffer)).digest('hex'),
          replay,
        }).dk,
    });
  } catch (e) {
    // A halt while the library OS starts (its first calls) comes out of startCommand.
    if (!(e instanceof ExtensionHalt)) throw e;
    return { status: { exitCode: e.exitCode, error: e.message }, output: Buffer.concat(out).toString(), log: concat([header, ...appended]) };
  }
  const status = await running.done;
  return { status, output: Buffer.concat(out).toString(), log: concat([header, ...appended]) };
}

test('a run under the durable layer replays from its log: same status, no output written again', async () => {
  const rec = await runDurable();
  assert.match(rec.output, /^first: hello from a pipe/);
  const { entries } = decodeLog(rec.log);
  assert.ok(entries.some((e) => e.spec.method === 'randomBitsRead' && e.out?.length));
  const rep = await runDurable({ entries, memoryDigest: null });
  assert.equal(rep.status.error, undefined);
  assert.equal(rep.status.exitCode, rec.status.exitCode);
  assert.equal(rep.output, '', 'a restore writes nothing the run wrote already');
  assert.equal(rep.log.length, header.length, 'replayed calls are not logged again');
});

test('at the end of a log the memory digest is checked: a mismatch stops the run with one line naming the call', async () => {
  const { entries } = decodeLog((await runDurable()).log);
  // While the program runs (past the library OS's start, before its end): at its first write.
  const k = entries.findIndex((e) => e.spec.method === 'streamWrite');
  assert.ok(k > 0);
  const r = await runDurable({ entries: entries.slice(0, k), memoryDigest: '0'.repeat(64) });
  assert.equal(r.status.exitCode, 125);
  assert.match(
    r.status.error ?? '',
    new RegExp(
      `^restore: memory differs at call ${k + 1} \\(Dk\\w+\\(.*\\)\\), where the checkpoint was taken: sha256 0{16}\\.\\.\\. in the checkpoint, [0-9a-f]{16}\\.\\.\\. now`,
    ),
  );
  // Calls out of order: the log's primitive is not the program's.
  for (const i of [1, k - 1]) {
    let j = i;
    while (entries[j]!.spec === entries[j + 1]!.spec) j++;
    const swapped = [...entries];
    [swapped[j], swapped[j + 1]] = [swapped[j + 1]!, swapped[j]!];
    const d = await runDurable({ entries: swapped, memoryDigest: null });
    assert.equal(d.status.exitCode, 125);
    assert.match(d.status.error ?? '', new RegExp(`^restore: diverged at call ${j + 1}: the log has Dk\\w+, but the program called Dk\\w+\\(`));
  }
});
