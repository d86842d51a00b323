// `drawbridge manifest check FILE`: validates a manifest and says what it grants, or lists every
// error as `FILE: FIELD: MESSAGE` (one per line, on stderr). The CLI dispatcher (main.ts)
// passes the arguments after `manifest`. Exit codes: 0 valid, 1 invalid or unreadable, 2 usage.

import { readFileSync } from 'node:fs';
import { summariseManifest } from '../monitor/manifest/manifest.ts';
import { parseManifest } from '../monitor/manifest/parse.ts';
import { parseCommandArgs } from './args.ts';

export interface CommandIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

const defaultIo: CommandIo = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
};

const USAGE = 'usage: drawbridge manifest check [--json] FILE';
const HELP = `${USAGE}

Validates a manifest and says what it grants, or lists every error as FILE: FIELD: MESSAGE.
--json prints one object: {"file", "ok": true, "manifest"} with the manifest as drawbridge reads
it (defaults filled in), or {"file", "ok": false, "errors": [{"path", "message"}]}.`;

/** argv: the words after `drawbridge manifest`, e.g. ["check", "app.toml"]. */
export function manifestCheckCommand(argv: string[], io: CommandIo = defaultIo): number {
  const a = parseCommandArgs({ json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, argv);
  if (a.kind === 'help') {
    io.out(HELP);
    return 0;
  }
  if (a.kind === 'error' || a.positionals.length !== 2 || a.positionals[0] !== 'check') {
    io.err(USAGE);
    return 2;
  }
  const file = a.positionals[1]!;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory, not a manifest file'
          : code === 'EACCES'
            ? 'permission denied'
            : (e as Error).message;
    io.err(`${file}: cannot read: ${why}`);
    return 1;
  }
  const result = parseManifest(text, file);
  if (a.values.json) {
    io.out(JSON.stringify(result.ok ? { file, ok: true, manifest: result.manifest } : { file, ok: false, errors: result.errors }));
    return result.ok ? 0 : 1;
  }
  if (result.ok) {
    io.out(`${file}: ok`);
    io.out(`  ${summariseManifest(result.manifest)}`);
    return 0;
  }
  for (const e of result.errors) io.err(`${file}: ${e.path}: ${e.message}`);
  return 1;
}
