// Writes the documents derived from the code: docs/abi.md from the ABI table, and the man
// pages (man/man1/) from the commands' --help.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { abiMarkdown } from '../src/abi/doc.ts';
import { manPages } from '../src/cli/man-pages.ts';

writeFileSync(new URL('../docs/abi.md', import.meta.url), abiMarkdown());
console.log('wrote docs/abi.md');

const dir = new URL('../man/man1/', import.meta.url);
mkdirSync(dir, { recursive: true });
for (const f of readdirSync(dir)) rmSync(new URL(f, dir));
const pages = await manPages();
for (const [name, text] of pages) writeFileSync(new URL(name, dir), text);
console.log(`wrote ${pages.size} man pages in man/man1/`);
