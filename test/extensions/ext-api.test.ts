// The extension machinery: wrapDk derived from the ABI table, option text, value encoding,
// formatting, option errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PRIMITIVES } from '../../src/abi/spec.ts';
import { DkError } from '../../src/abi/errors.ts';
import { Access, OpenOption, type Dk } from '../../src/abi/dk.ts';
import { asInstance, ExtensionError, PASS, wrapDk, type Call } from '../../src/extensions/api.ts';
import { parseExtensionArg } from '../../src/extensions/spec-text.ts';
import { decodeValue, encodeArgs, encodeValue, fnv1a, fromBase64, toBase64 } from '../../src/extensions/values.ts';
import { formatBytes, formatCall, formatFlags, formatResult } from '../../src/extensions/format.ts';
import { BUILTIN_EXTENSIONS } from '../../src/extensions/builtins.ts';
import { createMemoryHost } from '../../src/host/memory/index.ts';
import { memoryExtensionHost } from '../support/ext-support.ts';

/** A Dk that answers every primitive with its own name (a Promise for the blocking ones). */
function namingDk(): Dk {
  const dk: Record<string, unknown> = {};
  for (const p of PRIMITIVES) dk[p.method] = (...args: unknown[]) => (p.blocking ? Promise.resolve([p.method, ...args]) : [p.method, ...args]);
  return dk as unknown as Dk;
}

test('wrapDk covers every primitive of the ABI table, sync and blocking alike', async () => {
  const seen: string[] = [];
  const dk = wrapDk(namingDk(), {
    before: (c: Call) => {
      seen.push(`b:${c.spec.name}`);
      return PASS;
    },
    after: (c: Call, r: unknown) => {
      seen.push(`a:${c.spec.name}`);
      return r;
    },
  }) as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const p of PRIMITIVES) {
    const r = dk[p.method]!(1, 2);
    assert.equal(r instanceof Promise, p.blocking, p.name);
    assert.deepEqual(await r, [p.method, 1, 2]);
  }
  assert.equal(seen.length, PRIMITIVES.length * 2);
  assert.equal(seen[0], `b:${PRIMITIVES[0]!.name}`);
});

test('wrapDk: before can answer without the layer below, rewrite arguments, and only hooks what it selects', async () => {
  let lowerCalls = 0;
  const lower = namingDk();
  const counting = { ...lower, systemTimeQuery: () => (lowerCalls++, 5n) } as Dk;
  const dk = wrapDk(counting, {
    only: (s) => s.category === 'other' || s.method === 'objectsWaitAny',
    before: (c: Call) => {
      if (c.spec.method === 'systemTimeQuery') return 42n;
      if (c.spec.method === 'objectsWaitAny') return DkError.TIMED_OUT;
      if (c.spec.method === 'debugStringPrint') c.args[0] = 'rewritten';
      return PASS;
    },
    after: (_c: Call, r: unknown) => (typeof r === 'bigint' ? r + 1n : r),
  });
  assert.equal(dk.systemTimeQuery(0), 43n);
  assert.equal(lowerCalls, 0);
  assert.equal(await dk.objectsWaitAny([1], null), DkError.TIMED_OUT);
  assert.deepEqual(dk.debugStringPrint('x'), ['debugStringPrint', 'rewritten']);
  // Not selected: the lower function itself, no hook.
  assert.deepEqual(dk.streamFlush(3), ['streamFlush', 3]);
});

test('a factory may return a Dk or an instance', () => {
  const lower = namingDk();
  assert.equal(asInstance(lower).dk, lower);
  const inst = { dk: lower, close() {} };
  assert.equal(asInstance(inst), inst);
});

test('--ext text: NAME[:key=value,...]', () => {
  assert.deepEqual(parseExtensionArg('trace'), { name: 'trace', options: {} });
  assert.deepEqual(parseExtensionArg('trace:format=json,file=/tmp/t.log,filter=streams+DkSystemTimeQuery'), {
    name: 'trace',
    options: { format: 'json', file: '/tmp/t.log', filter: 'streams+DkSystemTimeQuery' },
  });
  assert.deepEqual(parseExtensionArg('remap:/etc=/tenant/etc,/var/log=null:'), { name: 'remap', options: { '/etc': '/tenant/etc', '/var/log': 'null:' } });
  assert.deepEqual(parseExtensionArg('./my-ext.mjs:level=2'), { name: './my-ext.mjs', options: { level: '2' } });
  assert.throws(() => parseExtensionArg(':x=1'), ExtensionError);
  assert.throws(() => parseExtensionArg('trace:format'), /option "format" is not key=value/);
  assert.throws(() => parseExtensionArg('trace:a=1,a=2'), /given twice/);
});

test('ABI values survive the log encoding (bigints, bytes, records)', () => {
  const v = { kind: 'file', size: 3, ino: 2n ** 63n, data: new Uint8Array([0, 255, 10]), list: [1n, 'x', true] };
  assert.deepEqual(decodeValue(JSON.parse(JSON.stringify(encodeValue(v)))), v);
  const bytes = new Uint8Array(100_000).map((_, i) => (i * 7) & 255);
  assert.deepEqual(fromBase64(toBase64(bytes)), bytes);
  assert.equal(fnv1a(new TextEncoder().encode('a')), 'e40c292c');
  const write = PRIMITIVES.find((p) => p.method === 'streamWrite')!;
  const read = PRIMITIVES.find((p) => p.method === 'streamRead')!;
  assert.deepEqual(encodeArgs(write.args, [2, -1, new TextEncoder().encode('a')]), [2, -1, { $len: 1, $fnv: 'e40c292c' }]);
  assert.deepEqual(encodeArgs(read.args, [2, -1, new Uint8Array(64)]), [2, -1, { $len: 64 }]);
});

test('calls format like strace: flags by name, errors by name, bytes escaped', () => {
  assert.equal(formatFlags('Access', Access.READ | Access.WRITE), 'READ|WRITE');
  assert.equal(formatFlags('OpenOption', OpenOption.DIRECTORY | 64), 'DIRECTORY|0x40');
  assert.equal(formatFlags('Clock', 1), 'MONOTONIC');
  assert.equal(formatBytes(new TextEncoder().encode('a"b\\\n\x01')), '"a\\"b\\\\\\n\\x01"');
  assert.equal(formatBytes(new Uint8Array(40).fill(65)), `"${'A'.repeat(32)}"...`);
  assert.equal(formatResult(DkError.NOT_FOUND), '-2 NOT_FOUND');
  const open = PRIMITIVES.find((p) => p.method === 'streamOpen')!;
  assert.equal(formatCall(open, ['file:/x', 1, 0, 2]), 'DkStreamOpen(uri="file:/x", access=READ, create=0, options=DIRECTORY)');
  const read = PRIMITIVES.find((p) => p.method === 'streamRead')!;
  const buf = new Uint8Array(8);
  buf.set([104, 105]);
  assert.equal(formatCall(read, [3, -1, buf], 2), 'DkStreamRead(stream=3, offset=-1, buffer="hi"[8])');
});

test('built-in extensions refuse unknown or bad options with a clear message', () => {
  const dk = createMemoryHost({ deterministic: true }).createProcess().dk;
  const host = memoryExtensionHost();
  const make = (name: string, options: Record<string, string>) => () => BUILTIN_EXTENSIONS[name]!(dk, options, host);
  assert.throws(make('trace', { fromat: 'json' }), /trace: unknown option "fromat"/);
  assert.throws(make('trace', { format: 'xml' }), /format must be "text" or "json"/);
  assert.throws(make('trace', { filter: 'streams+DkNoSuch' }), /unknown filter "DkNoSuch"/);
  assert.throws(make('record', {}), /record: needs file=PATH/);
  assert.throws(make('replay', {}), /replay: needs file=PATH/);
  assert.throws(make('replay', { file: 'missing.log' }), /no such file/);
  host.inputs.set('bad.log', '{"not":"a log"}\n');
  assert.throws(make('replay', { file: 'bad.log' }), /not a drawbridge record log/);
  assert.throws(make('remap', {}), /at least one rule/);
  assert.throws(make('remap', { etc: '/x' }), /absolute guest path/);
  assert.throws(make('remap', { '/etc': 'relative' }), /absolute path or a URI/);
  assert.throws(make('remap', { '/etc': '/a/../b' }), /must not contain/);
});
