// docs/abi.md, derived from the ABI table (spec.ts) and the error enum: never written by hand.
// `npm run docs` writes it; a test checks the committed file is current.

import { DK_ABI_VERSION } from './dk.ts';
import { DkError } from './errors.ts';
import { PRIMITIVES, UPCALLS, type ArgSpec } from './spec.ts';
import { EXIT_STATUSES, GUEST_EXIT_CODE_END } from './exit-status.ts';

const args = (list: readonly ArgSpec[]): string => list.map((a) => `${a.name}: ${a.type}`).join(', ');

export function abiMarkdown(): string {
  const lines: string[] = [
    '# The Drawbridge ABI',
    '',
    `Version ${DK_ABI_VERSION}. Generated from \`src/abi/spec.ts\` by \`npm run docs\`; do not edit by hand.`,
    '',
    'Every primitive returns its result or a negative error code (below); only the primitives',
    'marked *blocking* return a Promise. A stream with nothing to give answers WOULD_BLOCK and',
    'offers an event (DkStreamGetEvent) to wait on with DkObjectsWaitAny.',
    '',
  ];
  let category = '';
  for (const p of [...PRIMITIVES, ...UPCALLS]) {
    if (p.category !== category) {
      if (category !== '') lines.push('');
      category = p.category;
      lines.push(`## ${category}`, '', '| primitive | arguments | result | blocking | support |', '|---|---|---|---|---|');
    }
    const support = p.support.level === 'full' ? 'full' : `partial: ${p.support.note}`;
    lines.push(`| \`${p.name}\` (\`${p.method}\`) | ${args(p.args) || '—'} | ${p.result} | ${p.blocking ? 'yes' : 'no'} | ${support} |`);
  }
  lines.push('', '### What each primitive does', '');
  for (const p of [...PRIMITIVES, ...UPCALLS]) lines.push(`- **${p.name}**: ${p.doc}`);
  lines.push('', '## Error codes', '', '| code | name |', '|---|---|');
  for (const [name, code] of Object.entries(DkError)) lines.push(`| ${code} | ${name} |`);
  lines.push(
    '',
    '## Exit statuses',
    '',
    `A program's own exit status (proc_exit) is 0 to ${GUEST_EXIT_CODE_END - 1}; these are the ones the host gives.`,
    '',
    '| status | name | meaning |',
    '|---|---|---|',
  );
  for (const s of EXIT_STATUSES) lines.push(`| ${s.code} | ${s.name} | ${s.meaning} |`);
  return lines.join('\n') + '\n';
}
