// The frame buffer's names and numbers are written in three places that cannot import each other:
// the ABI's table (src/abi/fb-module.ts, which docs/abi.md lists), the C header
// (include/drawbridge/fb.h) and the browser view's wire format (src/web/fb/wire.ts). They agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FB_MODULE_CALLS, InputEventType, InputKey } from '../../src/abi/fb-module.ts';
import { Button, EventType, Key } from '../../src/web/fb/wire.ts';
import { DRAWBRIDGE_CALLS } from '../../src/libos/drawbridge/index.ts';

const header = readFileSync('include/drawbridge/fb.h', 'utf8');
/** fb.h's `#define DRAWBRIDGE_<prefix>NAME value` constants. */
function defines(prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of header.matchAll(new RegExp(`^#define DRAWBRIDGE_${prefix}(\\w+)\\s+(0x[0-9A-Fa-f]+|\\d+)`, 'gm'))) out[m[1]!] = Number(m[2]);
  return out;
}

test('event types, buttons and keys are the same numbers in the ABI table, fb.h and the wire format', () => {
  assert.deepEqual(defines('EV_'), { ...InputEventType });
  assert.deepEqual(defines('EV_'), { ...EventType });
  assert.deepEqual(defines('BUTTON_'), { ...Button });
  assert.deepEqual(defines('KEY_'), { ...InputKey });
  const { F12, ...wireKeys } = Key;
  assert.deepEqual(wireKeys, { ...InputKey });
  assert.equal(F12, InputKey.F1 + 11);
});

test("the ABI table's frame-buffer functions are the library OS's fb family, blocking alike, and fb.h imports each", () => {
  const family = Object.entries(DRAWBRIDGE_CALLS).filter(([, e]) => e.family === 'fb');
  assert.deepEqual(
    FB_MODULE_CALLS.map((c) => [c.name, c.blocking]),
    family.map(([name, e]) => [name, e.blocking]),
  );
  for (const c of FB_MODULE_CALLS) assert.match(header, new RegExp(`DRAWBRIDGE_IMPORT\\(${c.name}\\)`));
});
