// Density: N idle picoprocesses of a small C program blocked reading stdin
// (guests/density/idle.c), in one host, against the two usual ways to isolate such programs
// with Node: one node:wasi instance per worker thread, and one Node process per instance.
//
// Measured, each in a fresh child process (this file run with --child); the rows at N <= 1 000,
// where the start-rate bar is, --reps times (the run with the median rate):
//  - drawbridge, N = 100, 1 000, 10 000 in one host process (the Supervisor of
//    `drawbridge serve`, with its per-picoprocess quotas, output rings and stdin feeds; the
//    module prepared and cached): resident memory per picoprocess (RSS after - before, over
//    N, after a full GC), what the guest itself touched (its linear memory pages that are
//    not zero), and the start rate (sequential spawns until each guest is blocked in its read).
//  - 10 000 again with V8's Wasm trap handler off (--disable-wasm-trap-handler): V8 then
//    reserves each memory's declared maximum (the limits.memory quota) instead of ~10 GiB of
//    address space, at the price of explicit bounds checks; and as two host processes of
//    5 000 each. The default needs 10 000 x ~8 GiB = ~80 TiB of the 128 TiB user address
//    space (47 bits): it fits, but ~15 000 would not.
//  - N = 1 000 again in a host warmed by 3 000 earlier starts (which ended): the start rate
//    of a host that has been serving a while, against the first thousand starts of a fresh
//    one (20 starts before), which also pay for V8 optimizing the start path and growing its
//    heap.
//  - the start rate of `drawbridge serve`'s pool (pool.ts): N = 1 000 started at once through
//    the Pool with 2 worker threads (the 2 cores here) and with 0 (everything on the main
//    thread), and through the HTTP API (POST /v1/processes with count, batches of 100, one
//    request at a time and two in flight):
//    each start placed on the least-loaded worker, the workers starting theirs in parallel.
//    The daemon as `drawbridge serve` starts it warms its start path first (warm-up.ts: 2 000
//    starts of a built-in guest, before it listens); the pool is measured that way, then after
//    12 s without work (V8 shrinks an idle heap: v8-tuning.ts), and with --warm-up 0 (cold,
//    as the lone host above).
//  - node:wasi, one Worker per instance (W workers; per-instance cost = RSS growth / W, and
//    their start rate, each started once the one before runs) and
//    one `node` process per instance (P processes; RSS and unique memory, Private_* of
//    /proc/PID/smaps_rollup, each). W and P are kept small (they cost ~8 and ~45 MiB each);
//    the per-instance figures are what scales, the "at N" ones are extrapolated and say so.

import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Benchmark, BenchContext } from './lib/context.ts';
import { NODE, ROOT } from './lib/paths.ts';
import { printTable } from './lib/table.ts';
import { WARM_UP_STARTS } from '../src/server/pool/warm-up.ts';

const IDLE = join(ROOT, 'build', 'guests', 'density', 'idle.wasm');
const WORKERS = 16;
const PROCESSES = 16;

interface ChildResult {
  n: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  perProcessKiB: number;
  guestTouchedKiB: number;
  startsPerSecond: number;
  /** CPU time of the whole process (every thread) per start, µs: what contention does not change. */
  cpuUsPerStart?: number;
  prepared: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssKiB = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);

/**
 * Run `start` (n starts) from a quiet, collected heap and measure it: RSS before and after
 * (once the starts settled and a GC ran), the start rate and CPU time of every thread per start.
 */
async function measureStarts(
  n: number,
  start: () => Promise<void>,
): Promise<Pick<ChildResult, 'rssBeforeKiB' | 'rssAfterKiB' | 'perProcessKiB' | 'startsPerSecond' | 'cpuUsPerStart'>> {
  await sleep(50);
  (globalThis as { gc?: () => void }).gc?.();
  const before = rssKiB();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await start();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await sleep(200);
  (globalThis as { gc?: () => void }).gc?.();
  await sleep(50);
  const after = rssKiB();
  return {
    rssBeforeKiB: before,
    rssAfterKiB: after,
    perProcessKiB: (after - before) / n,
    startsPerSecond: n / seconds,
    cpuUsPerStart: (cpu.user + cpu.system) / n,
  };
}

/**
 * Starts before the measured ones, which end at once (their stdin is empty): 20 for a fresh
 * host (the module compiled, a first instance), WARM_HOST for a host that has been serving a
 * while. A fresh host's first thousand starts pay one-time costs besides: V8 optimizing the
 * start path as it gets hot (TurboFan after 3 000 calls of a function) and growing its heap.
 */
const FRESH_HOST = 20;
const WARM_HOST = 3000;
/** A daemon measured after this long without work as well: V8's memory reducer has run by then. */
const IDLE_MS = 12_000;

/** In the child: start n idle picoprocesses in one Supervisor, after `warmUp` others, and report. */
async function child(n: number, warmUp: number): Promise<void> {
  const { Supervisor } = await import('../src/server/supervisor.ts');
  const sv = new Supervisor({ keepEnded: 0 });
  const idle = await sv.load(readFileSync(IDLE), 'idle');
  // Warm; then measure from a quiet, collected heap.
  const warm = [];
  for (let i = 0; i < warmUp; i++) warm.push(await sv.spawn({ module: idle, stdin: new Uint8Array(0) }));
  await Promise.all(warm.map((e) => e.done));
  const entries: Awaited<ReturnType<typeof sv.spawn>>[] = [];
  const measured = await measureStarts(n, async () => {
    for (let i = 0; i < n; i++) entries.push(await sv.spawn({ module: idle }));
  });
  // What the guest itself touched: its non-zero pages (4 KiB granules) of linear memory.
  let touched = 0;
  const sample = entries.slice(0, 20);
  for (const e of sample) {
    const mem = e.running!.instance.exports.memory as WebAssembly.Memory;
    const words = new BigUint64Array(mem.buffer);
    for (let p = 0; p < words.length; p += 512) {
      for (let w = p; w < p + 512; w++) {
        if (words[w] !== 0n) {
          touched += 4;
          break;
        }
      }
    }
  }
  const r: ChildResult = { n, ...measured, guestTouchedKiB: touched / sample.length, prepared: idle.prepared };
  if (entries.some((e) => e.state !== 'running')) throw new Error('a picoprocess ended early');
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
}

/**
 * runChild `reps` times: the run with the median start rate (its other figures are that run's).
 * The VM this was tuned on moves a single run's rate by 20-30%.
 */
function medianChild(reps: number, n: number, flags: string[] = [], mode?: string[]): ChildResult {
  const runs = Array.from({ length: reps }, () => runChild(n, flags, mode)).sort((a, b) => a.startsPerSecond - b.startsPerSecond);
  return runs[(reps - 1) >> 1]!;
}

function runChild(n: number, flags: string[] = [], mode: string[] = ['--child', String(n), String(FRESH_HOST)]): ChildResult {
  const r = spawnSync(NODE, ['--expose-gc', ...flags, join(ROOT, 'bench', 'density.ts'), ...mode], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`density child (n=${n} ${flags.join(' ')}) failed: ${r.stderr.slice(-2000)}`);
  // The report is the last line that is JSON (a guest or a debugging print may add others).
  const line = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  if (!line) throw new Error(`density child (n=${n} ${mode.join(' ')}) printed no result: ${r.stdout.slice(-500)}`);
  return JSON.parse(line) as ChildResult;
}

/** RSS growth of one process per node:wasi Worker, each blocked reading (the shared) stdin, and their start rate. */
async function nodeWasiWorkers(w: number): Promise<{ perInstanceKiB: number; startsPerSecond: number }> {
  const script = `
    const { Worker } = require('node:worker_threads');
    const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status','utf8'))[1]);
    const code = "const {WASI}=require('node:wasi');const fs=require('fs');const {workerData,parentPort}=require('node:worker_threads');" +
      "const wasi=new WASI({version:'preview1',args:['idle'],env:{},returnOnExit:true});" +
      "const m=new WebAssembly.Module(fs.readFileSync(workerData));const i=new WebAssembly.Instance(m,wasi.getImportObject());" +
      "parentPort.postMessage('up');wasi.start(i);";
    (async () => {
      await new Promise((r) => setTimeout(r, 200));
      global.gc?.();
      const before = rss();
      const t0 = performance.now();
      for (let i = 0; i < ${w}; i++) {
        const worker = new Worker(code, { eval: true, workerData: ${JSON.stringify(IDLE)} });
        await new Promise((r) => worker.once('message', r));
      }
      const startsPerSecond = ${w} / ((performance.now() - t0) / 1000);
      await new Promise((r) => setTimeout(r, 500));
      console.log(JSON.stringify({ perInstanceKiB: (rss() - before) / ${w}, startsPerSecond }));
      process.exit(0);
    })();`;
  return new Promise((resolve, reject) => {
    const c = spawn(NODE, ['--expose-gc', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => {
      out += d;
      // The workers sit in a blocking read(2) of the shared stdin, which no exit can interrupt:
      // end of input lets them finish.
      if (out.includes('\n')) c.stdin.end();
    });
    c.stderr.on('data', (d: Buffer) => (err += d));
    c.on('exit', (code) =>
      out.includes('perInstanceKiB') ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`node:wasi workers (${code}): ${err}`)),
    );
  });
}

/** P node processes, one node:wasi instance each, blocked on stdin: RSS and unique memory each. */
async function nodeProcesses(p: number): Promise<{ rssKiB: number; uniqueKiB: number }> {
  const cli = join(ROOT, 'bench', 'lib', 'nodewasi-cli.mjs');
  const children = Array.from({ length: p }, () => spawn(NODE, ['--single-threaded-gc', cli, IDLE], { stdio: ['pipe', 'ignore', 'ignore'] }));
  await sleep(1500);
  let rss = 0;
  let unique = 0;
  for (const c of children) {
    const status = readFileSync(`/proc/${c.pid}/status`, 'utf8');
    rss += Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
    const rollup = readFileSync(`/proc/${c.pid}/smaps_rollup`, 'utf8');
    unique += Number(/Private_Clean:\s+(\d+)/.exec(rollup)![1]) + Number(/Private_Dirty:\s+(\d+)/.exec(rollup)![1]);
  }
  for (const c of children) c.kill('SIGKILL');
  return { rssKiB: rss / p, uniqueKiB: unique / p };
}

const kib = (x: number): string => x.toFixed(1);
const mib = (kibs: number): string => (kibs / 1024).toFixed(0);
/** CPU time of every thread per start: on a shared machine, steadier than the rate. */
const cpuUs = (r: ChildResult): string => (r.cpuUsPerStart === undefined ? '' : r.cpuUsPerStart.toFixed(0));

export const density: Benchmark = {
  name: 'density',
  description: 'N idle picoprocesses blocked on stdin: resident memory each and start rate, against node:wasi per worker and per process',
  byDefault: false,
  async run(ctx: BenchContext) {
    const built = spawnSync(NODE, [join(ROOT, 'scripts', 'build-guests.ts')], { encoding: 'utf8' });
    if (built.status !== 0) return ctx.fail(`density: cannot build the guests: ${built.stderr}`);
    const rows: string[][] = [];
    const results: [string, ChildResult][] = [];
    // The rows at N <= 1 000 (the start-rate bar's) are medians of --reps runs; the others one run.
    const reps = ctx.reps;
    for (const n of [100, 1000, 10000]) results.push([`drawbridge, one host, N = ${n}`, n <= 1000 ? medianChild(reps, n) : runChild(n)]);
    const warmOne = medianChild(reps, 1000, [], ['--child', '1000', String(WARM_HOST)]);
    results.push(['drawbridge, N = 10 000, --disable-wasm-trap-handler', runChild(10000, ['--disable-wasm-trap-handler'])]);
    const half = runChild(5000);
    for (const [label, r] of results) {
      rows.push([
        label,
        kib(r.perProcessKiB),
        kib(r.guestTouchedKiB),
        kib(r.perProcessKiB - r.guestTouchedKiB),
        r.startsPerSecond.toFixed(0),
        cpuUs(r),
        mib(r.rssAfterKiB),
      ]);
    }
    // Two hosts of 5 000: each pays its own Node (its RSS before the picoprocesses).
    const twoHostsPer = (2 * half.rssAfterKiB) / 10000;
    rows.push([
      'drawbridge, N = 10 000 as two hosts of 5 000 (incl. both Nodes)',
      kib(twoHostsPer),
      kib(half.guestTouchedKiB),
      kib(twoHostsPer - half.guestTouchedKiB),
      half.startsPerSecond.toFixed(0),
      cpuUs(half),
      mib(2 * half.rssAfterKiB),
    ]);
    const one = results[2]![1];
    rows.push([
      'drawbridge, N = 10 000 in one host (incl. its Node)',
      kib(one.rssAfterKiB / 10000),
      kib(one.guestTouchedKiB),
      kib(one.rssAfterKiB / 10000 - one.guestTouchedKiB),
      one.startsPerSecond.toFixed(0),
      cpuUs(one),
      mib(one.rssAfterKiB),
    ]);
    // A warmed host's memory per picoprocess is not shown: its starts reuse what the warm-up's freed.
    rows.push([
      `drawbridge, one host, N = 1 000, the host warmed by ${WARM_HOST} starts`,
      '',
      '',
      '',
      warmOne.startsPerSecond.toFixed(0),
      cpuUs(warmOne),
      mib(warmOne.rssAfterKiB),
    ]);
    const touched = results[1]![1].guestTouchedKiB;
    // --pool-child N WORKERS pool|api:K PRE-STARTS DAEMON-WARM-UP ('' for serve's default) IDLE-MS.
    const pool = (workers: number, how: 'pool' | `api:${number}`, preStarts: number, warmUp: number | '' = '', idleMs = 0) =>
      medianChild(reps, 1000, [], ['--pool-child', '1000', String(workers), how, String(preStarts), String(warmUp), String(idleMs)]);
    // Memory per picoprocess is shown only where no warm-up ran before the measurement: a
    // warm-up grows the heaps before `before` is read, so its starts would seem nearly free.
    const pooled: [string, ChildResult, memoryShown: boolean][] = [
      [
        `drawbridge serve pool as serve starts it (warmed by its ${WARM_UP_STARTS} built-in starts), 2 worker threads, N = 1 000 (Pool.spawn, all at once)`,
        pool(2, 'pool', 2 * FRESH_HOST),
        false,
      ],
      [
        `drawbridge serve pool as serve starts it, then ${IDLE_MS / 1000} s idle, 2 worker threads, N = 1 000 (Pool.spawn)`,
        pool(2, 'pool', 2 * FRESH_HOST, '', IDLE_MS),
        false,
      ],
      ['drawbridge serve pool, --warm-up 0, 2 worker threads, N = 1 000 (Pool.spawn)', pool(2, 'pool', 2 * FRESH_HOST, 0), true],
      [
        'drawbridge serve pool as serve starts it, 2 worker threads, N = 1 000 (HTTP API, batches of 100, one after the other)',
        pool(2, 'api:1', 2 * FRESH_HOST),
        false,
      ],
      [
        'drawbridge serve pool as serve starts it, 2 worker threads, N = 1 000 (HTTP API, batches of 100, two requests in flight)',
        pool(2, 'api:2', 2 * FRESH_HOST),
        false,
      ],
      ['drawbridge serve pool, no worker threads (no warm-up there), N = 1 000 (Pool.spawn)', pool(0, 'pool', FRESH_HOST), true],
    ];
    for (const [label, r, memoryShown] of pooled) {
      const memory = memoryShown ? [kib(r.perProcessKiB), kib(touched), kib(r.perProcessKiB - touched)] : ['', '', ''];
      rows.push([label, ...memory, r.startsPerSecond.toFixed(0), cpuUs(r), mib(r.rssAfterKiB)]);
    }
    const workers = await nodeWasiWorkers(WORKERS);
    rows.push([
      `node:wasi, one Worker each (measured with ${WORKERS}; at N = 1 000: ~${((workers.perInstanceKiB * 1000) / 2 ** 20).toFixed(1)} GiB, extrapolated)`,
      kib(workers.perInstanceKiB),
      '',
      '',
      workers.startsPerSecond.toFixed(0),
      '',
      '',
    ]);
    const procs = await nodeProcesses(PROCESSES);
    rows.push([
      `node:wasi, one node process each (measured with ${PROCESSES}; RSS each, unique ${kib(procs.uniqueKiB)} KiB)`,
      kib(procs.rssKiB),
      '',
      '',
      '',
      '',
      '',
    ]);
    printTable(
      `Density: idle picoprocesses blocked reading stdin (rows at N <= 1 000: the median of ${reps} runs by start rate)`,
      ['how', 'KiB resident each', 'guest touched KiB', 'beyond the guest KiB', 'starts/s', 'CPU µs per start', 'host RSS MiB'],
      rows,
    );
    for (const [label, r] of results.slice(1, 3)) {
      if (r.perProcessKiB - r.guestTouchedKiB > 128) ctx.fail(`density: ${label}: ${kib(r.perProcessKiB - r.guestTouchedKiB)} KiB beyond the guest (bar: 128)`);
    }
    const rate = (r: ChildResult) => r.startsPerSecond.toFixed(0);
    console.log(
      `bars: <= 128 KiB beyond the guest at N = 1 000 and 10 000; >= 5 000 starts/s (measured at N = 1 000: a fresh host ${rate(results[1]![1])} on one event loop, ` +
        `${rate(pooled[2]![1])} through serve's pool of 2 workers with --warm-up 0; as serve starts: ${rate(pooled[0]![1])} through the pool (${rate(pooled[1]![1])} after ${IDLE_MS / 1000} s idle), ` +
        `${rate(pooled[3]![1])} / ${rate(pooled[4]![1])} through its HTTP API with 1 / 2 requests in flight; a host warmed by ${WARM_HOST} starts ${rate(warmOne)} on one event loop; ` +
        `node:wasi, a Worker each: ${workers.startsPerSecond.toFixed(0)}/s, ${(pooled[0]![1].startsPerSecond / workers.startsPerSecond).toFixed(0)}x fewer than serve)`,
    );
  },
};

/**
 * In the child: start n idle picoprocesses through the Pool of a daemon with `workers` threads
 * (or its HTTP API, `inFlight` requests at a time), after `preStarts` of the guest that end,
 * and report. `daemonWarmUp`: the daemon's own warm-up (warm-up.ts; undefined: serve's default).
 */
async function poolChild(
  n: number,
  workers: number,
  api: boolean,
  inFlight: number,
  preStarts: number,
  daemonWarmUp: number | undefined,
  idleMs: number,
): Promise<void> {
  const { startDaemon } = await import('../src/server/daemon.ts');
  const { call } = await import('../src/server/client.ts');
  const d = await startDaemon({ workers, connectionFile: null, warmUp: daemonWarmUp });
  const pool = d.pool;
  const idle = await pool.load(readFileSync(IDLE), 'idle');
  // Each worker gets the module and starts a few (or many: a host serving a while), in batches.
  for (let left = preStarts; left > 0; left -= 1000) {
    const warm = await Promise.all(Array.from({ length: Math.min(1000, left) }, () => pool.spawn({ module: idle, closeStdin: true })));
    await Promise.all(warm.map((p) => pool.wait(p.id)));
  }
  // A daemon that has been quiet a while (V8 shrinks an idle heap after ~10 s: v8-tuning.ts).
  await sleep(idleMs);
  const measured = await measureStarts(n, async () => {
    if (api) {
      const batch = 100;
      let next = 0;
      const client = async () => {
        while (next < n) {
          const count = Math.min(batch, n - next);
          next += count;
          await call(d.connection, 'POST', '/v1/processes', { body: { module: IDLE, count } });
        }
      };
      await Promise.all(Array.from({ length: inFlight }, client));
    } else {
      await Promise.all(Array.from({ length: n }, () => pool.spawn({ module: idle })));
    }
  });
  const running = (await pool.list()).filter((p) => p.state === 'running').length;
  if (running !== n) throw new Error(`${running} of ${n} picoprocesses are running`);
  const r: ChildResult = { n, ...measured, guestTouchedKiB: NaN, prepared: idle.prepared };
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
}

if (process.argv[2] === '--child') await child(Number(process.argv[3]), Number(process.argv[4] ?? FRESH_HOST));
if (process.argv[2] === '--pool-child') {
  const [n, workers, how, preStarts, warmUp, idleMs] = process.argv.slice(3);
  // how: pool, or api:K (K requests in flight)
  await poolChild(
    Number(n),
    Number(workers),
    how!.startsWith('api'),
    Number(how!.split(':')[1] ?? 1),
    Number(preStarts),
    warmUp ? Number(warmUp) : undefined,
    Number(idleMs ?? 0),
  );
}
