// The ABI is declared once (src/abi/spec.ts) and typed once (src/abi/dk.ts): they must name
// the same primitives, every original Drawbridge primitive must be there, and the error
// enum must be closed (distinct negative codes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PRIMITIVES, UPCALLS } from '../../src/abi/spec.ts';
import { ALL_DK_ERRORS, DkError, dkErrorName, isDkError } from '../../src/abi/errors.ts';
import { abiJson } from '../../src/cli/abi-command.ts';

const ORIGINAL = [
  'DkVirtualMemoryAlloc',
  'DkVirtualMemoryFree',
  'DkVirtualMemoryProtect',
  'DkThreadCreate',
  'DkThreadDelayExecution',
  'DkThreadYieldExecution',
  'DkThreadExit',
  'DkThreadGetParameter',
  'DkThreadRaiseException',
  'DkNotificationEventCreate',
  'DkSynchronizationEventCreate',
  'DkSemaphoreCreate',
  'DkSemaphoreRelease',
  'DkSemaphorePeek',
  'DkEventSet',
  'DkEventClear',
  'DkEventPeek',
  'DkObjectsWaitAny',
  'DkAbortEventRegister',
  'DkProcessCreate',
  'DkProcessGetExitCode',
  'DkProcessExit',
  'DkStreamOpen',
  'DkStreamRead',
  'DkStreamWrite',
  'DkStreamMap',
  'DkStreamMapPeBinary',
  'DkStreamUnmap',
  'DkStreamSetLength',
  'DkStreamFlush',
  'DkStreamDelete',
  'DkStreamGetEvent',
  'DkStreamRename',
  'DkStreamEnumerateChildren',
  'DkStreamAttributesQuery',
  'DkStreamAttributesQueryByHandle',
  'DkSystemTimeQuery',
  'DkRandomBitsRead',
  'DkInstructionCacheFlush',
  'DkObjectReference',
  'DkObjectClose',
  'DkInputEventRead',
  'DkFrameBufferExport',
  'DkFrameBufferNotifyUpdate',
  'DkDebugStringPrint',
];

test('every primitive of the original ABI is declared, by its original name', () => {
  const names = new Set(PRIMITIVES.map((p) => p.name));
  for (const n of ORIGINAL) assert.ok(names.has(n), `${n} missing from spec.ts`);
  assert.deepEqual(
    UPCALLS.map((u) => u.name),
    ['LibOsInitialize', 'LibOsThreadStart', 'LibOsExceptionDispatch'],
  );
});

test('names and methods are unique and map one to one', () => {
  assert.equal(new Set(PRIMITIVES.map((p) => p.name)).size, PRIMITIVES.length);
  assert.equal(new Set(PRIMITIVES.map((p) => p.method)).size, PRIMITIVES.length);
  for (const p of PRIMITIVES) assert.equal(p.method, p.name[2]!.toLowerCase() + p.name.slice(3));
});

test('only waiting primitives block', () => {
  const blocking = PRIMITIVES.filter((p) => p.blocking)
    .map((p) => p.name)
    .sort();
  assert.deepEqual(blocking, ['DkObjectsWaitAny', 'DkThreadDelayExecution', 'DkThreadYieldExecution']);
});

test('partial support always says what is missing', () => {
  for (const p of PRIMITIVES) if (p.support.level === 'partial') assert.ok(p.support.note.length > 20, p.name);
});

test('error codes form one closed enum of distinct negative numbers', () => {
  const codes = Object.values(DkError);
  assert.equal(new Set(codes).size, codes.length);
  for (const c of codes) assert.ok(c < 0 && Number.isInteger(c));
  assert.equal(ALL_DK_ERRORS.length, codes.length);
  assert.equal(dkErrorName(DkError.WOULD_BLOCK), 'WOULD_BLOCK');
  assert.ok(isDkError(DkError.NOT_CAPABLE));
  assert.ok(!isDkError(0) && !isDkError(5) && !isDkError('x'));
});

test('abi --json has the documented fields for every entry', () => {
  const json = abiJson() as Record<string, unknown>[];
  assert.equal(json.length, PRIMITIVES.length + UPCALLS.length);
  for (const e of json) {
    for (const k of ['name', 'category', 'blocking', 'args', 'result', 'doc', 'support']) assert.ok(k in e, `${String(e.name)} lacks ${k}`);
    assert.ok(e.support === 'full' || (e.support === 'partial' && typeof e.note === 'string'));
  }
});

test('docs/abi.md is the one generated from the table (npm run docs)', async () => {
  const { readFileSync } = await import('node:fs');
  const { abiMarkdown } = await import('../../src/abi/doc.ts');
  assert.equal(readFileSync('docs/abi.md', 'utf8'), abiMarkdown());
});
