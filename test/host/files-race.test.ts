// The race between a path's check and its use, attacked as finding 4 of issue 15 did, on the
// node host through the monitor: while /data/D is swapped with a symbolic link to a folder
// outside the mount, a guest opens, reads, creates and lists through /data/D in a loop. Nothing
// outside may be read, opened or created. Two attackers, about 10 s each:
// 1. the host's own renameat2(RENAME_EXCHANGE) in a native helper (race/rename-exchange.c,
//    built here with clang), the fastest swap there is;
// 2. a second guest on the same mount (race/renamer.ts, in a worker thread), with only rename.
// The "guest" is the monitored Dk a library OS would call: the calls and their order are the
// guest's, without a Wasm module in between.

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clangMissing } from '../support/toolchain.ts';
import { Worker } from 'node:worker_threads';
import { Access, Create, type Dk } from '../../src/abi/dk.ts';
import { isDkError } from '../../src/abi/errors.ts';
import { buildManifest } from '../../src/monitor/manifest/parse.ts';
import { createMonitor, policyFromManifest } from '../../src/monitor/monitor.ts';
import { createNodeHost } from '../../src/host/node/index.ts';

const RACE_MS = 10_000;
/** Upper bound on victim rounds, whatever the clock says. */
const MAX_ROUNDS = 2_000_000;
const SECRET = 'OUTSIDE-SECRET';

interface Tree {
  root: string;
  mount: string;
  outside: string;
  secretIno: bigint;
}

/** root/data (the mount) with D/f inside, L a link to root/outside, which holds the secret f. */
function makeTree(linkTarget: (root: string) => string): Tree {
  const root = mkdtempSync(join(tmpdir(), 'drawbridge-race-'));
  const mount = join(root, 'data');
  const outside = join(root, 'outside');
  mkdirSync(join(mount, 'D'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(mount, 'D', 'f'), 'inside');
  writeFileSync(join(outside, 'f'), SECRET);
  writeFileSync(join(outside, 'outside-only'), SECRET);
  symlinkSync(linkTarget(root), join(mount, 'L'));
  return { root, mount, outside, secretIno: statSync(join(outside, 'f'), { bigint: true }).ino };
}

function guest(mount: string): Dk {
  const m = buildManifest({ mounts: [{ host: mount, guest: '/data', mode: 'rw' }] });
  assert.ok(m.ok);
  return createMonitor(createNodeHost().createProcess().dk, policyFromManifest(m.manifest));
}

interface Tally {
  rounds: number;
  insideReads: number;
  outsideReads: number;
  outsideOpens: number;
  outsideListings: number;
}

/** The victim: opens, reads, creates and lists through /data/D for RACE_MS (it blocks its thread). */
function victim(dk: Dk, tree: Tree): Tally {
  const t: Tally = { rounds: 0, insideReads: 0, outsideReads: 0, outsideOpens: 0, outsideListings: 0 };
  const buf = new Uint8Array(64);
  const dec = new TextDecoder();
  const end = Date.now() + RACE_MS;
  for (let i = 0; i < MAX_ROUNDS && Date.now() < end; i++) {
    t.rounds++;
    const r = dk.streamOpen('file:/data/D/f', Access.READ, 0, 0);
    if (!isDkError(r)) {
      const n = dk.streamRead(r, 0, buf);
      const text = n > 0 ? dec.decode(buf.subarray(0, n)) : '';
      if (text.includes(SECRET)) t.outsideReads++;
      else if (text === 'inside') t.insideReads++;
      dk.objectClose(r);
    }
    // O_CREAT of an existing file: the object opened must never be the outside one.
    const w = dk.streamOpen('file:/data/D/f', Access.WRITE, Create.CREATE, 0);
    if (!isDkError(w)) {
      const a = dk.streamAttributesQueryByHandle(w);
      if (!isDkError(a) && a.ino === tree.secretIno) t.outsideOpens++;
      dk.objectClose(w);
    }
    const c = dk.streamOpen(`file:/data/D/new-${i}`, Access.WRITE, Create.CREATE | Create.EXCLUSIVE, 0);
    if (!isDkError(c)) dk.objectClose(c);
    const d = dk.streamOpen('dir:/data/D', Access.READ, 0, 0);
    if (!isDkError(d)) {
      const list = dk.streamEnumerateChildren(d);
      if (!isDkError(list) && list.some((e) => e.name === 'outside-only')) t.outsideListings++;
      dk.objectClose(d);
    }
  }
  return t;
}

function assertNothingOutside(tree: Tree, t: Tally): void {
  assert.equal(t.outsideReads, 0, `outside reads: ${JSON.stringify(t)}`);
  assert.equal(t.outsideOpens, 0, `outside opens: ${JSON.stringify(t)}`);
  assert.equal(t.outsideListings, 0, `outside listings: ${JSON.stringify(t)}`);
  assert.deepEqual(readdirSync(tree.outside).sort(), ['f', 'outside-only'], 'files created outside the mount');
  assert.equal(readFileSync(join(tree.outside, 'f'), 'utf8'), SECRET);
  // The loop did reach the file through /data/D (the race was run, not refused throughout).
  assert.ok(t.insideReads > 0, `no read through /data/D succeeded: ${JSON.stringify(t)}`);
}

describe('path races (node host)', () => {
  const trees: Tree[] = [];
  after(() => {
    for (const t of trees) rmSync(t.root, { recursive: true, force: true });
  });

  it('a host swapping a directory and a link with RENAME_EXCHANGE reaches nothing outside', { skip: clangMissing() }, async () => {
    const tree = makeTree((root) => join(root, 'outside'));
    trees.push(tree);
    const exe = join(tree.root, 'rename-exchange');
    const built = spawnSync('clang', ['-O2', join(import.meta.dirname, 'race', 'rename-exchange.c'), '-o', exe], { encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    const swapper = spawn(exe, [join(tree.mount, 'D'), join(tree.mount, 'L'), String(RACE_MS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let swaps = '';
    swapper.stdout.on('data', (b: Buffer) => (swaps += b.toString()));
    const exited = new Promise<number | null>((resolve) => swapper.on('close', (code) => resolve(code)));
    // The victim loop blocks this thread; the swapper runs beside it and stops on its own.
    await new Promise((r) => setTimeout(r, 50));
    const t = victim(guest(tree.mount), tree);
    assert.equal(await exited, 0);
    assert.ok(Number(swaps) > 0, 'the swapper swapped');
    assertNothingOutside(tree, t);
  });

  it('a second guest swapping a directory and a link with rename reaches nothing outside', async () => {
    const tree = makeTree(() => '../outside');
    trees.push(tree);
    const worker = new Worker(join(import.meta.dirname, 'race', 'renamer.ts'), { workerData: { mountHost: tree.mount, ms: RACE_MS } });
    const exited = new Promise<void>((resolve) => worker.on('exit', () => resolve()));
    const swaps = new Promise<number>((resolve, reject) => {
      worker.on('message', (n: number) => resolve(n));
      worker.on('error', reject);
    });
    // Let the worker load and start swapping, then race it for as long as it swaps.
    await new Promise((r) => setTimeout(r, 300));
    const t = victim(guest(tree.mount), tree);
    assert.ok((await swaps) > 0, 'the second guest swapped');
    await exited;
    assertNothingOutside(tree, t);
  });
});
