// drawbridge command-from-reactor MODULE.wasm --entry EXPORT -o OUT.wasm: a reactor made into a
// command (src/wasm/command-from-reactor.ts), so that `drawbridge run`, log mode and restore
// start it as any program. Ruby's ruby.wasm is the case it is for (docs/durable.md).

import { writeFileSync } from 'node:fs';
import { ModuleError, readModuleFile } from '../runtime/module-cache.ts';
import { commandFromReactor, CommandFromReactorError } from '../wasm/command-from-reactor.ts';
import { optionsHelp, parseCommandArgs, type OptionTable } from './args.ts';
import type { CommandIo } from './manifest-command.ts';

const USAGE = 'usage: drawbridge command-from-reactor MODULE.wasm --entry EXPORT -o OUT.wasm';

const OPTIONS = {
  entry: {
    type: 'string',
    value: 'EXPORT',
    needs: "the name of an export: --entry 'ruby-init: func(args: list<string>) -> ()'",
    help: 'the export that takes the arguments: (i32 list, i32 length) -> (), as a\nlist<string> of the canonical ABI (required)',
  },
  output: { type: 'string', short: 'o', value: 'OUT.wasm', help: 'where the command is written (required)' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
} as const satisfies OptionTable;

const HELP = `${USAGE}

Makes a reactor (a module with _initialize and exported functions, which needs an
embedder to call them, such as Ruby's ruby.wasm) into a command that \`drawbridge run\`
starts, and so \`run --durable\`, \`checkpoint\` and \`restore\` too. OUT.wasm exports
_start, which calls _initialize, then EXPORT with the program's arguments (argv[0]
first) as a list<string>: (pointer, length) pairs, each string allocated with the
module's cabi_realloc, NUL-terminated, the NUL counted in its length. A return from
EXPORT is exit status 0. _initialize is no longer exported (_start calls it).

Ruby (@ruby/3.4-wasm-wasi's ruby+stdlib.wasm; ruby-init runs the -r FILE, not -e):
  drawbridge command-from-reactor ruby+stdlib.wasm -o ruby.wasm \\
      --entry 'ruby-init: func(args: list<string>) -> ()'
  drawbridge run --dir .::/w ruby.wasm -r/w/script.rb -e_=0      (docs/durable.md)

${optionsHelp(OPTIONS)}`;

export async function commandFromReactorCommand(argv: string[], io: CommandIo): Promise<number> {
  const a = parseCommandArgs(OPTIONS, argv);
  if (a.kind === 'help') {
    io.out(HELP);
    return 0;
  }
  const mistake =
    a.kind === 'error'
      ? a.message
      : a.positionals.length === 0
        ? 'which module? drawbridge command-from-reactor MODULE.wasm --entry EXPORT -o OUT.wasm'
        : a.positionals.length > 1
          ? `unexpected argument ${a.positionals[1]}`
          : a.values.entry === undefined
            ? "--entry EXPORT is required: the export that takes the arguments (Ruby's: 'ruby-init: func(args: list<string>) -> ()')"
            : a.values.output === undefined
              ? '-o OUT.wasm is required: where the command is written'
              : null;
  if (mistake !== null || a.kind !== 'ok') {
    io.err(`drawbridge command-from-reactor: ${mistake}\n${USAGE} (--help for more)`);
    return 2;
  }
  const path = a.positionals[0]!;
  const out = a.values.output!;
  let bytes: Uint8Array;
  try {
    bytes = await readModuleFile(path);
  } catch (e) {
    if (!(e instanceof ModuleError)) throw e;
    io.err(`drawbridge command-from-reactor: ${e.message}`);
    return 2;
  }
  let command: Uint8Array;
  try {
    command = commandFromReactor(bytes, a.values.entry!);
  } catch (e) {
    // A module it cannot read (cut short, an instruction it does not know) says so too.
    const why = e instanceof CommandFromReactorError ? e.message : `cannot rewrite it: ${(e as Error).message}`;
    io.err(`drawbridge command-from-reactor: ${path}: ${why}`);
    return 1;
  }
  try {
    writeFileSync(out, command);
  } catch (e) {
    io.err(`drawbridge command-from-reactor: cannot write ${out}: ${(e as Error).message}`);
    return 1;
  }
  io.out(`wrote ${out}: a command whose _start calls "${a.values.entry}" with its arguments`);
  return 0;
}
