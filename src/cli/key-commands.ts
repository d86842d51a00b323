// drawbridge key [--key FILE]: make (once) and show the host key that seals snapshots (seal.ts).
// drawbridge measure MODULE [--manifest F] [flags as run]: the launch's measurement (measure.ts).

import { readModuleFile, ModuleError } from '../runtime/module-cache.ts';
import { measure } from '../checkpoint/measure.ts';
import { ensureKey, KeyError, keyPath } from '../checkpoint/seal.ts';
import { optionsHelp, parseCommandArgs, type OptionTable } from './args.ts';
import { GRANT_OPTIONS, grantsFromFlags, measuredManifest } from './grant-flags.ts';
import type { CommandIo } from './manifest-command.ts';

const HELP = { type: 'boolean', short: 'h', help: 'show this help' } as const;
const JSON_OPTION = { type: 'boolean', help: 'print one JSON object' } as const;
const KEY_OPTIONS = {
  key: {
    type: 'string',
    value: 'FILE',
    needs: 'a file: --key FILE',
    help: 'the key file (default: $DRAWBRIDGE_KEY, else\n$XDG_CONFIG_HOME/drawbridge/host.key or ~/.config/drawbridge/host.key)',
  },
  json: JSON_OPTION,
  help: HELP,
} as const satisfies OptionTable;

export const KEY_USAGE = 'usage: drawbridge key [--key FILE] [--json]';
const KEY_HELP = `${KEY_USAGE}

Makes this host's key, once (32 random bytes, a file of mode 0600), and shows where it is and
its id. Every snapshot drawbridge writes is sealed with it (HMAC-SHA-256; --encrypt also
encrypts, AES-256-GCM), and drawbridge restore accepts only snapshots sealed with it (or a key
it is given with --key). Two hosts that move picoprocesses to each other share one key file
(copy it over a channel you trust, keep it 0600), or each restores with --key naming the
other's: whoever holds a key can seal, so share it only with hosts you trust as much as this
one (docs/snapshot.md, "Sealed snapshots").

${optionsHelp(KEY_OPTIONS)}`;

export async function keyCommand(argv: string[], io: CommandIo): Promise<number> {
  const a = parseCommandArgs(KEY_OPTIONS, argv);
  if (a.kind === 'help') {
    io.out(KEY_HELP);
    return 0;
  }
  if (a.kind === 'error' || a.positionals.length) {
    io.err(`drawbridge key: ${a.kind === 'error' ? a.message : `unexpected argument ${a.positionals[0]}`}; ${KEY_USAGE}`);
    return 2;
  }
  try {
    const { key, made } = ensureKey(keyPath(a.values.key));
    io.out(a.values.json ? JSON.stringify({ path: key.path, id: key.id, made }) : `${made ? 'made' : 'host key'} ${key.path} (id ${key.id})`);
    return 0;
  } catch (e) {
    if (!(e instanceof KeyError)) throw e;
    io.err(`drawbridge key: ${e.message}`);
    return 1;
  }
}

const MEASURE_OPTIONS = { ...GRANT_OPTIONS, json: JSON_OPTION, help: HELP } as const satisfies OptionTable;
export const MEASURE_USAGE =
  'usage: drawbridge measure MODULE.wasm [--manifest F] [--dir HOST::GUEST]... [--env NAME=VALUE]... [--listen A:P]... [--connect H:P]... [--ext NAME]... [--json]';
const MEASURE_HELP = `${MEASURE_USAGE}

Prints the measurement of a launch: the SHA-256 of the module file, of the canonical manifest
(the effective one, the manifest's grants with the flags' added, as drawbridge run would run it;
docs/manifest.md, "Measurement"), and one digest over both. Pin the module with
module_sha256 = "..." in the manifest. A sealed snapshot records the measurement it ran under;
drawbridge restore compares it with its own.

${optionsHelp(MEASURE_OPTIONS)}`;

export async function measureCommand(argv: string[], io: CommandIo): Promise<number> {
  const a = parseCommandArgs(MEASURE_OPTIONS, argv);
  if (a.kind === 'help') {
    io.out(MEASURE_HELP);
    return 0;
  }
  const mistake =
    a.kind === 'error'
      ? a.message
      : a.positionals.length === 0
        ? 'missing MODULE.wasm'
        : a.positionals.length > 1
          ? `unexpected argument ${a.positionals[1]}`
          : null;
  if (a.kind === 'error' || mistake) {
    io.err(`drawbridge measure: ${mistake}; ${MEASURE_USAGE}`);
    return 2;
  }
  const grants = await grantsFromFlags(a.values);
  if (typeof grants === 'string') {
    io.err(`drawbridge measure: ${grants}`);
    return 2;
  }
  try {
    const m = measure(await readModuleFile(a.positionals[0]!), measuredManifest(grants.manifest, grants.extensions));
    io.out(
      a.values.json
        ? JSON.stringify({ module_sha256: m.module_sha256, manifest_sha256: m.manifest_sha256, measurement: m.digest })
        : `module_sha256 ${m.module_sha256}\nmanifest_sha256 ${m.manifest_sha256}\nmeasurement ${m.digest}`,
    );
    return 0;
  } catch (e) {
    if (!(e instanceof ModuleError)) throw e;
    io.err(`drawbridge measure: ${e.message}`);
    return 2;
  }
}
