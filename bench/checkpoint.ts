// Continuity costs (the checkpoint issue's benchmarks), measured in this process:
// - checkpoint and restore of a picoprocess that touched 1, 16, 64, 256 MiB, with the snapshot
//   size, against a plain copy of the same bytes (Uint8Array.set) in the same run;
// - fork + exit + wait latency (the guest times its own loop);
// - migration downtime on loopback: from the checkpoint request to the program running again
//   on the target.

import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import type { Benchmark, BenchContext } from './lib/context.ts';
import { fixed, median } from './lib/stats.ts';
import { printTable } from './lib/table.ts';
import { compileModule } from '../src/runtime/module-cache.ts';
import { prepareModule } from '../src/runtime/prepare.ts';
import { startCommand, type Running } from '../src/runtime/picoprocess.ts';
import { decodeSnapshot } from '../src/runtime/snapshot.ts';
import { PageStore, receiveMigrations, sendMigration } from '../src/runtime/migrate.ts';
import { emptyManifest, type Manifest } from '../src/monitor/manifest.ts';
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
async function startTouch(p: { bytes: Uint8Array; module: WebAssembly.Module }, mib: number, restore?: Uint8Array): Promise<{ running: Running; ready: Promise<void>; out: () => string }> {
  let text = '';
  let ready!: () => void;
  const readyP = new Promise<void>((r) => (ready = r));
  const running = await startCommand({
    host, module: p.module, args: ['touch', String(mib)], manifest: manifest(),
    capture: { moduleBytes: p.bytes, moduleName: 'touch.wasm' },
    restore: restore ? decodeSnapshot(restore) : undefined,
    stdout: (b) => {
      text += Buffer.from(b).toString();
      if (text.includes('ready')) ready();
    },
  });
  if (restore) ready();
  return { running, ready: readyP, out: () => text };
}

export const checkpoint: Benchmark = {
  name: 'checkpoint',
  description: 'checkpoint/restore vs memcpy by touched memory, fork+exit latency, migration downtime',
  byDefault: true,
  async run(ctx: BenchContext) {
    spawnSync(process.execPath, ['scripts/build-guests.ts'], { stdio: 'ignore' });
    const touch = await prepared('touch');
    const rows: string[][] = [];
    for (const mib of SIZES) {
      const cap: number[] = [];
      const res: number[] = [];
      const cpy: number[] = [];
      let size = 0;
      for (let rep = 0; rep < ctx.reps; rep++) {
        const a = await startTouch(touch, mib);
        await a.ready;
        let t = performance.now();
        const snap = await a.running.checkpoint!(false);
        cap.push(performance.now() - t);
        size = snap.length;
        const status = await a.running.done;
        if (!status.checkpointed) ctx.fail(`checkpoint ${mib} MiB: not checkpointed`);
        t = performance.now();
        const b = await startTouch(touch, mib, snap);
        res.push(performance.now() - t);
        b.running.process.kill(0);
        // The same bytes copied once, in the same run: the floor.
        const src = new Uint8Array(mib << 20).fill(7);
        t = performance.now();
        new Uint8Array(mib << 20).set(src);
        cpy.push(performance.now() - t);
      }
      const [c, r, m] = [median(cap), median(res), median(cpy)];
      const mbps = (ms: number) => (mib / (ms / 1000)).toFixed(0);
      rows.push([String(mib), fixed(c, 1), fixed(r, 1), fixed(m, 2), (size / 2 ** 20).toFixed(1), mbps(c), mbps(r), mbps(m), (m / c).toFixed(3), (m / r).toFixed(3)]);
    }
    printTable(`Checkpoint and restore by touched memory (ms, median of ${ctx.reps}; the copy: Uint8Array.set of the same size)`,
      ['MiB', 'checkpoint', 'restore', 'copy', 'snapshot MiB', 'ckpt MB/s', 'restore MB/s', 'copy MB/s', 'ckpt/copy', 'restore/copy'], rows);

    // fork + exit + wait.
    const forkloop = await prepared('forkloop');
    const forks: number[] = [];
    for (let rep = 0; rep < ctx.reps; rep++) {
      let text = '';
      const r = await startCommand({
        host, module: forkloop.module, args: ['forkloop', '20'], manifest: manifest(1000),
        capture: { moduleBytes: forkloop.bytes, moduleName: 'forkloop.wasm' },
        stdout: (b) => void (text += Buffer.from(b).toString()),
      });
      const s = await r.done;
      const m = /ns_per_fork=(\d+)/.exec(text);
      if (s.exitCode !== 0 || !m) ctx.fail(`forkloop: exit ${s.exitCode} ${s.error ?? ''} ${text}`);
      else forks.push(Number(m[1]) / 1000);
    }
    printTable(`fork + exit + wait (µs per fork, median of ${ctx.reps}; the guest times 20 forks)`, ['drawbridge', 'Graphene (reported)', 'Linux (reported)'], [[fixed(median(forks), 0), '463', '67']]);

    // Migration downtime on loopback.
    const store = new PageStore();
    let resumed: (() => void) | null = null;
    const server = await receiveMigrations('127.0.0.1', 0, store, (snapshot) => {
      void startCommand({
        host, module: touch.module, args: snapshot.meta.args, manifest: manifest(),
        capture: { moduleBytes: touch.bytes, moduleName: 'touch.wasm' }, restore: snapshot, stdout: () => {},
      }).then((r) => {
        resumed?.();
        r.process.kill(0);
      });
    });
    const port = (server.address() as { port: number }).port;
    const rowsM: string[][] = [];
    for (const mib of [1, 64]) {
      const down: number[] = [];
      for (let rep = 0; rep < ctx.reps; rep++) {
        const a = await startTouch(touch, mib);
        await a.ready;
        const t = performance.now();
        const snap = await a.running.checkpoint!(false);
        const back = new Promise<void>((r) => (resumed = r));
        await sendMigration(snap, '127.0.0.1', port);
        await back;
        down.push(performance.now() - t);
      }
      rowsM.push([String(mib), fixed(median(down), 1)]);
    }
    server.close();
    printTable(`Migration downtime on loopback (ms, median of ${ctx.reps}: checkpoint request to running on the target; later reps reuse the target's pages)`, ['MiB touched', 'downtime'], rowsM);
  },
};
