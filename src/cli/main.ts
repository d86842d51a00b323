// The drawbridge command line: a dispatcher over one file per command.

// Each command's module is imported when it runs, not before: start-up is most of a short
// run's time, and `run` need not load the server, the checkpoint tools or zod.
import type { CommandIo } from './manifest-command.ts';

export const VERSION = '0.1.0';

const USAGE = `drawbridge ${VERSION}: runs unmodified WebAssembly programs as picoprocesses behind
one narrow ABI and a security monitor.

usage: drawbridge COMMAND [ARGS...]

commands:
  run [--dir HOST[::GUEST]]... [--env NAME=VALUE]... [--manifest FILE] [--] MODULE.wasm [ARGS...]
                         run a WASI command module (see drawbridge run --help); as in
                         wasmtime, \`drawbridge MODULE.wasm ARGS...\` is \`run\` too
  abi [--json]           print the Drawbridge ABI table
  manifest check FILE    validate a manifest and summarise what it grants
  checkpoint PID -o FILE [--leave-running] [--encrypt]
                         snapshot a running \`drawbridge run\` (then it stops, unless --leave-running),
                         sealed with the host key
  restore FILE [--manifest F] [--dir HOST::GUEST]... [--trust-unsealed]
                         continue a picoprocess from its snapshot, under these grants only
  key [--key FILE]       make (once) and show the host key that seals snapshots
  measure MODULE.wasm [--manifest F]
                         print the measurement of a module and manifest
  inspect FILE [--json]  show what a snapshot holds and asks for, without running it
  prepare [--waits-only | --full] [--wasm-opt] MODULE.wasm
                         prepare a big module for checkpoints (small ones are prepared at first run)
  command-from-reactor MODULE.wasm --entry EXPORT -o OUT.wasm
                         make a reactor (Ruby's ruby.wasm) a command that run starts, log mode included
  receive --listen ADDR:PORT [--token-file F] [--manifest F] [--dir HOST::GUEST]... [--once]
                         run picoprocesses migrated here (a token, TLS beyond loopback; under these grants)
  migrate PID --to ADDR:PORT [--token-file F] [--pin SHA256]
                         move a running \`drawbridge run\` to a drawbridge receive
  serve [--listen ADDR:PORT | --socket PATH] [--workers N]
                         run a long-lived host with a control API (docs/serve.md)
  spawn [OPTIONS] MODULE.wasm [ARGS...]
                         start a picoprocess in the daemon (--follow: print its output)
  ps [--json]            list the daemon's picoprocesses
  kill ID...             stop picoprocesses of the daemon
  logs [--stderr] [-f] ID
                         print (and follow) a picoprocess's output
  move ID [--worker K]   move a picoprocess of the daemon to another worker thread
  checkpoint --host [WHERE] ID -o FILE, restore --host [WHERE] FILE
                         the same for a picoprocess of the daemon (restore prints its new id)
  completion bash|zsh    print a shell completion script (source <(drawbridge completion bash))
  help, --help           this help
  --version              print the version`;

const io: CommandIo = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
};

/** Runs the CLI and returns the exit status. */
export async function main(argv: string[], out: CommandIo = io): Promise<number> {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 24) {
    out.err(`drawbridge: needs Node.js >= 24 (this is ${process.versions.node}); run ./drawbridge in the checkout after npm ci, or install Node.js 24.`);
    return 1;
  }
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return (await import('./run-command.ts')).runCommandLine(rest, out);
    case 'abi':
      return (await import('./abi-command.ts')).abiCommand(rest, out);
    case 'manifest':
      return (await import('./manifest-command.ts')).manifestCheckCommand(rest, out);
    case 'checkpoint':
      return (await import('./checkpoint-commands.ts')).checkpointCommand(rest, out);
    case 'restore':
      return (await import('./checkpoint-commands.ts')).restoreCommand(rest, out);
    case 'key':
      return (await import('./key-commands.ts')).keyCommand(rest, out);
    case 'measure':
      return (await import('./key-commands.ts')).measureCommand(rest, out);
    case 'inspect':
      return (await import('./inspect-command.ts')).inspectCommand(rest, out);
    case 'prepare':
      return (await import('./checkpoint-commands.ts')).prepareCommand(rest, out);
    case 'command-from-reactor':
      return (await import('./command-from-reactor-command.ts')).commandFromReactorCommand(rest, out);
    case 'receive':
      return (await import('./checkpoint-commands.ts')).receiveCommand(rest, out);
    case 'migrate':
      return (await import('./checkpoint-commands.ts')).migrateCommand(rest, out);
    case 'serve':
      return (await import('./serve-commands.ts')).serveCommand(rest, out);
    case 'spawn':
      return (await import('./serve-commands.ts')).spawnCommand(rest, out);
    case 'ps':
      return (await import('./serve-commands.ts')).psCommand(rest, out);
    case 'kill':
      return (await import('./serve-commands.ts')).killCommand(rest, out);
    case 'logs':
      return (await import('./serve-commands.ts')).logsCommand(rest, out);
    case 'move':
      return (await import('./serve-commands.ts')).moveCommand(rest, out);
    case 'completion':
      return (await import('./completion-command.ts')).completionCommand(rest, out, main);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      out.out(USAGE);
      return command === undefined ? 2 : 0;
    case '--version':
    case '-V':
      out.out(`drawbridge ${VERSION}`);
      return 0;
    default:
      // `drawbridge prog.wasm ARGS` and `drawbridge --dir . prog.wasm` are `run`, as in wasmtime.
      if ((await import('./wasmtime-flags.ts')).isImplicitRun(command)) return (await import('./run-command.ts')).runCommandLine(argv, out);
      out.err(`drawbridge: unknown command "${command}"; try drawbridge --help`);
      return 2;
  }
}
