// Diagnostic: run a Ruby file inside drawbridge. Usage:
//   node test/real/programs/ruby-run.ts HOSTDIR GUESTDIR SCRIPT_GUEST_PATH
import { readFileSync } from 'node:fs';
import { createNodeHost } from '../../../src/host/node/index.ts';
import { emptyManifest } from '../../../src/monitor/manifest/manifest.ts';
import { compileModule } from '../../../src/runtime/module-cache.ts';
import { loadReactor, ReactorExit } from '../../../src/runtime/reactor.ts';
import { rubyInit, rubyModulePath } from './ruby-reactor.ts';

const [hostDir, guestDir, script] = process.argv.slice(2);
if (!hostDir || !guestDir || !script) throw new Error('usage: ruby-run.ts HOSTDIR GUESTDIR SCRIPT');
let t = performance.now();
const module = await compileModule(readFileSync(rubyModulePath), 'ruby+stdlib.wasm');
console.error('compiled', Math.round(performance.now() - t), 'ms');
t = performance.now();
const reactor = await loadReactor({
  host: createNodeHost(),
  module,
  args: ['ruby'],
  manifest: { ...emptyManifest(), mounts: [{ host: hostDir, guest: guestDir, mode: 'rw' }] },
});
console.error('initialized', Math.round(performance.now() - t), 'ms');
t = performance.now();
try {
  await rubyInit(reactor, ['ruby', '-EUTF-8', `-r${script}`, '-e_=0']);
  console.error('ruby-init returned', Math.round(performance.now() - t), 'ms');
} catch (e) {
  if (!(e instanceof ReactorExit)) throw e;
  console.error('ruby exited', e.status, Math.round(performance.now() - t), 'ms');
}
reactor.close();
