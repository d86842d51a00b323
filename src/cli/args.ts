// The one argument parser of the CLI, on node:util parseArgs: each command declares its options
// as a table (name, type, short alias, value name, help text) and gets back their values and its
// positionals, `help` when it was asked for, or a one-line message for a mistake, which the
// command prints in its own style. The same table gives the flag list of the command's --help.
//
// `--` ends options; `--flag=value` and `--flag value` both work; a repeatable option collects
// every value. With `stopAtPositional`, options end at the first positional (`drawbridge run
// MODULE ARGS...`: what follows the module is the guest's, flags included), as bin/drawbridge.js's
// early look at `run` arguments reads them too.

import type * as Util from 'node:util';

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** A one-letter alias: `-o` for --output. */
  short?: string;
  /** Repeatable (string options only): every value, in order. */
  multiple?: boolean;
  /** The value when the option is not given (string options only). */
  default?: string;
  /** The value's name, in the help and in the message for a missing value: FILE, HOST[::GUEST]. */
  value?: string;
  /** What the message for a missing value says the option needs (default: `a value: --NAME VALUE`). */
  needs?: string;
  /** The option's line in the command's --help; further lines after '\n'. Left out: not listed. */
  help?: string;
}

export type OptionTable = Readonly<Record<string, OptionSpec>>;

type ValueOf<S extends OptionSpec> = S['type'] extends 'boolean'
  ? boolean
  : S['multiple'] extends true
    ? string[]
    : S extends { default: string }
      ? string
      : string | undefined;

export type OptionValues<T extends OptionTable> = { -readonly [K in keyof T]: ValueOf<T[K]> };

export type ParsedArgs<T extends OptionTable> =
  | { kind: 'ok'; values: OptionValues<T>; positionals: string[] }
  /** --help or -h was given (the table has a `help` option): it wins over any mistake. */
  | { kind: 'help' }
  /** A mistake: `reason` says which kind, `message` says it in one line (`unknown option --bogus`). */
  | { kind: 'error'; reason: 'unknown option' | 'missing value' | 'unwanted value'; message: string };

export interface ParseOptions {
  /** Options end at the first positional: it and everything after it are positionals. */
  stopAtPositional?: boolean;
}

/** Parses `argv` (the words after the command's name) against the command's option table. */
export function parseCommandArgs<T extends OptionTable>(table: T, argv: readonly string[], how: ParseOptions = {}): ParsedArgs<T> {
  const { options, after } = how.stopAtPositional ? splitAtPositional(table, argv) : { options: [...argv], after: [] };
  // By getBuiltinModule: an ESM import of node:util evaluates every lazy export of it.
  const { parseArgs } = process.getBuiltinModule('node:util') as typeof Util;
  const { tokens } = parseArgs({ args: options, options: nodeOptions(table), strict: false, allowPositionals: true, tokens: true });
  if (Object.hasOwn(table, 'help') && tokens.some((t) => t.kind === 'option' && t.name === 'help')) return { kind: 'help' };
  const values: Record<string, string | string[] | boolean | undefined> = {};
  for (const [name, spec] of Object.entries(table)) values[name] = spec.type === 'boolean' ? false : spec.multiple ? [] : spec.default;
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'positional') positionals.push(t.value);
    if (t.kind !== 'option') continue;
    const spec = Object.hasOwn(table, t.name) ? table[t.name] : undefined;
    // As typed: `--bogus=3`, or `-x` (of `-xy`).
    if (!spec) return { kind: 'error', reason: 'unknown option', message: `unknown option ${t.rawName.startsWith('--') ? options[t.index] : t.rawName}` };
    if (spec.type === 'boolean') {
      if (t.inlineValue) return { kind: 'error', reason: 'unwanted value', message: `${t.rawName} takes no value` };
      values[t.name] = true;
    } else if (t.value === undefined) {
      return { kind: 'error', reason: 'missing value', message: `${t.rawName} needs ${spec.needs ?? `a value: ${t.rawName} ${spec.value ?? 'VALUE'}`}` };
    } else if (spec.multiple) (values[t.name] as string[]).push(t.value);
    else values[t.name] = t.value;
  }
  return { kind: 'ok', values: values as OptionValues<T>, positionals: [...positionals, ...after] };
}

/** The words before the first positional (or `--`), and the positionals from there on. */
function splitAtPositional(table: OptionTable, argv: readonly string[]): { options: string[]; after: string[] } {
  const takesValue = new Set(Object.entries(table).flatMap(([name, s]) => (s.type === 'string' ? [`--${name}`, ...(s.short ? [`-${s.short}`] : [])] : [])));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return { options: argv.slice(0, i), after: argv.slice(i + 1) };
    if (!a.startsWith('-') || a === '-') return { options: argv.slice(0, i), after: argv.slice(i) };
    if (takesValue.has(a)) i++;
  }
  return { options: [...argv], after: [] };
}

function nodeOptions(table: OptionTable): Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> {
  const out: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, s] of Object.entries(table))
    out[name] = { type: s.type, ...(s.short ? { short: s.short } : {}), ...(s.multiple ? { multiple: true } : {}) };
  return out;
}

/** The options' lines of a --help: `  -h, --help  text`, the texts in one column two spaces after the longest name. */
export function optionsHelp(table: OptionTable): string {
  const rows = Object.entries(table).flatMap(([name, s]) =>
    s.help === undefined ? [] : [[`${s.short ? `-${s.short}, ` : ''}--${name}${s.type === 'string' ? ` ${s.value ?? 'VALUE'}` : ''}`, s.help] as const],
  );
  const column = 2 + Math.max(0, ...rows.map(([label]) => label.length)) + 2;
  return rows
    .map(([label, help]) =>
      help
        .split('\n')
        .map((line, i) => (i === 0 ? `  ${label}`.padEnd(column) : ' '.repeat(column)) + line)
        .join('\n'),
    )
    .join('\n');
}

/** The whole number from 0 to `max` that `text` spells in decimal digits, or null. */
export function wholeNumber(text: string | undefined, max = Number.MAX_SAFE_INTEGER): number | null {
  return text !== undefined && /^\d+$/.test(text) && Number(text) <= max ? Number(text) : null;
}
