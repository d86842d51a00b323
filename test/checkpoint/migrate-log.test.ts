// The log-mode half of the migration wire (src/checkpoint/migrate-log.ts), pushed on by a peer
// that holds the token, against a target with small limits: a log past its bound, a module that
// is not the one named, META with fields missing or of the wrong type (fast-check: whatever META
// a peer sends, the target either takes a checkpoint it could restore or refuses in one line),
// and a receiver that takes no log checkpoints. The target goes on accepting migrations.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:net';
import fc from 'fast-check';
import { decodeLogCheckpoint, encodeLogCheckpoint, type LogCheckpoint, type LogCheckpointMeta } from '../../src/checkpoint/log-checkpoint.ts';
import { connectMigration, PageStore, receiveMigrations, type MigrationLimits } from '../../src/checkpoint/migrate.ts';
import { sha256 } from '../../src/checkpoint/snapshot.ts';
import { withPeer } from './migration-peer.ts';

const TOKEN = 'd'.repeat(64);
const HELLO = JSON.stringify({ op: 'hello', token: TOKEN }) + '\n';
const LIMITS: Partial<MigrationLimits> = { offerLine: 64 * 1024, moduleBytes: 4096, logBytes: 8192, helloMs: 2000, offerMs: 2000, idleMs: 2000 };

let made = 0;

/** A log checkpoint with a small module of its own (the wire checks its hash, not what it is) and `logBytes` of log. */
function checkpointOf(logBytes = 100, moduleSize = 1000): LogCheckpoint {
  const seed = ++made;
  const module = new Uint8Array(moduleSize).map((_, i) => (i * 7 + seed) & 0xff);
  const meta: LogCheckpointMeta = {
    format: 'drawbridge-log-checkpoint',
    version: 1,
    mode: 'log',
    created: new Date(0).toISOString(),
    module: { sha256: sha256(module), size: module.length, name: `m${seed}.wasm` },
    args: ['m.wasm', 'x'],
    env: { A: 'b' },
    preopens: [],
    listenSockets: [],
    mounts: [{ guest: '/data', mode: 'ro' }],
    network: { connect: [], listen: [] },
    extensions: [],
    calls: 3,
    memorySha256: 'e'.repeat(64),
    memoryBytes: 65536,
  };
  return { meta, module, log: new Uint8Array(logBytes).fill(seed & 0xff) };
}

const logs: string[] = [];
const received: LogCheckpoint[] = [];
let server: Server;
let port: number;

before(async () => {
  server = await receiveMigrations({
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    store: new PageStore(),
    limits: LIMITS,
    log: (l) => logs.push(l),
    onSnapshot: () => assert.fail('a log checkpoint arrived as a snapshot'),
    onLogCheckpoint: (c) => received.push(c),
  });
  port = (server.address() as { port: number }).port;
});
after(() => server.close());

const refused = (lines: string[], re: RegExp) => assert.match(lines.at(-1) ?? '', new RegExp(`"ok":false.*${re.source}`));

/** Offer `meta` and, when asked, send `module` and `log` as the protocol carries them; the target's lines. */
function push(meta: unknown, module: Uint8Array, log: Uint8Array, logBytes: unknown = log.length) {
  return withPeer(port, async (socket, next) => {
    socket.write(HELLO);
    assert.equal(await next(), '{"ok":true}');
    socket.write(JSON.stringify({ op: 'offer-log', meta, logBytes }) + '\n');
    const need = await next();
    if (need === null || !need.startsWith('{"needModule"')) return;
    const needModule = (JSON.parse(need) as { needModule: boolean }).needModule;
    socket.write(JSON.stringify({ module: needModule ? module.length : 0, log: log.length }) + '\n');
    if (needModule) socket.write(module);
    socket.write(log);
  });
}

test("a log checkpoint goes through migrate's own link; the module is sent once, not for the next checkpoint of it", async () => {
  const cp = checkpointOf();
  const link = await connectMigration({ host: '127.0.0.1', port, token: TOKEN });
  assert.deepEqual(await link.sendLog(encodeLogCheckpoint(cp)), { logBytes: 100, calls: 3, moduleSent: true });
  const got = received.at(-1)!;
  assert.deepEqual(got.meta, cp.meta);
  assert.deepEqual(Buffer.from(got.module), Buffer.from(cp.module));
  assert.deepEqual(Buffer.from(got.log), Buffer.from(cp.log));
  const again = await connectMigration({ host: '127.0.0.1', port, token: TOKEN });
  assert.deepEqual(await again.sendLog(encodeLogCheckpoint({ ...cp, log: new Uint8Array(50).fill(9) })), { logBytes: 50, calls: 3, moduleSent: false });
  assert.equal(received.at(-1)!.log.length, 50);
});

test('a log past its bound is refused before any of it is read', async () => {
  const cp = checkpointOf(9000);
  const r = await push(cp.meta, cp.module, cp.log);
  refused(r.lines, /the log's size is not between 1 and 8192 bytes/);
  assert.equal(r.lines.length, 2, 'nothing was asked for');
  for (const bad of [0, -1, 1.5, '100', null]) refused((await push(cp.meta, cp.module, cp.log, bad)).lines, /the log's size is not between/);
});

test('a module that is not the one META names is refused, and not kept', async () => {
  const cp = checkpointOf();
  const other = cp.module.map((b) => b ^ 1);
  refused((await push(cp.meta, other, cp.log)).lines, /the module sent does not match its hash/);
  // The right module is still asked for afterwards: the wrong one was not stored under its name.
  const r = await push(cp.meta, cp.module, cp.log);
  assert.equal(r.lines[1], '{"needModule":true}');
  assert.equal(r.lines.at(-1), '{"ok":true}');
});

test('whatever META a peer sends, the target takes a checkpoint a restore reads, or refuses in one line (fast-check)', async () => {
  const cp = checkpointOf();
  const fields = Object.keys(cp.meta) as (keyof LogCheckpointMeta)[];
  const mutation = fc.record({
    drop: fc.subarray(fields, { maxLength: 3 }),
    set: fc.dictionary(fc.constantFrom(...fields), fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined)), { maxKeys: 2 }),
  });
  await fc.assert(
    fc.asyncProperty(mutation, async ({ drop, set }) => {
      const meta: Record<string, unknown> = { ...cp.meta, ...set };
      for (const f of drop) delete meta[f];
      const before = received.length;
      const r = await push(meta, cp.module, cp.log);
      const last = r.lines.at(-1) ?? '';
      if (last === '{"ok":true}') {
        // Taken: then it is what a restore would read from a file.
        assert.equal(received.length, before + 1);
        const c = received.at(-1)!;
        decodeLogCheckpoint(encodeLogCheckpoint(c), 'taken');
      } else {
        assert.match(last, /^\{"ok":false,"error":"[^\n]+"\}$/);
        assert.equal(received.length, before);
        assert.doesNotMatch(last, /internal error/);
      }
    }),
    { numRuns: 60 },
  );
});

test('a receiver that takes no log checkpoints refuses one in one line', async () => {
  const plain = await receiveMigrations({ host: '127.0.0.1', port: 0, token: TOKEN, store: new PageStore(), log: () => {}, onSnapshot: () => {} });
  try {
    const link = await connectMigration({ host: '127.0.0.1', port: (plain.address() as { port: number }).port, token: TOKEN });
    await assert.rejects(link.sendLog(encodeLogCheckpoint(checkpointOf())), /the target refused: this receiver does not take programs in log mode/);
  } finally {
    plain.close();
  }
});
