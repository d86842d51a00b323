// Third-party extensions: a module file in a temporary folder and an installed package, loaded
// by path and by name, stacked with built-ins; the manifest's [[extensions]] from the CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadExtensions, resolveExtension } from '../../src/runtime/extensions.ts';
import { ExtensionError } from '../../src/extensions/api.ts';
import { extGuest, memoryExtensionHost, runWith } from '../support/ext-support.ts';

let dir = '';
const FROZEN = 1234567890123456789n;

// A plain-JavaScript extension, as a third party writes it without drawbridge's sources: it
// freezes the realtime clock at options.at and counts the calls it saw.
const FREEZE = `
export default function freeze(lower, options, host) {
  const at = BigInt(options.at ?? '0');
  const out = host.output(options.file);
  let calls = 0;
  const dk = {};
  for (const name of Object.keys(lower)) dk[name] = (...args) => (calls++, lower[name](...args));
  dk.systemTimeQuery = (clock) => (calls++, clock === 0 ? at : lower.systemTimeQuery(clock));
  return { dk, close: () => out.write('freeze saw ' + calls + ' calls\\n') };
}
`;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'db-3p-'));
  writeFileSync(join(dir, 'freeze.mjs'), FREEZE);
  const pkg = join(dir, 'node_modules', 'drawbridge-ext-freeze');
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'drawbridge-ext-freeze', version: '1.0.0', type: 'module', main: 'index.js' }));
  writeFileSync(join(pkg, 'index.js'), FREEZE.replace('export default function freeze', 'export function createExtension'));
  writeFileSync(join(dir, 'nothing.mjs'), 'export const x = 1;\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

const wallOf = (stdout: string) => /wall=(\d+)/.exec(stdout)![1];

test('a third-party extension loads from a file path in a temporary folder', async () => {
  const host = memoryExtensionHost();
  const r = await runWith(extGuest('inputs'), ['inputs'], {
    exts: [{ name: join(dir, 'freeze.mjs'), options: { at: String(FROZEN), file: 'f.txt' } }],
    host,
    stdin: Buffer.from('x'),
  });
  assert.equal(wallOf(r.stdout), String(FROZEN));
  assert.match(host.written.get('f.txt')!, /^freeze saw \d+ calls\n$/);
});

test("a third-party extension loads by package name (from the working directory's node_modules) and stacks with built-ins", async () => {
  const factory = await resolveExtension('drawbridge-ext-freeze', dir);
  assert.equal(typeof factory, 'function');
  const host = memoryExtensionHost();
  const stack = await loadExtensions(
    [
      { name: 'trace', options: { filter: 'DkSystemTimeQuery' } },
      { name: 'drawbridge-ext-freeze', options: { at: '7' } },
    ],
    { cwd: dir, host },
  );
  const r = await runWith(extGuest('inputs'), ['inputs'], { stack, host });
  assert.equal(wallOf(r.stdout), '7');
  // Trace sits above freeze: it sees the frozen time.
  assert.match(host.written.get('')!, /^1 DkSystemTimeQuery\(clock=REALTIME\) = 7 </);
  assert.deepEqual(
    stack.instances.map((i) => i.name),
    ['trace', 'drawbridge-ext-freeze'],
  );
});

test('a bad name or a module without a factory is refused with a clear message', async () => {
  await assert.rejects(
    resolveExtension('no-such-extension-pkg', dir),
    (e: unknown) =>
      e instanceof ExtensionError && /cannot load extension "no-such-extension-pkg" \(built-in ones: trace, remap, record, replay/.test(e.message),
  );
  await assert.rejects(resolveExtension('./nothing.mjs', dir), /exports no factory/);
  await assert.rejects(resolveExtension('./missing.mjs', dir), /cannot load extension "\.\/missing\.mjs"/);
});

test("the CLI stacks the manifest's [[extensions]] and --ext ones (a third-party module among them)", () => {
  const manifest = join(dir, 'app.toml');
  writeFileSync(manifest, `[[extensions]]\nname = "${join(dir, 'freeze.mjs')}"\noptions = { at = "42" }\n`);
  const trace = join(dir, 'trace.txt');
  const r = spawnSync(
    process.execPath,
    ['bin/drawbridge.js', 'run', '--manifest', manifest, '--ext', `trace:file=${trace},filter=DkRandomBitsRead`, extGuest('inputs')],
    { encoding: 'utf8', input: '' },
  );
  assert.equal(r.status, 1, r.stderr);
  assert.equal(wallOf(r.stdout), '42');
  assert.match(readFileSync(trace, 'utf8'), /^1 DkRandomBitsRead\(buffer="[^\n]*"\[16\]\) = 16 <[^>]+>\n$/);
  const bad = spawnSync(process.execPath, ['bin/drawbridge.js', 'run', '--ext', 'trace:colour=red', extGuest('inputs')], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /drawbridge run: trace: unknown option "colour"/);
});
