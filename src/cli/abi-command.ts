// `drawbridge abi [--json]`: the Drawbridge ABI table, derived from src/abi/spec.ts.

import { DK_ABI_VERSION } from '../abi/dk.ts';
import { PRIMITIVES, UPCALLS } from '../abi/spec.ts';
import type { CommandIo } from './manifest-command.ts';
import { parseCommandArgs, type OptionTable } from './args.ts';

const USAGE = 'usage: drawbridge abi [--json]';
const ABI_OPTIONS = { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const satisfies OptionTable;

export function abiJson(): object[] {
  return [...PRIMITIVES, ...UPCALLS].map((p) => ({
    name: p.name,
    method: p.method,
    category: p.category,
    blocking: p.blocking,
    args: p.args.map((a) => ({ name: a.name, type: a.type })),
    result: p.result,
    doc: p.doc,
    support: p.support.level === 'full' ? 'full' : 'partial',
    ...(p.support.level === 'partial' ? { note: p.support.note } : {}),
  }));
}

export function abiCommand(argv: string[], io: CommandIo): number {
  const a = parseCommandArgs(ABI_OPTIONS, argv);
  if (a.kind === 'help') {
    io.out(USAGE);
    return 0;
  }
  if (a.kind === 'error' || a.positionals.length) {
    io.err(`drawbridge abi: ${a.kind === 'error' ? a.message : `unknown argument ${a.positionals[0]}`}; ${USAGE}`);
    return 2;
  }
  if (a.values.json) {
    io.out(JSON.stringify(abiJson(), null, 2));
    return 0;
  }
  io.out(`Drawbridge ABI ${DK_ABI_VERSION}: ${PRIMITIVES.length} primitives, ${UPCALLS.length} upcalls`);
  let category = '';
  for (const p of [...PRIMITIVES, ...UPCALLS]) {
    if (p.category !== category) {
      category = p.category;
      io.out(`\n${category}`);
    }
    const args = p.args.map((a) => `${a.name}: ${a.type}`).join(', ');
    const flags = [p.blocking ? 'blocking' : '', p.support.level === 'partial' ? 'partial' : ''].filter(Boolean).join(', ');
    io.out(`  ${p.name}(${args}) -> ${p.result}${flags ? `  [${flags}]` : ''}`);
    if (p.support.level === 'partial') io.out(`      partial: ${p.support.note}`);
  }
  return 0;
}
