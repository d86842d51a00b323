// Every command's --help, as the command itself prints it: the one source of shell completion
// (completion-command.ts) and of the man pages (scripts/gen-man.ts), so neither can drift from
// what the commands accept.

import type { CommandIo } from './manifest-command.ts';

/** The commands of drawbridge, as main.ts dispatches them. */
export const COMMANDS = [
  'run',
  'abi',
  'manifest',
  'checkpoint',
  'restore',
  'key',
  'measure',
  'inspect',
  'prepare',
  'command-from-reactor',
  'receive',
  'migrate',
  'serve',
  'spawn',
  'ps',
  'kill',
  'logs',
  'move',
  'completion',
] as const;

export interface HelpPage {
  command: string;
  /** The text `drawbridge COMMAND --help` prints. */
  text: string;
  /** The long and short options its help names, sorted. */
  options: string[];
}

/** The CLI's entry point (main.ts main), passed in: main dispatches to the commands that read the pages. */
export type Main = (argv: string[], io: CommandIo) => Promise<number>;

/** `drawbridge COMMAND --help` for every command, and the top-level help. */
export async function helpPages(main: Main): Promise<{ top: string; pages: HelpPage[] }> {
  const capture = async (argv: string[]): Promise<string> => {
    const lines: string[] = [];
    const io: CommandIo = { out: (l) => lines.push(l), err: (l) => lines.push(l) };
    await main(argv, io);
    return lines.join('\n');
  };
  const pages: HelpPage[] = [];
  for (const command of COMMANDS) {
    const text = await capture([command, '--help']);
    pages.push({ command, text, options: optionsOf(text) });
  }
  return { top: await capture(['--help']), pages };
}

/** The options a help text names: `--long-name` and `-x` at the start of a word. */
export function optionsOf(text: string): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(/(?:^|[\s[(,|])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?=[\s=\],|)]|$)/gm)) found.add(m[1]!);
  return [...found].sort();
}
