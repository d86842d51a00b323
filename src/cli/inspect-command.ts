// drawbridge inspect FILE [--key FILE]... [--json]: what a snapshot file holds, read without
// running it: its seal (whose key, intact or not, encrypted), the module (name, SHA-256, size),
// memory, arguments, the environment's names, and what it asks a restorer to grant (mounts,
// network, listening sockets, extensions). Nothing in it is trusted or acted on: it is shown.

import { SnapshotError, decodeSnapshot, type SnapshotMeta } from '../checkpoint/snapshot.ts';
import { keysFor, readSnapshotBytes } from '../checkpoint/snapshot-file.ts';
import { KeyError, sealHeader, unseal } from '../checkpoint/seal.ts';
import { listeningAddresses } from '../checkpoint/request.ts';
import type { Measurement } from '../checkpoint/measure.ts';
import { decodeLogCheckpoint, isLogCheckpoint, type LogCheckpointMeta } from '../checkpoint/log-checkpoint.ts';
import { optionsHelp, parseCommandArgs, type OptionTable } from './args.ts';
import type { CommandIo } from './manifest-command.ts';

const INSPECT_OPTIONS = {
  key: { type: 'string', multiple: true, value: 'FILE', help: "a key to check the seal with (default: this host's)" },
  json: { type: 'boolean', help: 'print one JSON object instead of text' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
} as const satisfies OptionTable;

export const INSPECT_USAGE = 'usage: drawbridge inspect FILE [--key FILE]... [--json]';
const INSPECT_HELP = `${INSPECT_USAGE}

Shows what a snapshot or log checkpoint holds without running it (its mode: a memory
snapshot, or a durable log with the calls it holds): its seal (sealed with this host's key or
another's, intact, encrypted), the module it runs (name, SHA-256, size), its memory, arguments,
the names of its environment variables, and what it asks whoever restores it to grant (mounts,
network, listening sockets, extensions). A snapshot grants nothing itself (docs/snapshot.md,
"Who grants what"). An encrypted file sealed with a key not given shows its seal only.

${optionsHelp(INSPECT_OPTIONS)}`;

export interface Inspection {
  file: string;
  bytes: number;
  /** What captures it: a memory snapshot, or a durable log (docs/durable.md); null when its contents cannot be read. */
  mode: 'snapshot' | 'log' | null;
  seal: {
    state: 'this host' | 'key given' | 'another key' | 'none';
    keyId: string | null;
    encrypted: boolean;
    created: string | null;
    measurement: Measurement | null;
  };
  snapshot: null | {
    created: string;
    module: SnapshotMeta['module'];
    memory: { pages: number; nonZeroPages: number; bytes: number };
    args: string[];
    envNames: string[];
    requests: { mounts: { guest: string; mode: string }[]; connect: string[]; listen: string[]; listening: string[]; extensions: string[] };
  };
  log: null | {
    created: string;
    module: LogCheckpointMeta['module'];
    /** Calls the log holds up to the checkpoint, and its size. */
    calls: number;
    logBytes: number;
    memory: { bytes: number; sha256: string };
    args: string[];
    envNames: string[];
    requests: { mounts: { guest: string; mode: string }[]; connect: string[]; listen: string[]; extensions: string[] };
  };
}

/** Read and describe a snapshot file; a SnapshotError or KeyError says in one line why not. */
export function inspectFile(file: string, keyFiles: readonly string[]): Inspection {
  const raw = readSnapshotBytes(file);
  const header = sealHeader(raw);
  const opened = unseal(raw, keysFor(keyFiles), file);
  const seal: Inspection['seal'] = {
    state: opened.kind === 'sealed' ? (keyFiles.length ? 'key given' : 'this host') : opened.kind === 'foreign' ? 'another key' : 'none',
    keyId: header?.keyId ?? null,
    encrypted: header?.encrypted ?? false,
    created: header?.created ?? null,
    measurement: opened.kind === 'sealed' ? opened.measurement : null,
  };
  const plain = opened.snapshot;
  if (plain === null) return { file, bytes: raw.length, mode: null, seal, snapshot: null, log: null };
  if (isLogCheckpoint(plain)) {
    const { meta, log } = decodeLogCheckpoint(plain, file);
    return {
      file,
      bytes: raw.length,
      mode: 'log',
      seal,
      snapshot: null,
      log: {
        created: meta.created,
        module: meta.module,
        calls: meta.calls,
        logBytes: log.length,
        memory: { bytes: meta.memoryBytes, sha256: meta.memorySha256 },
        args: meta.args,
        envNames: Object.keys(meta.env).sort(),
        requests: { mounts: meta.mounts, connect: meta.network.connect, listen: meta.network.listen, extensions: meta.extensions },
      },
    };
  }
  const { meta } = decodeSnapshot(plain, file, { lazyPages: true });
  return {
    file,
    bytes: raw.length,
    mode: 'snapshot',
    log: null,
    seal,
    snapshot: {
      created: meta.created,
      module: meta.module,
      memory: { ...meta.memory, bytes: meta.memory.pages * 65536 },
      args: meta.args,
      envNames: Object.keys(meta.env ?? {}).sort(),
      requests: {
        mounts: meta.mounts.map((m) => ({ guest: m.guest, mode: m.mode })),
        connect: meta.network?.connect ?? [],
        listen: meta.network?.listen ?? [],
        listening: listeningAddresses(meta),
        extensions: (meta.extensions ?? []).map((e) => e.name),
      },
    },
  };
}

function text(i: Inspection): string {
  const s = i.seal;
  const sealLine =
    s.state === 'none'
      ? 'not sealed: anyone could have written it (restore needs --trust-unsealed)'
      : s.state === 'this host' || s.state === 'key given'
        ? `sealed with ${s.state === 'this host' ? "this host's key" : 'the key given'} (id ${s.keyId}), intact${s.encrypted ? ', encrypted' : ''}`
        : `sealed with another key (id ${s.keyId}), not checked${s.encrypted ? ', encrypted: its contents need that key (--key FILE)' : ''}`;
  const lines = [`${i.file}: ${i.bytes} bytes`, `seal:        ${sealLine}`];
  if (s.measurement) lines.push(`measurement: ${s.measurement.digest} (module ${s.measurement.module_sha256}, manifest ${s.measurement.manifest_sha256})`);
  const g = i.log;
  const list = (xs: readonly string[]) => (xs.length ? xs.join(', ') : 'none');
  if (g) {
    const r = g.requests;
    lines.push(
      `mode:        log (restore replays ${g.calls} calls from the module's start; docs/durable.md)`,
      `module:      ${g.module.name} (sha256 ${g.module.sha256}, ${g.module.size} bytes)`,
      `taken:       ${g.created}`,
      `log:         ${g.calls} calls, ${g.logBytes} bytes`,
      `memory:      ${g.memory.bytes} bytes at the checkpoint, sha256 ${g.memory.sha256}`,
      `args:        ${JSON.stringify(g.args)}`,
      `env:         ${list(g.envNames)}`,
      'asks for (a restorer grants it, or refuses):',
      `  mounts:      ${list(r.mounts.map((m) => `${m.guest} (${m.mode})`))}`,
      `  connect:     ${list(r.connect)}`,
      `  listen:      ${list(r.listen)}`,
      `  extensions:  ${list(r.extensions)}`,
    );
  }
  const p = i.snapshot;
  if (p) {
    const r = p.requests;
    lines.push(
      `mode:        snapshot`,
      `module:      ${p.module.name} (sha256 ${p.module.sha256}, ${p.module.size} bytes)`,
      `taken:       ${p.created}`,
      `memory:      ${p.memory.pages} pages (${p.memory.bytes} bytes), ${p.memory.nonZeroPages} not zero`,
      `args:        ${JSON.stringify(p.args)}`,
      `env:         ${list(p.envNames)}`,
      'asks for (a restorer grants it, or refuses):',
      `  mounts:      ${list(r.mounts.map((m) => `${m.guest} (${m.mode})`))}`,
      `  connect:     ${list(r.connect)}`,
      `  listen:      ${list(r.listen)}`,
      `  listening:   ${list(r.listening)}`,
      `  extensions:  ${list(r.extensions)}`,
    );
  }
  return lines.join('\n');
}

export async function inspectCommand(argv: string[], io: CommandIo): Promise<number> {
  const a = parseCommandArgs(INSPECT_OPTIONS, argv);
  if (a.kind === 'help') {
    io.out(INSPECT_HELP);
    return 0;
  }
  if (a.kind === 'error' || a.positionals.length !== 1) {
    const why = a.kind === 'error' ? a.message : a.positionals.length ? `unexpected argument ${a.positionals[1]}` : 'missing FILE';
    io.err(`drawbridge inspect: ${why}; ${INSPECT_USAGE}`);
    return 2;
  }
  try {
    const i = inspectFile(a.positionals[0]!, a.values.key);
    io.out(a.values.json ? JSON.stringify(i) : text(i));
    return 0;
  } catch (e) {
    if (!(e instanceof SnapshotError) && !(e instanceof KeyError)) throw e;
    io.err(`drawbridge inspect: ${e.message}`);
    return 1;
  }
}
