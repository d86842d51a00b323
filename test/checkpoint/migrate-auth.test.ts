// Attacks on `drawbridge receive` and `drawbridge migrate`, run against the CLI on loopback:
// a push without the token (from this process, and from a guest granted only a loopback
// connect), a wrong token, an endless first line, a migration to a port where nothing
// listens (the program must go on running), and a wrong certificate pin.
import { after } from 'node:test';
import { testNeedingBinaryen as test, beforeNeedingBinaryen as before } from '../support/toolchain.ts';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSnapshot } from '../../src/checkpoint/snapshot.ts';
import { readSealedSnapshot } from '../../src/checkpoint/snapshot-file.ts';
import { collect } from '../support/child-output.ts';
import { pushSnapshot, withPeer } from './migration-peer.ts';

const BIN = 'bin/drawbridge.js';
const COUNTER = 'build/guests/checkpoint/counter.wasm';
const CLIENT = 'build/guests/net/client.wasm';
const children: ChildProcessWithoutNullStreams[] = [];
const work = mkdtempSync(join(tmpdir(), 'db-mig-auth-'));
/** The counters' /data, the same folder on the source and the target (as shared storage would be). */
const DATA = mkdtempSync(join(work, 'data-'));

function drawbridge(args: string[]) {
  const c = spawn(process.execPath, [BIN, ...args]);
  children.push(c);
  return { child: c, out: collect(c, 'stdout'), err: collect(c, 'stderr') };
}

/** A command run to its end, without blocking the event loop (other children keep being read). */
function finish(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const c = drawbridge(args);
  return new Promise((r) => c.child.on('close', (status) => r({ status, stdout: c.out.text(), stderr: c.err.text() })));
}

/**
 * `drawbridge receive` with a token file it makes, granting the counters' /data (a snapshot
 * grants nothing); its port, token and (with --tls) pin.
 */
async function startReceive(extra: string[] = []) {
  const tokenFile = join(mkdtempSync(join(work, 'tok-')), 'token');
  const rx = drawbridge(['receive', '--listen', '127.0.0.1:0', '--token-file', tokenFile, '--dir', `${DATA}::/data`, ...extra]);
  const port = Number((await rx.out.waitFor(/listening on 127\.0\.0\.1:(\d+)/, 'receive to listen', 20_000))[1]);
  const pin = /tls certificate sha256 ([0-9A-F:]+)/.exec(rx.out.text())?.[1];
  assert.equal(statSync(tokenFile).mode & 0o777, 0o600, 'the token file is 0600');
  return { ...rx, port, tokenFile, token: readFileSync(tokenFile, 'utf8').trim(), pin };
}

/** A running counter (150 steps of 20 ms) whose output has reached step 3. */
async function startCounter() {
  const src = drawbridge(['run', '--dir', `${DATA}::/data`, COUNTER, '150', '20']);
  await src.out.waitFor(/step 3 /);
  return src;
}

let snapshotBytes: Uint8Array;
let rx: Awaited<ReturnType<typeof startReceive>>;

before(async () => {
  // A real snapshot of a running program: what an attacker would push to run its code.
  const src = await startCounter();
  const file = join(work, 'counter.snap');
  const c = spawnSync(process.execPath, [BIN, 'checkpoint', String(src.child.pid), '-o', file], { encoding: 'utf8' });
  assert.equal(c.status, 0, c.stderr);
  // The file is sealed with this host's key: push the snapshot inside it.
  snapshotBytes = readSealedSnapshot(file).bytes;
  rx = await startReceive();
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill();
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.on('close', r)) : null)));
});

const accepted = (lines: string[]) => lines.some((l) => /needModule|"ok":true/.test(l));

test('a push without the token, or with a wrong one, is refused before any snapshot byte is read', async () => {
  const anonymous = await pushSnapshot(rx.port, snapshotBytes, null);
  assert.ok(!accepted(anonymous.lines), `anonymous push answered ${anonymous.lines.join(' | ')}`);
  const wrong = await pushSnapshot(rx.port, snapshotBytes, { op: 'hello', token: 'f'.repeat(64) });
  assert.ok(!accepted(wrong.lines), `wrong token answered ${wrong.lines.join(' | ')}`);
  assert.match(wrong.lines[0] ?? '', /"ok":false.*wrong token/);
  // One line each on the receiver's stderr, naming the token.
  await rx.err.waitFor(/refused 127\.0\.0\.1:\d+: [^\n]*token[^\n]*\n[^]*refused 127\.0\.0\.1:\d+: wrong token\n/, 'two refusals');
});

test('a guest granted only a loopback connect cannot push an offer', async () => {
  const snap = decodeSnapshot(snapshotBytes);
  const pageHashes: Record<string, string> = {};
  for (const [p, page] of snap.pages) pageHashes[p] = createHash('sha256').update(page).digest('hex');
  const offer = JSON.stringify({ op: 'offer', meta: snap.meta, pageHashes }) + '\n';
  const guest = await finish(['run', '--connect', `127.0.0.1:${rx.port}`, CLIENT, 'talk', '127.0.0.1', String(rx.port), offer]);
  assert.equal(guest.status, 0, guest.stdout + guest.stderr);
  const reply = /^reply: (.*)$/m.exec(guest.stdout)?.[1] ?? '';
  assert.doesNotMatch(reply, /needModule|"ok":true/);
  assert.match(reply, /"ok":false.*token/);
});

test('a first line without a newline is cut off at its bound, and the receiver goes on serving', async () => {
  const flood = await withPeer(rx.port, async (socket) => {
    const chunk = Buffer.alloc(1 << 20, 0x78);
    for (let i = 0; i < 16 && !socket.destroyed; i++) if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r).once('close', r));
    if (!socket.destroyed) socket.end();
  });
  assert.ok(!accepted(flood.lines));
  await rx.err.waitFor(/refused 127\.0\.0\.1:\d+: no token \(the first line is longer than \d+ bytes\)\n/, 'the cut-off line');
  // The token holder's push of the very same snapshot is accepted and runs.
  const good = await pushSnapshot(rx.port, snapshotBytes, { op: 'hello', token: rx.token });
  assert.equal(good.lines.at(-1), '{"ok":true}', good.lines.join(' | '));
  await rx.out.waitFor(/done sum 1113775\n/, 'the pushed program to finish');
  assert.equal(rx.err.text().match(/received \d+ of/g)?.length, 1, `only the token holder's push ran: ${rx.err.text()}`);
});

test('migrate to a port where nothing listens fails before the checkpoint: the program goes on', async () => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as { port: number }).port;
  await new Promise((r) => closed.close(r));
  const src = await startCounter();
  const m = await finish(['migrate', String(src.child.pid), '--to', `127.0.0.1:${port}`, '--token-file', rx.tokenFile]);
  assert.equal(m.status, 1, m.stderr);
  assert.match(m.stderr, /^drawbridge migrate: cannot connect to 127\.0\.0\.1:\d+: [^\n]*; it goes on running here\n$/);
  // It still answers: a checkpoint that leaves it running succeeds, and it runs to its end.
  const c = await finish(['checkpoint', String(src.child.pid), '-o', join(work, 'still.snap'), '--leave-running']);
  assert.equal(c.status, 0, c.stderr);
  const code = await new Promise((r) => src.child.on('close', r));
  assert.equal(code, 1113775 % 7);
  assert.match(src.out.text(), /step 149 [^]*done sum 1113775\n/);
});

test('receive --tls: migrate refuses a certificate that does not match --pin, and accepts the pinned one', async () => {
  const tls = await startReceive(['--tls']);
  assert.ok(tls.pin, `receive printed no fingerprint: ${tls.out.text()}`);
  const src = await startCounter();
  const wrongPin = createHash('sha256').update('another certificate').digest('hex');
  const bad = await finish(['migrate', String(src.child.pid), '--to', `127.0.0.1:${tls.port}`, '--token-file', tls.tokenFile, '--pin', wrongPin]);
  assert.equal(bad.status, 1, bad.stderr);
  assert.match(bad.stderr, /^drawbridge migrate: [^\n]*does not match --pin[^\n]*; it goes on running here\n$/);
  // Without TLS (no --pin), the token is not sent to a TLS receiver in the clear: it fails too.
  const plain = await finish(['migrate', String(src.child.pid), '--to', `127.0.0.1:${tls.port}`, '--token-file', tls.tokenFile]);
  assert.equal(plain.status, 1, plain.stderr);
  // With the pinned certificate it moves.
  const good = await finish(['migrate', String(src.child.pid), '--to', `127.0.0.1:${tls.port}`, '--token-file', tls.tokenFile, '--pin', tls.pin!]);
  assert.equal(good.status, 0, good.stderr);
  assert.match(good.stdout, /sent \d+ of \d+ pages/);
  await tls.out.waitFor(/done sum 1113775\n/, 'the migrated program to finish');
});

test('migrate beyond loopback needs --pin; receive needs a token of its own to start', async () => {
  const r = await finish(['migrate', '1', '--to', '192.0.2.1:7700', '--token-file', rx.tokenFile]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^drawbridge migrate: --pin SHA256 is required beyond loopback[^\n]*\n$/);
  const noToken = await finish(['migrate', '1', '--to', '127.0.0.1:7700']);
  assert.equal(noToken.status, 2);
  assert.match(noToken.stderr, /^drawbridge migrate: [^\n]*token[^\n]*\n$/);
});
