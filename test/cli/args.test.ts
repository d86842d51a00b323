// The CLI's one argument parser (src/cli/args.ts): option tables in, values and positionals or a
// one-line mistake out; `--`, repeated flags, `--flag=value`, and run's stop at the module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { optionsHelp, parseCommandArgs, wholeNumber, type OptionTable } from '../../src/cli/args.ts';

const TABLE = {
  dir: { type: 'string', multiple: true, value: 'HOST[::GUEST]', help: 'mount a folder\nread-write' },
  manifest: { type: 'string', value: 'FILE', needs: 'a file', help: 'start from a manifest' },
  output: { type: 'string', short: 'o', value: 'FILE' },
  mode: { type: 'string', default: 'fast' },
  once: { type: 'boolean' },
  follow: { type: 'boolean', short: 'f' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
} as const satisfies OptionTable;

function ok(argv: string[], stopAtPositional = false) {
  const r = parseCommandArgs(TABLE, argv, { stopAtPositional });
  assert.equal(r.kind, 'ok', JSON.stringify(r));
  return r as Extract<typeof r, { kind: 'ok' }>;
}

function mistake(argv: string[], stopAtPositional = false): string {
  const r = parseCommandArgs(TABLE, argv, { stopAtPositional });
  assert.equal(r.kind, 'error', JSON.stringify(r));
  return (r as { message: string }).message;
}

test('values: defaults, --flag value, --flag=value, short aliases', () => {
  const none = ok([]);
  assert.deepEqual(none.values, { dir: [], manifest: undefined, output: undefined, mode: 'fast', once: false, follow: false, help: false });
  assert.deepEqual(none.positionals, []);
  const r = ok(['--manifest', 'm.toml', '--mode=slow', '-o', 'out', '--once', '-f', 'a', 'b']);
  assert.equal(r.values.manifest, 'm.toml');
  assert.equal(r.values.mode, 'slow');
  assert.equal(r.values.output, 'out');
  assert.equal(r.values.once, true);
  assert.equal(r.values.follow, true);
  assert.deepEqual(r.positionals, ['a', 'b']);
  assert.equal(ok(['--output=x']).values.output, 'x');
  assert.equal(ok(['--dir=']).values.dir[0], '');
});

test('a repeated flag accumulates when repeatable; the last one wins otherwise', () => {
  const r = ok(['--dir', 'a', '--dir=b::/b', '--manifest', 'one', '--manifest', 'two']);
  assert.deepEqual(r.values.dir, ['a', 'b::/b']);
  assert.equal(r.values.manifest, 'two');
});

test('an unknown flag: one line, as typed', () => {
  assert.equal(mistake(['--bogus', 'x']), 'unknown option --bogus');
  assert.equal(mistake(['--bogus=3']), 'unknown option --bogus=3');
  assert.equal(mistake(['-x']), 'unknown option -x');
  const r = parseCommandArgs(TABLE, ['--bogus']);
  assert.equal(r.kind === 'error' && r.reason, 'unknown option');
});

test('a missing value: one line naming the flag and its value', () => {
  assert.equal(mistake(['--dir']), '--dir needs a value: --dir HOST[::GUEST]');
  assert.equal(mistake(['-o']), '-o needs a value: -o FILE');
  assert.equal(mistake(['--manifest']), '--manifest needs a file');
  assert.equal(mistake(['--once=yes']), '--once takes no value');
  const r = parseCommandArgs(TABLE, ['--dir']);
  assert.equal(r.kind === 'error' && r.reason, 'missing value');
  // A value may start with a dash, as the hand-written loops took the next word.
  assert.equal(ok(['-o', '--once']).values.output, '--once');
});

test('--help wins over a mistake; a table without help has no --help', () => {
  assert.equal(parseCommandArgs(TABLE, ['--bogus', '--help']).kind, 'help');
  assert.equal(parseCommandArgs(TABLE, ['-h']).kind, 'help');
  assert.equal(parseCommandArgs({ json: { type: 'boolean' } }, ['--help']).kind, 'error');
});

test('`--` ends options: what follows are positionals, dashes and all', () => {
  const r = ok(['--once', '--', '--dir', '-o', 'x']);
  assert.equal(r.values.once, true);
  assert.deepEqual(r.values.dir, []);
  assert.deepEqual(r.positionals, ['--dir', '-o', 'x']);
  assert.deepEqual(ok(['a', '--', '--once']).positionals, ['a', '--once']);
});

test("stopAtPositional (drawbridge run): every word after the module is the guest's", () => {
  const r = ok(['--dir', 'd', 'prog.wasm', '--dir', 'x', '-h', '--bogus', '--'], true);
  assert.deepEqual(r.values.dir, ['d']);
  assert.equal(r.values.help, false);
  assert.deepEqual(r.positionals, ['prog.wasm', '--dir', 'x', '-h', '--bogus', '--']);
  // A value is not the module; `--` ends options before it; `-` is a positional.
  assert.deepEqual(ok(['--manifest', 'm.toml', '-o', 'f', 'p.wasm'], true).positionals, ['p.wasm']);
  assert.deepEqual(ok(['--', '--once', 'a'], true).positionals, ['--once', 'a']);
  assert.deepEqual(ok(['-', 'a'], true).positionals, ['-', 'a']);
  assert.deepEqual(ok(['--dir=d', 'p.wasm', 'a'], true).positionals, ['p.wasm', 'a']);
  // Mistakes before the module are still found; flags after it are not drawbridge's.
  assert.equal(mistake(['--bogus', 'p.wasm'], true), 'unknown option --bogus');
  assert.equal(mistake(['--dir'], true), '--dir needs a value: --dir HOST[::GUEST]');
  assert.equal(parseCommandArgs(TABLE, ['p.wasm', '--help'], { stopAtPositional: true }).kind, 'ok');
  // Without it, options and positionals mix.
  assert.deepEqual(ok(['p.wasm', '--once']).values.once, true);
});

test('optionsHelp: the listed options, their texts in one column', () => {
  assert.equal(
    optionsHelp(TABLE),
    [
      '  --dir HOST[::GUEST]  mount a folder',
      `${' '.repeat(23)}read-write`,
      '  --manifest FILE      start from a manifest',
      '  -h, --help           show this help',
    ].join('\n'),
  );
});

test('wholeNumber: digits from 0 to max', () => {
  assert.equal(wholeNumber('0', 5), 0);
  assert.equal(wholeNumber('5', 5), 5);
  assert.equal(wholeNumber('6', 5), null);
  assert.equal(wholeNumber('-1'), null);
  assert.equal(wholeNumber('1e3'), null);
  assert.equal(wholeNumber(''), null);
  assert.equal(wholeNumber(undefined), null);
});
