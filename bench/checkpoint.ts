// Continuity costs (the checkpoint issue's benchmarks), measured in this process:
// - checkpoint and restore of a picoprocess that touched 1, 16, 64, 256 MiB, with the snapshot
//   size. The in-memory part is timed on its own against a plain copy of the same bytes
//   (Uint8Array.set) into the same kind of destination, in the same round: a fresh ArrayBuffer
//   for the checkpoint, a fresh WebAssembly.Memory for the restore. For a checkpoint, encodeSnapshot of
//   the stopped program's whole linear memory (find the non-zero pages, copy them into the file
//   image, checksum them); for a restore, decodeSnapshot of that image plus restoreMemory into
//   a fresh instance of the module (grow, check each page's CRC-32 and copy it in) — what
//   `drawbridge restore` does between reading the file and starting the guest. End to end
//   (request to bytes; bytes to a running instance) and the costs that do not grow with
//   memory (Node start-up, module compile, instantiation) are reported apart;
// - fork + exit + wait latency (the guest times its own loop), in this process and in a fresh
//   `drawbridge run`;
// - migration downtime on loopback: from the checkpoint request to the program running again
//   on the target.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Benchmark, BenchContext } from './lib/context.ts';
import { fixed, median } from './lib/stats.ts';
import { printTable } from './lib/table.ts';
import { compileModule } from '../src/runtime/module-cache.ts';
import { prepareModule } from '../src/runtime/prepare.ts';
import { instantiate, startCommand, type Running } from '../src/runtime/picoprocess.ts';
import { decodeSnapshot, encodeSnapshot, PAGE_SIZE, restoreMemory } from '../src/checkpoint/snapshot.ts';
import { connectMigration, PageStore, receiveMigrations } from '../src/checkpoint/migrate.ts';
import { newToken } from '../src/server/token.ts';
import { emptyManifest, type Manifest } from '../src/monitor/manifest/manifest.ts';
import { createNodeHost } from '../src/host/node/index.ts';

const host = createNodeHost();
const SIZES = [1, 16, 64, 256];

function manifest(children = 0, memoryMiB = 512): Manifest {
  const m = emptyManifest();
  return { ...m, limits: { ...m.limits, children, memory: memoryMiB * 2 ** 20 } };
}

async function prepared(name: string): Promise<{ bytes: Uint8Array; module: WebAssembly.Module }> {
  const bytes = await prepareModule(readFileSync(`build/guests/bench/${name}.wasm`));
  return { bytes, module: await compileModule(bytes) };
}

/** Start `touch` with `mib` MiB and resolve once it says ready (it then sleeps). */
async function startTouch(
  p: { bytes: Uint8Array; module: WebAssembly.Module },
  mib: number,
  restore?: Uint8Array,
): Promise<{ running: Running; ready: Promise<void>; out: () => string }> {
  let text = '';
  let ready!: () => void;
  const readyP = new Promise<void>((r) => (ready = r));
  const running = await startCommand({
    host,
    module: p.module,
    args: ['touch', String(mib)],
    manifest: manifest(),
    capture: { moduleBytes: p.bytes, moduleName: 'touch.wasm' },
    restore: restore ? decodeSnapshot(restore, 'snapshot', { lazyPages: true }) : undefined,
    stdout: (b) => {
      text += Buffer.from(b).toString();
      if (text.includes('ready')) ready();
    },
  });
  if (restore) ready();
  return { running, ready: readyP, out: () => text };
}

/** A fresh, unstarted instance of `touch`, as a restore makes before it writes the memory. */
async function freshInstance(p: { bytes: Uint8Array; module: WebAssembly.Module }): Promise<{ memory: WebAssembly.Memory; close: () => void }> {
  const made = await instantiate({
    host,
    module: p.module,
    args: ['touch'],
    manifest: manifest(),
    capture: { moduleBytes: p.bytes, moduleName: 'touch.wasm' },
    stdout: () => {},
  });
  return {
    memory: made.instance.exports.memory as WebAssembly.Memory,
    close: () => {
      made.libos.close();
      made.process.kill(0);
    },
  };
}

const ms = (t0: number) => performance.now() - t0;

export const checkpoint: Benchmark = {
  name: 'checkpoint',
  description: 'checkpoint/restore vs memcpy by touched memory, fork+exit latency, migration downtime',
  byDefault: true,
  async run(ctx: BenchContext) {
    spawnSync(process.execPath, ['scripts/build-guests.ts'], { stdio: 'ignore' });
    const touch = await prepared('touch');
    const rows: string[][] = [];
    const e2e: string[][] = [];
    for (const mib of SIZES) {
      const enc: number[] = [];
      const dec: number[] = [];
      const cpy: number[] = [];
      const cpyWasm: number[] = [];
      const cap: number[] = [];
      const res: number[] = [];
      let size = 0;
      let image = 0;
      for (let rep = 0; rep < ctx.reps; rep++) {
        const a = await startTouch(touch, mib);
        await a.ready;
        let t = performance.now();
        const snap = await a.running.checkpoint!(false);
        cap.push(ms(t));
        size = snap.length;
        const status = await a.running.done;
        if (!status.checkpointed) ctx.fail(`checkpoint ${mib} MiB: not checkpointed`);
        // In memory, three times each, interleaved (this machine is noisy): encode the stopped
        // program's memory again, as the checkpoint just did; check the image and write it
        // into a fresh instance's memory; copy as many bytes into a fresh buffer (the floor).
        const { memory: _m, ...meta } = decodeSnapshot(snap).meta;
        const memory = a.running.instance.exports.memory as WebAssembly.Memory;
        for (let round = 0; round < 3; round++) {
          t = performance.now();
          const again = encodeSnapshot(meta, memory, touch.bytes);
          const e = ms(t);
          if (again.length !== snap.length) ctx.fail(`checkpoint ${mib} MiB: encode gave ${again.length} bytes, the checkpoint ${snap.length}`);
          const fresh = await freshInstance(touch);
          t = performance.now();
          const decoded = decodeSnapshot(snap, 'snapshot', { lazyPages: true });
          restoreMemory(decoded, fresh.memory);
          const d = ms(t);
          fresh.close();
          image = decoded.pages.size * PAGE_SIZE;
          const src = new Uint8Array(image).fill(7);
          t = performance.now();
          new Uint8Array(image).set(src);
          const c = ms(t);
          // The restore's floor: the same copy into a fresh WebAssembly.Memory, whose pages
          // fault in as the restored instance's do (a fresh ArrayBuffer of a few MiB often
          // reuses memory the allocator already has, and never faults).
          const wasmMemory = new WebAssembly.Memory({ initial: decoded.meta.memory.pages });
          t = performance.now();
          new Uint8Array(wasmMemory.buffer).set(src);
          const cw = ms(t);
          enc.push(e);
          dec.push(d);
          cpy.push(c);
          cpyWasm.push(cw);
        }
        // End to end: the snapshot's bytes to a running instance (decode, instantiate, write
        // the memory, rewind).
        t = performance.now();
        const b = await startTouch(touch, mib, snap);
        res.push(ms(t));
        b.running.process.kill(0);
        await b.running.done;
      }
      const mbps = (t: number) => (image / 2 ** 20 / (t / 1000)).toFixed(0);
      const [e, d, c, cw] = [median(enc), median(dec), median(cpy), median(cpyWasm)];
      rows.push([
        String(mib),
        (image / 2 ** 20).toFixed(2),
        fixed(c, 2),
        fixed(cw, 2),
        fixed(e, 2),
        fixed(d, 2),
        mbps(c),
        mbps(cw),
        mbps(e),
        mbps(d),
        (c / e).toFixed(2),
        (cw / d).toFixed(2),
      ]);
      e2e.push([String(mib), fixed(median(cap), 1), fixed(median(res), 1), (size / 2 ** 20).toFixed(2)]);
    }
    printTable(
      `Checkpoint and restore, the in-memory part, by touched memory (ms, median of ${ctx.reps} reps x 3 rounds; image: the non-zero pages saved; copy: Uint8Array.set of the image's size into a fresh ArrayBuffer, as encode writes; copy to wasm: the same into a fresh WebAssembly.Memory, as a restore writes; encode: encodeSnapshot of the whole memory; decode+write: decodeSnapshot, then restoreMemory into a fresh instance, which checks every page's checksum as it copies it; throughput ratios (median copy time / median time): encode against copy, restore against copy to wasm)`,
      [
        'MiB',
        'image MiB',
        'copy',
        'copy to wasm',
        'encode',
        'decode+write',
        'copy MB/s',
        'copy to wasm MB/s',
        'encode MB/s',
        'decode+write MB/s',
        'encode vs copy',
        'restore vs copy to wasm',
      ],
      rows,
    );
    printTable(
      `Checkpoint and restore end to end (ms, median of ${ctx.reps}; checkpoint: request to snapshot bytes, with the unwind and the library OS state; restore: bytes to a running instance, with decode and instantiation; neither includes Node start-up nor the module compile)`,
      ['MiB', 'checkpoint', 'restore', 'snapshot MiB'],
      e2e,
    );

    // What does not grow with memory.
    const startup: number[] = [];
    const compile: number[] = [];
    const inst: number[] = [];
    for (let rep = 0; rep < ctx.reps; rep++) {
      let t = performance.now();
      spawnSync(process.execPath, ['bin/drawbridge.js', '--version'], { stdio: 'ignore' });
      startup.push(ms(t));
      t = performance.now();
      await compileModule(touch.bytes, 'touch.wasm', { cache: false });
      compile.push(ms(t));
      t = performance.now();
      (await freshInstance(touch)).close();
      inst.push(ms(t));
    }
    printTable(
      `Fixed costs a restore from the command line adds (ms, median of ${ctx.reps}; touch.wasm prepared, ${(touch.bytes.length / 1024).toFixed(0)} KiB)`,
      ['Node + CLI start (drawbridge --version)', 'module compile', 'instantiate (host process, library OS, instance)'],
      [[fixed(median(startup), 1), fixed(median(compile), 2), fixed(median(inst), 2)]],
    );

    // fork + exit + wait: a program's first forks (20), and a loop of 500 after them.
    const forkloop = await prepared('forkloop');
    const forks: Record<number, number[]> = { 20: [], 500: [] };
    for (let rep = 0; rep < ctx.reps; rep++) {
      for (const count of [20, 500]) {
        let text = '';
        const r = await startCommand({
          host,
          module: forkloop.module,
          args: ['forkloop', String(count)],
          manifest: manifest(1000),
          capture: { moduleBytes: forkloop.bytes, moduleName: 'forkloop.wasm' },
          stdout: (b) => void (text += Buffer.from(b).toString()),
        });
        const s = await r.done;
        const m = /ns_per_fork=(\d+)/.exec(text);
        if (s.exitCode !== 0 || !m) ctx.fail(`forkloop: exit ${s.exitCode} ${s.error ?? ''} ${text}`);
        else forks[count]!.push(Number(m[1]) / 1000);
      }
    }
    // The same loops as a user meets them: each a fresh `drawbridge run` (its JIT cold), a
    // manifest granting the children.
    const cli: Record<number, number[]> = { 20: [], 500: [] };
    const dir = mkdtempSync(join(tmpdir(), 'drawbridge-bench-fork-'));
    try {
      const children = join(dir, 'children.toml');
      writeFileSync(children, '[limits]\nchildren = 1000\n');
      for (let rep = 0; rep < ctx.reps; rep++) {
        for (const count of [20, 500]) {
          const r = spawnSync(process.execPath, ['bin/drawbridge.js', 'run', '--manifest', children, 'build/guests/bench/forkloop.wasm', String(count)], {
            encoding: 'utf8',
          });
          const m = /ns_per_fork=(\d+)/.exec(r.stdout);
          if (r.status !== 0 || !m) ctx.fail(`drawbridge run forkloop.wasm ${count}: exit ${r.status} ${r.stderr}`);
          else cli[count]!.push(Number(m[1]) / 1000);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    printTable(
      `fork + exit + wait (µs per fork, median of ${ctx.reps}; the guest times 20 forks, then 500 in a new run: in this process, after the rows above, and in a fresh \`drawbridge run\` each)`,
      ['in process, 20 forks', 'in process, 500 forks', 'drawbridge run, 20 forks', 'drawbridge run, 500 forks', 'Graphene (reported)', 'Linux (reported)'],
      [[fixed(median(forks[20]!), 0), fixed(median(forks[500]!), 0), fixed(median(cli[20]!), 0), fixed(median(cli[500]!), 0), '463', '67']],
    );

    // Migration downtime on loopback.
    const store = new PageStore();
    let resumed: (() => void) | null = null;
    const token = newToken();
    const server = await receiveMigrations({
      host: '127.0.0.1',
      port: 0,
      token,
      store,
      log: (l) => ctx.fail(`receive: ${l}`),
      onSnapshot: (snapshot) => {
        void startCommand({
          host,
          module: touch.module,
          args: snapshot.meta.args,
          manifest: manifest(),
          capture: { moduleBytes: touch.bytes, moduleName: 'touch.wasm' },
          restore: snapshot,
          stdout: () => {},
        }).then((r) => {
          resumed?.();
          r.process.kill(0);
        });
      },
    });
    const port = (server.address() as { port: number }).port;
    const rowsM: string[][] = [];
    for (const mib of [1, 64]) {
      const down: number[] = [];
      for (let rep = 0; rep < ctx.reps; rep++) {
        const a = await startTouch(touch, mib);
        await a.ready;
        // Connected and accepted before the checkpoint, as drawbridge migrate does.
        const link = await connectMigration({ host: '127.0.0.1', port, token });
        const t = performance.now();
        const snap = await a.running.checkpoint!(false);
        const back = new Promise<void>((r) => (resumed = r));
        await link.send(snap);
        await back;
        down.push(performance.now() - t);
      }
      rowsM.push([String(mib), fixed(median(down), 1)]);
    }
    server.close();
    printTable(
      `Migration downtime on loopback (ms, median of ${ctx.reps}: checkpoint request to running on the target; later reps reuse the target's pages)`,
      ['MiB touched', 'downtime'],
      rowsM,
    );
  },
};
