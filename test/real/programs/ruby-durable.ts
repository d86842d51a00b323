// Ruby (@ruby/3.4-wasm-wasi, a reactor: see ruby-reactor.ts) in log mode, as its own process,
// for test/real/real-ruby-durable.test.ts. `drawbridge run` starts command modules only, so
// this is the embedder a reactor needs, with what `drawbridge run --durable` and `drawbridge
// restore` do around it (src/checkpoint/durable-run.ts, log-control.ts, log-checkpoint.ts):
//
//   node ruby-durable.ts run DIR LOG          runs DIR/script.rb (DIR mounted at /w) with a
//                                             durable log; answers `drawbridge checkpoint PID`
//   node ruby-durable.ts restore DIR FILE LOG restores the log checkpoint FILE (sealed with
//                                             $DRAWBRIDGE_KEY) and goes on, logging to LOG
//
// stdin, stdout and stderr are this process's. Exit status: the reactor's.

import { readFile } from 'node:fs/promises';
import { setUpDurable, type DurableSetup } from '../../../src/checkpoint/durable-run.ts';
import { checkpointLog, decodeLogCheckpoint } from '../../../src/checkpoint/log-checkpoint.ts';
import { checkpointStart, serveLogControl } from '../../../src/checkpoint/log-control.ts';
import { measureWith } from '../../../src/checkpoint/measure.ts';
import { readSealedSnapshot } from '../../../src/checkpoint/snapshot-file.ts';
import { sha256 } from '../../../src/checkpoint/snapshot.ts';
import { entriesOf } from '../../../src/extensions/durable-log.ts';
import { createNodeHost, flushInheritedOutput } from '../../../src/host/node/index.ts';
import { emptyManifest, type Manifest } from '../../../src/monitor/manifest/manifest.ts';
import { compileModule } from '../../../src/runtime/module-cache.ts';
import { loadReactor, ReactorExit } from '../../../src/runtime/reactor.ts';
import { rubyInit, rubyModulePath } from './ruby-reactor.ts';

const [mode, dir, a, b] = process.argv.slice(2);
const ARGV = ['ruby', '-EUTF-8', '-r/w/script.rb', '-e_=0'];
const bytes = new Uint8Array(await readFile(rubyModulePath));
const moduleSha = sha256(bytes);
const manifest: Manifest = { ...emptyManifest(), mounts: [{ host: dir!, guest: '/w', mode: 'rw' }] };

let setup: DurableSetup;
if (mode === 'run') setup = setUpDurable(a!, moduleSha, undefined);
else {
  const file = a!;
  const cp = decodeLogCheckpoint(readSealedSnapshot(file).bytes, file);
  const log = checkpointLog(cp, file, moduleSha);
  setup = setUpDurable(b!, moduleSha, undefined, { log: cp.log, entries: entriesOf(cp.log, log.validBytes), memorySha256: cp.meta.memorySha256 });
}
const module = await compileModule(bytes, 'ruby+stdlib.wasm');
let code = 0;
try {
  const reactor = await loadReactor({
    host: createNodeHost(),
    module,
    args: ['ruby'],
    manifest,
    stdin: 'inherit',
    stdout: 'inherit',
    stderr: 'inherit',
    wrapDk: setup.wrap(),
    onMemory: setup.memory.onMemory,
  });
  const start = checkpointStart({ name: 'ruby+stdlib.wasm', size: bytes.length, sha256: moduleSha }, ['ruby'], manifest, [], [], []);
  serveLogControl(setup, start, bytes, { kill: (c) => reactor.close(c) }, () => measureWith(moduleSha, manifest));
  await rubyInit(reactor, ARGV);
} catch (e) {
  if (!(e instanceof ReactorExit)) throw e;
  if (e.status.error) process.stderr.write(`ruby-durable: ${e.status.error}\n`);
  code = e.status.exitCode;
} finally {
  setup.file.close();
}
flushInheritedOutput();
process.exit(code);
