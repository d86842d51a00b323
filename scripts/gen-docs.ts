// Writes the documents derived from the ABI table.
import { writeFileSync } from 'node:fs';
import { abiMarkdown } from '../src/abi/doc.ts';

writeFileSync(new URL('../docs/abi.md', import.meta.url), abiMarkdown());
console.log('wrote docs/abi.md');
