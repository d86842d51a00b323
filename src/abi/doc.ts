// docs/abi.md, derived from the ABI table (spec.ts) and the error enum: never written by hand.
// `npm run docs` writes it; a test checks the committed file is current.

import { DK_ABI_VERSION } from './dk.ts';
import { DkError } from './errors.ts';
import { PRIMITIVES, UPCALLS, type ArgSpec } from './spec.ts';
import { EXIT_STATUSES, GUEST_EXIT_CODE_END } from './exit-status.ts';
import { FB_MODULE_CALLS, INPUT_EVENT_TYPES, InputKey } from './fb-module.ts';

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
  lines.push(...fbSection());
  return lines.join('\n') + '\n';
}

/** The frame buffer and input events as a guest reaches them (fb-module.ts). */
function fbSection(): string[] {
  const lines = [
    '',
    '## Frame buffer and input, for guests',
    '',
    'Functions of the `drawbridge` import module (src/libos/drawbridge/fb.ts; for C, include/drawbridge/fb.h).',
    "The pixels live in the guest's own memory; each returns a WASI errno. A pointer or size outside",
    'memory is a guest fault (the program traps), as for every other call. The embedder receives the',
    'updates (KernelHost.onFrameBufferUpdate) and injects input (KernelHost.injectInput): `drawbridge run',
    '--fb ADDR:PORT` shows them on a web page.',
    '',
    '| function | arguments | result | blocking | what it does |',
    '|---|---|---|---|---|',
  ];
  for (const c of FB_MODULE_CALLS) lines.push(`| \`${c.name}\` | ${c.args} | errno | ${c.blocking ? 'yes' : 'no'} | ${c.doc} |`);
  lines.push(
    '',
    '### Input events',
    '',
    "Each 16 bytes, little-endian: type u32, code u32, value i32, time ms u32 (the host's monotonic clock, wrapping).",
    '',
  );
  lines.push('| type | name | code | value |', '|---|---|---|---|');
  for (const t of INPUT_EVENT_TYPES) lines.push(`| ${t.type} | ${t.name} | ${t.code} | ${t.value} |`);
  lines.push('', '| key | code |', '|---|---|');
  for (const [name, code] of Object.entries(InputKey)) lines.push(`| ${name} | ${code < 0x100 ? code : '0x' + code.toString(16).toUpperCase()} |`);
  lines.push('| F2 to F12 | 0xE022 to 0xE02C |');
  return lines;
}
