// pagesWrittenAtInstantiation (src/wasm/data-pages.ts): the pages a fresh instance may hold
// non-zero, which a restore (and every fork) zeroes when the snapshot does not hold them. A page
// left out would keep the module's initial bytes where the program had zeros: checked against
// what V8 actually writes, for random modules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { concat, leb, MODULE_HEADER, section, sleb } from '../../src/wasm/binary.ts';
import { pagesWrittenAtInstantiation } from '../../src/wasm/data-pages.ts';

interface Segment {
  passive: boolean;
  explicitMemory: boolean;
  offset: number;
  bytes: number[];
}

const WASM_PAGE = 65536;

function moduleWith(pages: number, segments: Segment[]): Uint8Array {
  const data = segments.flatMap((s) => {
    const body = [...leb(s.bytes.length), ...s.bytes];
    if (s.passive) return [1, ...body];
    const offset = [0x41, ...sleb(s.offset | 0), 0x0b];
    return s.explicitMemory ? [2, 0, ...offset, ...body] : [0, ...offset, ...body];
  });
  return concat([MODULE_HEADER, section(5, [1, 0, ...leb(pages)]), section(11, [...leb(segments.length), ...data])]);
}

/** The indices of the non-zero `pageSize` pages of a fresh instance's memory. */
function nonZeroAfterInstantiation(bytes: Uint8Array, pageSize: number): number[] {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(withMemoryExport(bytes) as Uint8Array<ArrayBuffer>));
  const view = new Uint8Array((instance.exports.m as WebAssembly.Memory).buffer);
  const out: number[] = [];
  for (let p = 0; p * pageSize < view.length; p++) if (view.subarray(p * pageSize, (p + 1) * pageSize).some((b) => b !== 0)) out.push(p);
  return out;
}

/** The module with `export "m" memory 0` after its memory section (sections go in order). */
function withMemoryExport(bytes: Uint8Array): Uint8Array {
  const memoryEnd = 8 + 1 + 1 + bytes[9]!; // one small memory section right after the header
  return concat([bytes.subarray(0, memoryEnd), section(7, [1, 1, 0x6d, 2, 0]), bytes.subarray(memoryEnd)]);
}

const segment = (pages: number): fc.Arbitrary<Segment> =>
  fc.record({
    passive: fc.boolean(),
    explicitMemory: fc.boolean(),
    offset: fc.integer({ min: 0, max: pages * WASM_PAGE - 64 }),
    bytes: fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 0, maxLength: 64 }),
  });

test('random data segments: every page a fresh instance holds non-zero is in the set', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 }).chain((pages) => fc.tuple(fc.constant(pages), fc.array(segment(pages), { maxLength: 6 }))),
      fc.constantFrom(4096, WASM_PAGE),
      ([pages, segments], pageSize) => {
        const bytes = moduleWith(pages, segments);
        const written = pagesWrittenAtInstantiation(bytes, pageSize);
        assert.ok(written, 'constant offsets: the set is known');
        for (const p of nonZeroAfterInstantiation(bytes, pageSize)) assert.ok(written.has(p), `page ${p} is written and not in the set`);
        // And nothing a segment does not cover: passive and empty segments write no page.
        const covered = new Set<number>();
        for (const s of segments) if (!s.passive) for (let at = s.offset; at < s.offset + s.bytes.length; at++) covered.add(Math.floor(at / pageSize));
        assert.deepEqual(
          [...written].sort((a, b) => a - b),
          [...covered].sort((a, b) => a - b),
        );
      },
    ),
    { numRuns: 200 },
  );
});

test('unknown when the module alone cannot tell: a start function, an offset from a global, bytes it cannot read', () => {
  const start = concat([MODULE_HEADER, section(1, [1, 0x60, 0, 0]), section(3, [1, 0]), section(5, [1, 0, 1]), section(8, [0]), section(10, [1, 2, 0, 0x0b])]);
  assert.equal(pagesWrittenAtInstantiation(start, 4096), null);
  const fromGlobal = concat([
    MODULE_HEADER,
    section(2, [1, 1, 0x65, 1, 0x67, 3, 0x7f, 0]), // import "e" "g": global i32, immutable
    section(5, [1, 0, 1]),
    section(11, [1, 0, 0x23, 0, 0x0b, 1, 7]), // active segment at global.get 0
  ]);
  assert.equal(pagesWrittenAtInstantiation(fromGlobal, 4096), null);
  const cut = moduleWith(1, [{ passive: false, explicitMemory: false, offset: 8192, bytes: [1, 2, 3] }]);
  assert.equal(pagesWrittenAtInstantiation(cut.subarray(0, cut.length - 2), 4096), null);
  assert.deepEqual([...pagesWrittenAtInstantiation(cut, 4096)!], [2]);
  assert.deepEqual([...pagesWrittenAtInstantiation(moduleWith(1, []), 4096)!], []);
  // Not a module at all (a header cut short, another magic): nothing is assumed.
  assert.equal(pagesWrittenAtInstantiation(MODULE_HEADER.subarray(0, 5), 4096), null);
  assert.equal(pagesWrittenAtInstantiation(Uint8Array.from([1, 2, 3, 4, 1, 0, 0, 0]), 4096), null);
});
