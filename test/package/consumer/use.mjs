// A consumer of the installed package (test/package/pack.test.ts copies it into a scratch
// project): runs a guest through the public API and prints what it saw as one JSON line.
//   node use.mjs run GUEST.wasm          run to completion, errors, what can be imported
//   node use.mjs checkpoint GUEST.wasm   start, a line in and out, checkpoint (also to count.snap), restore
import { writeFileSync } from 'node:fs';
import { run, start, restore, DrawbridgeError } from 'drawbridge-host';

const [mode, guest] = process.argv.slice(2);
const text = (bytes) => new TextDecoder().decode(bytes);
const failure = async (fn) => {
  try {
    await fn();
    return null;
  } catch (e) {
    return { isDrawbridgeError: e instanceof DrawbridgeError, code: e.code, message: e.message };
  }
};
const seen = {};

if (mode === 'run') {
  const ran = await run({ module: guest, args: ['lines', 'a', 'b'], env: { GREETING: 'hi' }, stdin: 'x\ny\n' });
  seen.run = { exitCode: ran.exitCode, stdout: text(ran.stdout), stderr: text(ran.stderr) };
  seen.missing = await failure(() => run({ module: 'missing.wasm' }));
  // Only what `exports` names can be imported.
  try {
    await import('drawbridge-host/dist/runtime/run.js');
    seen.deepImport = 'imported';
  } catch (e) {
    seen.deepImport = e.code;
  }
  seen.packageJson = (await import('drawbridge-host/package.json', { with: { type: 'json' } })).default.name;
}

if (mode === 'checkpoint') {
  // A line written, its answer read, then a checkpoint (it stops) and a restore that counts on.
  const first = await start({ module: guest, args: ['lines'] });
  first.stdout.setEncoding('utf8');
  let before = '';
  const answered = new Promise((resolve) =>
    first.stdout.on('data', (chunk) => {
      before += chunk;
      if (before.includes('1 ONE\n')) resolve();
    }),
  );
  await first.writeStdin('one\n');
  await answered;
  const snapshot = await first.checkpoint();
  seen.checkpointed = await first.wait();
  seen.before = before;
  seen.sealed = text(snapshot.subarray(0, 8));
  // For `drawbridge restore` (the test runs it).
  writeFileSync('count.snap', snapshot);
  const second = await restore({ snapshot, stdin: 'two\n' });
  let after = '';
  second.stdout.setEncoding('utf8');
  second.stdout.on('data', (chunk) => (after += chunk));
  await new Promise((resolve) => second.stdout.on('end', resolve));
  seen.restored = { ...(await second.wait()), stdout: after };
  // A restore under other grants than the snapshot ran with is refused in one line.
  seen.refused = await failure(() => restore({ snapshot, env: { EXTRA: '1' } }));
}

console.log(JSON.stringify(seen));
