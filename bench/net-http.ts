// HTTP requests per second (issue "Network and child processes", benchmark): the C server of
// guests/net/http_server.c (one thread, poll(), keep-alive) compiled to WASI and run by
// `drawbridge run --listen 127.0.0.1:0`, against the same source built natively with gcc -O2,
// both loaded by wrk on loopback in the same run (alternating, median of the reps).
// wrk: 2 threads, 32 connections, 5 s per run, GET / (a 22-byte body); any socket error or
// non-2xx response fails the benchmark.

import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Benchmark, BenchContext } from './lib/context.ts';
import { fixed, median, ratio } from './lib/stats.ts';
import { printTable } from './lib/table.ts';
import { BUILD_DIR, NODE, ROOT } from './lib/paths.ts';

const OUT = join(BUILD_DIR, 'net');
const SOURCE = join(ROOT, 'guests', 'net', 'http_server.c');
const DURATION_S = 5;
const CONNECTIONS = 32;
const CLI = `const { main } = await import(${JSON.stringify(join(ROOT, 'src/cli/main.ts'))}); process.exit(await main(process.argv.slice(1)));`;

function build(): void {
  mkdirSync(OUT, { recursive: true });
  execFileSync('clang', ['--target=wasm32-wasi', '-O2', '-Wl,--strip-all', SOURCE, '-o', join(OUT, 'http_server.wasm')], { stdio: 'inherit' });
  execFileSync('gcc', ['-O2', SOURCE, '-o', join(OUT, 'http_server.native')], { stdio: 'inherit' });
}

function start(runner: 'native' | 'drawbridge'): Promise<{ child: ChildProcess; port: number }> {
  const child =
    runner === 'native'
      ? spawn(join(OUT, 'http_server.native'), ['127.0.0.1', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(NODE, ['--input-type=module', '-e', CLI, 'run', '--listen', '127.0.0.1:0', join(OUT, 'http_server.wasm')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${runner} server did not start: ${out}`)), 30_000);
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on [\d.]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.on('exit', (code) => reject(new Error(`${runner} server exited (${code}): ${out}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.on('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

export const netHttp: Benchmark = {
  name: 'http',
  description: `HTTP requests/s of a C server (poll, keep-alive) under drawbridge vs native gcc, wrk -c${CONNECTIONS} ${DURATION_S} s`,
  byDefault: true,
  async run(ctx: BenchContext) {
    if (spawnSync('wrk', ['--version']).error !== undefined) {
      ctx.fail('http: wrk is missing (apt-get install -y wrk)');
      return;
    }
    build();
    const rps = { native: [] as number[], drawbridge: [] as number[] };
    const latency = { native: [] as string[], drawbridge: [] as string[] };
    for (let rep = 0; rep < ctx.reps; rep++) {
      for (const runner of ['native', 'drawbridge'] as const) {
        const s = await start(runner);
        try {
          const r = spawnSync('wrk', ['-t', '2', '-c', String(CONNECTIONS), '-d', `${DURATION_S}s`, '--timeout', '5s', `http://127.0.0.1:${s.port}/`], {
            encoding: 'utf8',
            timeout: (DURATION_S + 30) * 1000,
          });
          const value = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? NaN);
          if (r.status !== 0 || !Number.isFinite(value) || /Socket errors|Non-2xx/.test(r.stdout)) {
            ctx.fail(`http ${runner}: wrk reported errors or no rate:\n${r.stdout}${r.stderr}`);
            continue;
          }
          rps[runner].push(value);
          latency[runner].push(/Latency\s+(\S+)/.exec(r.stdout)?.[1] ?? '?');
        } finally {
          await stop(s.child);
        }
      }
    }
    const n = median(rps.native);
    const d = median(rps.drawbridge);
    printTable(
      `HTTP GET / on loopback, wrk -t2 -c${CONNECTIONS} -d${DURATION_S}s (requests/s, median of ${ctx.reps}; the same C source)`,
      ['server', 'requests/s', 'mean latency (last run)', 'vs native'],
      [
        ['native (gcc -O2)', fixed(n, 0), latency.native.at(-1) ?? '?', ratio(1)],
        ['drawbridge (wasm32-wasi, clang -O2)', fixed(d, 0), latency.drawbridge.at(-1) ?? '?', ratio(d / n)],
      ],
    );
  },
};
