// Man pages made from the commands' own --help (help-pages.ts): drawbridge(1) with the command
// list, and drawbridge-COMMAND(1) for each command. `npm run docs` writes them to man/man1/;
// a test checks that they are current.

import { COMMANDS, helpPages } from './help-pages.ts';
import { main, VERSION } from './main.ts';

/** File name -> troff text, for every page. */
export async function manPages(): Promise<Map<string, string>> {
  const { top, pages } = await helpPages(main);
  const out = new Map<string, string>();
  out.set(
    'drawbridge.1',
    page('drawbridge', 'run WebAssembly programs as picoprocesses behind one narrow ABI and a security monitor', top, [
      ...COMMANDS.map((c) => `drawbridge-${c}(1)`),
    ]),
  );
  for (const p of pages) out.set(`drawbridge-${p.command}.1`, page(`drawbridge-${p.command}`, summary(top, p.command), p.text, ['drawbridge(1)']));
  return out;
}

/** The command's one-line description in the top-level help. */
function summary(top: string, command: string): string {
  const lines = top.split('\n');
  const at = lines.findIndex((l) => new RegExp(`^  ${command}\\b`).test(l));
  if (at < 0) return `the drawbridge ${command} command`;
  const first = /\s{2,}(\S.*)$/.exec(lines[at]!.replace(/^\s+\S+/, ''))?.[1];
  const parts = first ? [first] : [];
  for (let i = at + 1; i < lines.length && /^ {20,}\S/.test(lines[i]!); i++) parts.push(lines[i]!.trim());
  const text = parts.join(' ').replace(/\s+/g, ' ');
  return text || `the drawbridge ${command} command`;
}

function page(name: string, what: string, help: string, seeAlso: string[]): string {
  return [
    `.TH ${name.toUpperCase()} 1 "" "drawbridge ${VERSION}" "drawbridge manual"`,
    '.SH NAME',
    `${escape(name)} \\- ${escape(what)}`,
    '.SH DESCRIPTION',
    'The text of',
    `.B ${escape(name.replace('-', ' '))} --help:`,
    '.PP',
    '.nf',
    ...help.split('\n').map((l) => escape(l)),
    '.fi',
    '.SH SEE ALSO',
    seeAlso.map((s) => escape(s)).join(', '),
    '',
  ].join('\n');
}

/** Text as troff shows it: backslashes doubled, a leading dot or quote protected, hyphens as minus signs. */
function escape(line: string): string {
  const t = line.replace(/\\/g, '\\e').replace(/-/g, '\\-');
  return /^[.']/.test(t) ? `\\&${t}` : t;
}
