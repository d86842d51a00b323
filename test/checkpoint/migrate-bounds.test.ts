// The bounds of the migration wire (src/checkpoint/migrate.ts), each pushed past by a peer that
// holds the token, against a target with small limits: the offer line, the module size, the
// page count, the total bytes, the wait for the hello and for the offer, and pages nobody asked
// for. Each is closed with one line logged, and the target goes on accepting migrations.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:net';
import { connectMigration, PageStore, receiveMigrations, type MigrationLimits } from '../../src/checkpoint/migrate.ts';
import { encodeSnapshot, decodeSnapshot, sha256, type SnapshotMeta, type Snapshot } from '../../src/checkpoint/snapshot.ts';
import { pushSnapshot, withPeer } from './migration-peer.ts';

const TOKEN = 'b'.repeat(64);
const HELLO = JSON.stringify({ op: 'hello', token: TOKEN }) + '\n';
const PAGE = 65536;
const LIMITS: Partial<MigrationLimits> = {
  offerLine: 64 * 1024,
  moduleBytes: 4096,
  pages: 8,
  totalBytes: 6 * (PAGE + 4) + 64 * 1024,
  helloMs: 300,
  offerMs: 300,
};

let made = 0;

/**
 * A snapshot of `pages` pages, each non-zero, with a small module (the target only hashes
 * it); pages and module differ from every other snapshot made here, so the target holds none.
 */
function snapshotOf(pages: number, moduleSize = 1000): Uint8Array {
  const seed = ++made;
  const module = new Uint8Array(moduleSize).map((_, i) => (i + seed) & 0xff);
  const memory = new Uint8Array(pages * PAGE);
  for (let p = 0; p < pages; p++) {
    memory[p * PAGE] = seed;
    memory[p * PAGE + 7] = p + 1;
  }
  const meta = {
    format: 'drawbridge-snapshot',
    version: 4,
    created: new Date(0).toISOString(),
    module: { sha256: sha256(module), size: module.length, name: 'm.wasm' },
    args: [],
    env: {},
    mounts: [],
    globals: [],
  } as unknown as Omit<SnapshotMeta, 'memory'>;
  return encodeSnapshot(meta, memory, module);
}

const logs: string[] = [];
const received: Snapshot[] = [];
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
    onSnapshot: (s) => received.push(s),
  });
  port = (server.address() as { port: number }).port;
});
after(() => server.close());

/** Exactly one line was logged with this message, naming the peer. */
function loggedOnce(re: RegExp): void {
  const hits = logs.filter((l) => re.test(l));
  assert.equal(hits.length, 1, `expected one log line matching ${re}; got: ${logs.join(' | ')}`);
  assert.match(hits[0]!, /^(closed|refused) 127\.0\.0\.1:\d+: /);
}

/** After the hello, send `rest` and return the target's lines. */
async function afterHello(rest: (write: (b: string | Uint8Array) => void) => void) {
  return withPeer(port, async (socket, next) => {
    socket.write(HELLO);
    assert.equal(await next(), '{"ok":true}');
    rest((b) => socket.write(b));
  });
}

const refused = (lines: string[], re: RegExp) => assert.match(lines.at(-1) ?? '', new RegExp(`"ok":false.*${re.source}`));

test('an offer line past its bound is cut off', async () => {
  const r = await afterHello((w) => w('x'.repeat(200 * 1024)));
  refused(r.lines, /the offer is longer than 65536 bytes/);
  loggedOnce(/the offer is longer than 65536 bytes/);
});

test('a module past its bound is refused before any of it is read', async () => {
  const snap = decodeSnapshot(snapshotOf(1, 5000));
  const pageHashes = Object.fromEntries([...snap.pages].map(([p, b]) => [p, sha256(b)]));
  const r = await afterHello((w) => w(JSON.stringify({ op: 'offer', meta: snap.meta, pageHashes }) + '\n'));
  refused(r.lines, /module's size is not between 1 and 4096 bytes/);
  loggedOnce(/module's size is not between/);
});

test('an offer of more pages than its bound is refused', async () => {
  const snap = decodeSnapshot(snapshotOf(9));
  const pageHashes = Object.fromEntries([...snap.pages].map(([p, b]) => [p, sha256(b)]));
  const r = await afterHello((w) => w(JSON.stringify({ op: 'offer', meta: snap.meta, pageHashes }) + '\n'));
  refused(r.lines, /more than 8 pages/);
  loggedOnce(/more than 8 pages/);
});

test('a connection past its total bytes is cut off', async () => {
  // 8 pages are within the page bound, but not within the total bytes.
  const r = await pushSnapshot(port, snapshotOf(8), { op: 'hello', token: TOKEN });
  refused(r.lines, /the peer sent more than \d+ bytes/);
  loggedOnce(/the peer sent more than \d+ bytes/);
});

test('pages that were not asked for are refused', async () => {
  const snap = decodeSnapshot(snapshotOf(2));
  const pageHashes = Object.fromEntries([...snap.pages].map(([p, b]) => [p, sha256(b)]));
  const r = await withPeer(port, async (socket, next) => {
    socket.write(HELLO);
    await next();
    socket.write(JSON.stringify({ op: 'offer', meta: snap.meta, pageHashes }) + '\n');
    const need = JSON.parse((await next())!) as { needPages: number[] };
    assert.deepEqual(need.needPages, [0, 1]);
    socket.write(JSON.stringify({ module: 1000, pages: 2 }) + '\n');
    socket.write(snap.module!);
    const idx = Buffer.alloc(4);
    idx.writeUInt32LE(0);
    for (let i = 0; i < 2; i++) socket.write(Buffer.concat([idx, snap.pages.get(0)!]));
  });
  refused(r.lines, /page 0 was not asked for/);
  loggedOnce(/page 0 was not asked for/);
});

test('a peer that says nothing is cut off: before the hello, and after it', async () => {
  const silent = await withPeer(port, async () => {});
  refused(silent.lines, /no token \(no hello within 0.3 s\)/);
  loggedOnce(/refused .*no token \(no hello within 0.3 s\)/);
  const idle = await afterHello(() => {});
  refused(idle.lines, /no data for 0.3 s/);
  loggedOnce(/no data for 0.3 s/);
});

test('after all of that, a token holder still migrates', async () => {
  const bytes = snapshotOf(4);
  const link = await connectMigration({ host: '127.0.0.1', port, token: TOKEN });
  const stats = await link.send(bytes);
  assert.deepEqual(stats, { sentPages: 4, totalPages: 4, moduleSent: true });
  const last = received.at(-1)!;
  assert.deepEqual([...last.pages.keys()].sort(), [0, 1, 2, 3]);
  assert.equal(last.pages.get(3)![7], 4);
  // A wrong token is refused by the same code path migrate uses.
  await assert.rejects(connectMigration({ host: '127.0.0.1', port, token: 'c'.repeat(64) }), /refused the migration: wrong token/);
});
