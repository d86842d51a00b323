// Migration of a picoprocess in log mode (docs/durable.md): what travels is its log checkpoint
// (log-checkpoint.ts), on the same connection, token and bounds as a snapshot (migrate.ts), with
// the module sent only when the target does not hold it already. The target checks it as
// `drawbridge restore` checks a file (every length, the module's hash, META's fields) before it
// hands it on; the grants it then runs under are the receiver's.
//
// After the hello, in place of a snapshot's offer:
//   source -> target  {"op":"offer-log","meta":LogCheckpointMeta,"logBytes":N}
//   target -> source  {"needModule":bool}
//   source -> target  {"module":BYTES,"log":N} then the module bytes (if asked for), then the log
//   target -> source  {"ok":true} once it holds a complete, verified checkpoint (or {"ok":false,"error"})

import type { Socket } from 'node:net';
import { decodeLogCheckpoint, encodeLogCheckpoint, type LogCheckpoint, type LogCheckpointMeta } from './log-checkpoint.ts';
import { FrameReader, MigrationError, line } from './migrate-wire.ts';
import { SnapshotError, sha256 } from './snapshot.ts';

export interface LogMigrationStats {
  /** Bytes of the log sent. */
  logBytes: number;
  /** Calls the log holds. */
  calls: number;
  moduleSent: boolean;
}

const HASH = /^[0-9a-f]{64}$/;

/** The modules a target holds, by hash (migrate.ts's PageStore). */
interface ModuleStore {
  module(hash: string): Uint8Array | undefined;
  addModule(hash: string, bytes: Uint8Array): void;
}

/** The bounds of migrate.ts's MigrationLimits that a log offer meets. */
interface LogLimits {
  helloLine: number;
  moduleBytes: number;
  logBytes: number;
}

/** Target side, once an offer-log line was read: take the module (if needed) and the log, and check the whole as a restore would. */
export async function receiveLogOffer(
  r: FrameReader,
  socket: Socket,
  offer: { meta?: unknown; logBytes?: unknown },
  store: ModuleStore,
  limits: LogLimits,
): Promise<{ checkpoint: LogCheckpoint; stats: LogMigrationStats }> {
  const meta = offer.meta as Partial<LogCheckpointMeta> | null | undefined;
  const mod = meta?.module;
  if (meta?.format !== 'drawbridge-log-checkpoint') throw new MigrationError('not a drawbridge log checkpoint');
  if (typeof mod?.sha256 !== 'string' || !HASH.test(mod.sha256)) throw new MigrationError('the offer has no module hash');
  if (!Number.isSafeInteger(mod.size) || mod.size <= 0 || mod.size > limits.moduleBytes) {
    throw new MigrationError(`the module's size is not between 1 and ${limits.moduleBytes} bytes`);
  }
  const logBytes = offer.logBytes;
  if (typeof logBytes !== 'number' || !Number.isSafeInteger(logBytes) || logBytes <= 0 || logBytes > limits.logBytes) {
    throw new MigrationError(`the log's size is not between 1 and ${limits.logBytes} bytes`);
  }
  const needModule = !store.module(mod.sha256);
  socket.write(line({ needModule }));
  const head = await r.json<{ module?: unknown; log?: unknown }>(limits.helloLine, 'the transfer header');
  if (head.module !== (needModule ? mod.size : 0) || head.log !== logBytes) {
    throw new MigrationError('the transfer header does not match what was asked for');
  }
  if (needModule) {
    const module = await r.bytes(mod.size);
    if (sha256(module) !== mod.sha256) throw new MigrationError('the module sent does not match its hash');
    store.addModule(mod.sha256, module);
  }
  const log = await r.bytes(logBytes);
  const module = store.module(mod.sha256);
  if (!module) throw new MigrationError('the module is missing');
  // Put back together and read as a file would be: META's every field, the module's hash.
  let checkpoint: LogCheckpoint;
  try {
    checkpoint = decodeLogCheckpoint(encodeLogCheckpoint({ meta: meta as LogCheckpointMeta, module, log }), 'the log checkpoint sent');
  } catch (e) {
    if (e instanceof SnapshotError) throw new MigrationError(e.message);
    throw e;
  }
  return { checkpoint, stats: { logBytes, calls: checkpoint.meta.calls, moduleSent: needModule } };
}

/** Answer lines from the target: the need (one boolean) and the status, each small. */
const ANSWER_LINE = 64 * 1024;
/** Where the source waits for the target's answers. */
const ANSWER_MS = 120_000;

/** Source side: send the log checkpoint `bytes` (unsealed) over an accepted connection. */
export async function sendLogCheckpoint(socket: Socket, r: FrameReader, bytes: Uint8Array): Promise<LogMigrationStats> {
  try {
    let cp: LogCheckpoint;
    try {
      cp = decodeLogCheckpoint(bytes, 'the checkpoint');
    } catch (e) {
      if (e instanceof SnapshotError) throw new MigrationError(e.message);
      throw e;
    }
    r.idleMs = ANSWER_MS;
    socket.write(line({ op: 'offer-log', meta: cp.meta, logBytes: cp.log.length }));
    const need = await r.json<{ needModule?: unknown; ok?: false; error?: string }>(ANSWER_LINE, "the target's answer");
    if (need.ok === false) throw new MigrationError(`the target refused: ${need.error}`);
    if (typeof need.needModule !== 'boolean') throw new MigrationError("the target's answer does not say whether it needs the module");
    socket.write(line({ module: need.needModule ? cp.module.length : 0, log: cp.log.length }));
    if (need.needModule) socket.write(cp.module);
    socket.write(cp.log);
    const done = await r.json<{ ok?: unknown; error?: unknown }>(ANSWER_LINE, "the target's answer");
    if (done.ok !== true) throw new MigrationError(`the target refused: ${String(done.error)}`);
    return { logBytes: cp.log.length, calls: cp.meta.calls, moduleSent: need.needModule };
  } finally {
    socket.end();
  }
}
