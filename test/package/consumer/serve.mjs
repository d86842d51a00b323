// A consumer of the installed package's serve client (test/package/pack.test.ts): drives the
// daemon whose connection file it is given and prints what it saw as one JSON line.
//   node serve.mjs CONNECTION.json GUEST.wasm
import { ServeClient, ServeError } from 'drawbridge-host';

const [connection, guest] = process.argv.slice(2);
const text = (bytes) => new TextDecoder().decode(bytes);
const daemon = new ServeClient({ daemon: connection });
const seen = {};

const done = await daemon.spawn({ module: guest, args: ['a'], env: { GREETING: 'hi' }, stdin: 'one\n', closeStdin: true });
seen.waited = (await daemon.wait(done.id)).exitCode;
seen.logs = text(await daemon.logs(done.id));
seen.stderr = text(await daemon.logs(done.id, 'stderr'));
seen.listed = (await daemon.list()).some((p) => p.id === done.id);
let followed = '';
await daemon.follow(done.id, (chunk) => (followed += text(chunk)));
seen.followed = followed;
seen.got = (await daemon.get(done.id)).reason;
await daemon.remove(done.id);
seen.removed = !(await daemon.list()).some((p) => p.id === done.id);

// One that waits for stdin: checkpointed once it answered a line, restored in the daemon, fed again.
const open = await daemon.spawn({ module: guest });
await daemon.writeStdin(open.id, 'one\n');
while (!text(await daemon.logs(open.id)).includes('1 ONE\n')) await new Promise((r) => setTimeout(r, 20));
const snapshot = await daemon.checkpoint(open.id);
seen.checkpointedState = (await daemon.wait(open.id)).state;
const again = await daemon.restore(snapshot);
await daemon.writeStdin(again.id, 'two\n', true);
seen.restored = { exitCode: (await daemon.wait(again.id)).exitCode, stdout: text(await daemon.logs(again.id)) };

const killed = await daemon.spawn({ module: guest });
await daemon.kill(killed.id);
seen.killed = (await daemon.wait(killed.id)).exitCode;

try {
  await daemon.get(999999);
  seen.unknown = null;
} catch (e) {
  seen.unknown = { isServeError: e instanceof ServeError, status: e.status };
}
console.log(JSON.stringify(seen));
