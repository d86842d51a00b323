// The page checksum of snapshot format 4 (src/checkpoint/page-sum.ts): the Wasm SIMD module and
// the JavaScript version give the same sum, and every one-byte change of a page changes it.
// The same module finds the pages that are not all zero (what a fork's snapshot copies).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { nonZeroPagesOf, pageSumOf, pageSummer } from '../../src/checkpoint/page-sum.ts';

function filled(pages: number): WebAssembly.Memory {
  const memory = new WebAssembly.Memory({ initial: pages });
  const u = new Uint8Array(memory.buffer);
  let x = 2463534242;
  for (let i = 0; i < u.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    u[i] = x & 255;
  }
  return memory;
}

test('the Wasm sum over a memory equals the JavaScript sum of the same bytes, aligned or not', () => {
  const memory = filled(4);
  const u = new Uint8Array(memory.buffer);
  const sum = pageSummer(memory);
  for (const [at, len] of [
    [0, 65536],
    [65536 * 2, 65536],
    [4096 * 5, 4096],
    [16, 32],
    [0, 0],
  ] as const) {
    assert.equal(sum(at, len), pageSumOf(u.subarray(at, at + len)), `${at}+${len}`);
    // The same bytes at an offset that is not a multiple of 4 (a page inside a file image).
    const odd = new Uint8Array(len + 3);
    odd.set(u.subarray(at, at + len), 3);
    assert.equal(pageSumOf(odd.subarray(3)), sum(at, len));
  }
  assert.equal(pageSummer(memory), sum, 'one instance per memory');
  assert.equal(pageSumOf(new Uint8Array(65536)), 0, 'a zero page sums to 0');
});

test('every one-byte change of a page changes its sum, whatever the byte, its place and its new value', () => {
  const memory = filled(1);
  const u = new Uint8Array(memory.buffer);
  const sum = pageSummer(memory);
  const base = sum(0, 65536);
  let tried = 0;
  for (let i = 0; i < 65536; i += 13) {
    const was = u[i]!;
    for (const d of [1, 2, 0x80, 0xff, 0x55]) {
      u[i] = (was + d) & 255;
      assert.notEqual(sum(0, 65536), base, `byte ${i} + ${d}`);
      tried++;
    }
    u[i] = was;
  }
  assert.equal(sum(0, 65536), base);
  assert.ok(tried > 25000);
  // Two pages that differ only in the order of their 16-byte blocks sum differently (b weighs
  // the position).
  const a = new Uint8Array(32).fill(1, 0, 16);
  const b = new Uint8Array(32).fill(1, 16, 32);
  assert.notEqual(pageSumOf(a), pageSumOf(b));
});

test('nonZeroPagesOf finds exactly the pages with a byte that is not zero, at any place in the page', () => {
  const memory = new WebAssembly.Memory({ initial: 3, maximum: 8 });
  fc.assert(
    fc.property(
      fc.array(fc.record({ at: fc.nat(3 * 65536 - 1), value: fc.integer({ min: 1, max: 255 }) }), { maxLength: 12 }),
      fc.constantFrom(4096, 65536),
      (writes, pageSize) => {
        const u = new Uint8Array(memory.buffer);
        u.fill(0);
        for (const w of writes) u[w.at] = w.value;
        const want = [...new Set(writes.map((w) => Math.floor(w.at / pageSize)))].sort((a, b) => a - b);
        assert.deepEqual(nonZeroPagesOf(memory, pageSize), want);
      },
    ),
  );
  // A grown memory is scanned to its new end (the module reads the memory, not a stale view).
  memory.grow(1);
  new Uint8Array(memory.buffer).fill(0);
  new Uint8Array(memory.buffer)[3 * 65536 + 65535] = 1;
  assert.deepEqual(nonZeroPagesOf(memory, 4096), [16 * 3 + 15]);
});

test('the last page of a 4 GiB memory is read too (ptr + len wraps to 0 there)', () => {
  const memory = new WebAssembly.Memory({ initial: 65536 });
  const u = new Uint8Array(memory.buffer);
  u[u.length - 1] = 7;
  assert.deepEqual(nonZeroPagesOf(memory, 4096), [65536 * 16 - 1]);
  assert.deepEqual(nonZeroPagesOf(memory, 65536), [65535]);
  for (const size of [4096, 65536]) assert.equal(pageSummer(memory)(u.length - size, size), pageSumOf(u.subarray(u.length - size)));
});
