// `drawbridge restore FILE` of a log checkpoint (docs/durable.md): the module runs again from its
// start under the restorer's grants, answered from the log (no outside effect made again), its
// memory checked at the checkpoint's call, and goes live there, logging on to a new durable log
// so that it can be checkpointed again. The request of the file is compared with the
// restorer's grants before anything runs, as for a snapshot.

import { resolve } from 'node:path';
import { setUpDurable, defaultDurablePath } from '../checkpoint/durable-run.ts';
import { checkpointLog, requestOf, type LogCheckpoint } from '../checkpoint/log-checkpoint.ts';
import { checkpointStart, logControlHandler } from '../checkpoint/log-control.ts';
import { serveControlWhile } from '../checkpoint/migrate-control.ts';
import { measureWith } from '../checkpoint/measure.ts';
import { entriesOf } from '../extensions/durable-log.ts';
import { compareRequest, missingGrantsMessage } from '../checkpoint/request.ts';
import { SnapshotError } from '../checkpoint/snapshot.ts';
import { createNodeHost, flushInheritedOutput } from '../host/node/index.ts';
import { ExtensionHalt, loadExtensions } from '../runtime/extensions.ts';
import { compileImage, startOptions } from '../runtime/load.ts';
import { startCommand } from '../runtime/picoprocess.ts';
import { measuredManifest, type Grants } from './grant-flags.ts';
import type { CommandIo } from './manifest-command.ts';
import { rmSync } from 'node:fs';

/** Restore a log checkpoint under `grants`; the program's exit status. `durable`: the new log's path ('' or undefined: the default place, removed at the end). */
export async function restoreLogCheckpoint(cp: LogCheckpoint, name: string, grants: Grants, io: CommandIo, durable?: string): Promise<number> {
  const meta = cp.meta;
  const compared = compareRequest(requestOf(meta), grants.manifest);
  const refusal = missingGrantsMessage(compared.missing);
  if (refusal) throw new SnapshotError(refusal);
  const log = checkpointLog(cp, name, meta.module.sha256);
  // The program starts as it started (arguments, environment, pre-opens): anything else would
  // not be the run the log answers. Its grants are the restorer's.
  const manifest = { ...compared.manifest, env: { ...meta.env }, args: null };
  const compiled = await compileImage({ name: meta.module.name, bytes: cp.module, prepared: false }, { memoryLimit: manifest.limits.memory });
  const requests = grants.extensions;
  const stack = requests.length ? await loadExtensions(requests) : null;
  const path = resolve(durable || manifest.continuity?.log || defaultDurablePath(meta.module.name));
  const carried = cp.log.subarray(0, log.validBytes);
  const setup = setUpDurable(path, meta.module.sha256, undefined, { log: carried, entries: entriesOf(carried), memorySha256: meta.memorySha256 || null });
  try {
    let running;
    try {
      running = await startCommand({
        ...startOptions(compiled),
        host: createNodeHost(),
        args: meta.args,
        manifest,
        preopens: meta.preopens,
        listenSockets: meta.listenSockets,
        stdin: 'inherit',
        stdout: 'inherit',
        stderr: 'inherit',
        wrapDk: setup.wrap(stack?.wrap),
        onMemory: setup.memory.onMemory,
      });
    } catch (e) {
      // The log differs already in the calls the library OS makes as it starts.
      if (!(e instanceof ExtensionHalt)) throw e;
      io.err(`drawbridge: ${meta.module.name}: ${e.message}`);
      return e.exitCode;
    }
    const start = checkpointStart(meta.module, meta.args, manifest, meta.preopens, meta.listenSockets, requests);
    const measurement = () => measureWith(meta.module.sha256, measuredManifest(grants.manifest, requests));
    // Checkpointable and migratable again, by this process's pid (one program at a time in a receive).
    serveControlWhile(logControlHandler(setup, start, cp.module, running.process, measurement), running.done, meta.module.name, (line) =>
      io.err(`drawbridge: ${line}`),
    );
    const status = await running.done;
    flushInheritedOutput();
    if (status.error) io.err(`drawbridge: ${meta.module.name}: ${status.error}`);
    return status.exitCode;
  } finally {
    stack?.close();
    setup.file.close();
    if (!durable && !manifest.continuity?.log) rmSync(path, { force: true });
  }
}
