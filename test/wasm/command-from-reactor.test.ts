// A reactor made into a command (src/wasm/command-from-reactor.ts), on the C reactors of
// guests/include/list_reactor.h: `_start` runs the constructors once, then the export with the
// program's arguments as a list<string>, each argument intact (UTF-8, empty, with spaces),
// NUL-terminated with the NUL counted, in allocations of its own. One reactor imports no
// args_get (the imports are added and every function renumbered: calls, the table, exports, the
// name section), the other imports it (the imports are reused). Then the refusals, each naming
// what is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../../src/runtime/run.ts';
import { commandFromReactor, CommandFromReactorError } from '../../src/wasm/command-from-reactor.ts';
import { MODULE_HEADER, concat, leb, nameBytes, section } from '../../src/wasm/binary.ts';
import fc from 'fast-check';

const ENTRY = 'show-args: func(args: list<string>) -> ()';
const guest = (name: string) => readFileSync(join(import.meta.dirname, '..', '..', 'build/guests/runtime', `${name}.wasm`));
const ARGS = ['prog.wasm', 'héllo wörld ✓', '', 'a b', '--flag=1'];

/** What show_args prints for `args`: each one's length with its NUL, and its bytes in hex. */
function expected(args: string[]): string {
  const lines = [`init-calls=1 argc=${args.length} list-aligned=1`];
  args.forEach((a, i) => {
    const bytes = Buffer.from(a, 'utf8');
    lines.push(`${i}: len=${bytes.length + 1} nul-terminated=1 bytes=${bytes.toString('hex')}`);
  });
  return lines.join('\n') + '\n';
}

const names = (m: WebAssembly.Module, list: 'imports' | 'exports') =>
  (list === 'imports' ? WebAssembly.Module.imports(m).map((i) => `${i.module}.${i.name}`) : WebAssembly.Module.exports(m).map((e) => e.name)).sort();

for (const [name, adds] of [
  ['list_reactor', true],
  ['list_reactor_argv', false],
] as const) {
  test(`${name}: _start passes the arguments intact (${adds ? 'WASI imports added, functions renumbered' : 'its own WASI imports reused'})`, async () => {
    const reactor = guest(name);
    const command = commandFromReactor(reactor, ENTRY);
    const before = new WebAssembly.Module(reactor);
    const after = new WebAssembly.Module(command);
    const added = adds ? ['wasi_snapshot_preview1.args_get', 'wasi_snapshot_preview1.args_sizes_get'] : [];
    assert.deepEqual(names(after, 'imports'), [...names(before, 'imports'), ...added].sort());
    assert.deepEqual(names(after, 'exports'), [...names(before, 'exports').filter((e) => e !== '_initialize'), '_start'].sort());

    const r = await runCommand({ module: command, args: ARGS, capture: true });
    assert.equal(Buffer.from(r.stderr).toString(), '');
    assert.equal(r.exitCode, 0);
    assert.equal(Buffer.from(r.stdout).toString(), expected(ARGS));
    const none = await runCommand({ module: command, args: [], capture: true });
    assert.equal(Buffer.from(none.stdout).toString(), expected([]));
  });
}

test('after renumbering, a call through the table reaches the same function, and the name section names the frames', async () => {
  const command = commandFromReactor(guest('list_reactor'), ENTRY);
  const r = await runCommand({ module: command, args: ['prog', '--trap'], capture: true });
  assert.equal(r.exitCode, 134);
  assert.equal(r.error, 'wasm trap: wasm `unreachable` instruction executed');
  // on_trap points at trap_here through the table; the frames innermost first.
  assert.deepEqual(
    r.backtrace?.map((f) => f.replace(/^.* - /, '')),
    ['trap_here', 'show_args', '_start'],
  );
});

/** A module of its own bytes: types, imports, functions (type index, body), memory, exports. */
function module(parts: { types: number[][]; funcs: [number, number[]][]; exports: [string, number][]; memory?: boolean }): Uint8Array {
  return concat([
    MODULE_HEADER,
    section(1, [...leb(parts.types.length), ...parts.types.flat()]),
    section(3, [...leb(parts.funcs.length), ...parts.funcs.map(([t]) => t)]),
    ...(parts.memory === false ? [] : [section(5, [1, 0, 1])]),
    section(7, [...leb(parts.exports.length), ...parts.exports.flatMap(([n, i]) => [...nameBytes(n), 0, i])]),
    section(10, [...leb(parts.funcs.length), ...parts.funcs.flatMap(([, body]) => [...leb(body.length), ...body])]),
  ]);
}
const LIST = [0x60, 2, 0x7f, 0x7f, 0];
const REALLOC = [0x60, 4, 0x7f, 0x7f, 0x7f, 0x7f, 1, 0x7f];
const EMPTY = [0, 0x0b];
const ZERO = [0, 0x41, 0, 0x0b];

test('refused, naming what is missing: the export, its type, cabi_realloc, a memory; a command already', () => {
  const refused = (bytes: Uint8Array, entry: string, message: RegExp) =>
    assert.throws(
      () => commandFromReactor(bytes, entry),
      (e) => e instanceof CommandFromReactorError && message.test(e.message),
    );
  const good = {
    types: [LIST, REALLOC],
    funcs: [[0, EMPTY] as [number, number[]], [1, ZERO] as [number, number[]]],
    exports: [
      ['f', 0],
      ['cabi_realloc', 1],
    ] as [string, number][],
  };
  // The good module is made into one that runs (nothing to print, status 0).
  assert.ok(new WebAssembly.Module(commandFromReactor(module(good), 'f')));
  refused(module(good), 'g', /^it has no export "g" \(its functions: "f", "cabi_realloc"\)$/);
  refused(module(good), 'cabi_realloc', /^its export "cabi_realloc" has type \(i32, i32, i32, i32\) -> \(i32\), not \(i32, i32\) -> \(\)/);
  refused(module({ ...good, exports: [['f', 0]] }), 'f', /^it exports no cabi_realloc/);
  refused(module({ ...good, memory: false }), 'f', /^it has no memory/);
  refused(module({ ...good, exports: [...good.exports, ['_start', 0]] }), 'f', /^it exports _start already: it is a command$/);
  refused(Uint8Array.from([1, 2, 3]), 'f', /^not a WebAssembly module/);
  // A name of another reactor's export: the message lists the module's own functions.
  refused(guest('list_reactor'), 'ruby-init', /^it has no export "ruby-init" \(its functions: .*"show-args: func\(args: list<string>\) -> \(\)"/);
});

test('function references in constant expressions, element segments and code are renumbered too', () => {
  const I32_RESULT = [0x60, 0, 1, 0x7f];
  const funcs: [number, number[]][] = [
    [0, [0, 0xd2, 3, 0x1a, 0x0b]], // f(list, len): ref.func 3; drop
    [1, ZERO], // cabi_realloc
    [2, [0, 0x41, 7, 0x0b]], // seven
    [2, [0, 0x41, 9, 0x0b]], // nine
  ];
  const bytes = concat([
    MODULE_HEADER,
    section(1, [3, ...LIST, ...REALLOC, ...I32_RESULT]),
    section(3, [4, 0, 1, 2, 2]),
    section(4, [1, 0x70, 0, 4]), // a funcref table of 4
    section(5, [1, 0, 1]),
    section(6, [1, 0x70, 0, 0xd2, 3, 0x0b]), // global funcref = ref.func nine
    section(7, [4, ...nameBytes('f'), 0, 0, ...nameBytes('cabi_realloc'), 0, 1, ...nameBytes('g'), 3, 0, ...nameBytes('t'), 1, 0]),
    // t[0..1] = [seven, nine] by expressions (flags 4); t[2..3] = [nine, seven] by indices (flags 0)
    section(9, [2, 4, 0x41, 0, 0x0b, 2, 0xd2, 2, 0x0b, 0xd2, 3, 0x0b, 0, 0x41, 2, 0x0b, 2, 3, 2]),
    section(10, [4, ...funcs.flatMap(([, body]) => [...leb(body.length), ...body])]),
  ]);
  const command = commandFromReactor(bytes, 'f');
  const zero = () => 0;
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(command), { wasi_snapshot_preview1: { args_sizes_get: zero, args_get: zero } });
  const table = exports.t as WebAssembly.Table;
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => (table.get(i) as () => number)()),
    [7, 9, 9, 7],
  );
  assert.equal(((exports.g as WebAssembly.Global).value as () => number)(), 9);
  (exports._start as () => void)(); // no arguments: f(list, 0)
});

test('a damaged module is answered with an Error or a module, never anything else, and never a hang', () => {
  const reactor = guest('list_reactor');
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(reactor.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), fc.nat(64), (flips, cut) => {
      // Some bytes changed, and up to 64 cut off its end (the code, the name section).
      const bytes = Uint8Array.from(reactor.subarray(0, reactor.length - cut));
      for (const [at, b] of flips) if (at < bytes.length) bytes[at] = b;
      try {
        assert.ok(commandFromReactor(bytes, ENTRY) instanceof Uint8Array);
      } catch (e) {
        assert.ok(e instanceof Error, String(e));
      }
    }),
    { numRuns: 300 },
  );
});
