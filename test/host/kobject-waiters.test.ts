// A kernel object's waiters (src/host/kernel/kobject.ts): woken first come first, each once per
// change, whatever the order of waits begun and ended; a waiter that comes while the others are
// woken waits for the next change. Checked against a plain ordered set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KObject } from '../../src/host/kernel/kobject.ts';

class Probe extends KObject {
  readonly kind = 'event';
  change(): void {
    this.notify();
  }
}

type Op = { add: number } | { remove: number } | { notify: true };

test('waiters are woken in the order they came, each once, as an ordered set would', () => {
  const op = fc.oneof(
    fc.record({ add: fc.integer({ min: 0, max: 4 }) }),
    fc.record({ remove: fc.integer({ min: 0, max: 4 }) }),
    fc.constant({ notify: true as const }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), (ops: Op[]) => {
      const obj = new Probe();
      const model = new Set<number>();
      const woken: number[] = [];
      const wakers = Array.from({ length: 5 }, (_, i) => () => void woken.push(i));
      for (const o of ops) {
        if ('add' in o) {
          obj.addWaiter(wakers[o.add]!);
          model.add(o.add);
        } else if ('remove' in o) {
          obj.removeWaiter(wakers[o.remove]!);
          model.delete(o.remove);
        } else {
          woken.length = 0;
          obj.change();
          assert.deepEqual(woken, [...model]);
        }
      }
    }),
  );
});

test('a waiter that ends its wait and another that begins one while woken: the new one waits for the next change', () => {
  const obj = new Probe();
  const woken: string[] = [];
  const late = () => void woken.push('late');
  const first = () => {
    woken.push('first');
    obj.removeWaiter(first);
    obj.addWaiter(late);
  };
  const second = () => void woken.push('second');
  obj.addWaiter(first);
  obj.addWaiter(second);
  obj.change();
  assert.deepEqual(woken, ['first', 'second']);
  woken.length = 0;
  obj.change();
  assert.deepEqual(woken, ['second', 'late']);
});
