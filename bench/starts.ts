// Starts per second as a client sees them: a freshly started `drawbridge serve` (the built CLI,
// a process of its own, as a user starts it: its warm-up, its default worker threads), and this
// process as the client outside it, over HTTP on loopback. Each round starts a new daemon, asks
// GET /v1/health as soon as it says where it listens (the time to its first answer counts from
// the spawn of the CLI), then sends BATCHES requests POST /v1/processes with `count` 1 000 of
// the idle density guest (guests/density/idle.c: blocked reading stdin, so all stay alive),
// one after the other, each on a new connection. A batch's rate is 1 000 over the time from
// its request to the last byte of the answer (the daemon answers once all 1 000 have started).
// The guest is run once with `drawbridge run` beforehand, so that its prepared module is in
// the on-disk cache, as for a daemon that has run it before.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Benchmark, BenchContext } from './lib/context.ts';
import { NODE, ROOT } from './lib/paths.ts';
import { fixed, median } from './lib/stats.ts';
import { printTable } from './lib/table.ts';
import { ensureDist } from './startup.ts';

const IDLE = join(ROOT, 'build', 'guests', 'density', 'idle.wasm');
const CLI = join(ROOT, 'bin', 'drawbridge.js');
const BATCH = 1000;
const BATCHES = 5;
/** Longest wait for a daemon to listen, and for one answer. */
const DAEMON_TIMEOUT_MS = 60_000;

interface Answer {
  status: number;
  body: string;
}

function call(url: string, token: string, method: string, path: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${url}${path}`,
      {
        method,
        agent: false,
        timeout: DAEMON_TIMEOUT_MS,
        headers: { authorization: `Bearer ${token}`, ...(data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in ${DAEMON_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(data);
  });
}

/** Resolves with the daemon's URL once it prints where it listens; rejects if it exits or takes too long. */
function listening(daemon: ChildProcess, stderr: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`drawbridge serve did not listen in ${DAEMON_TIMEOUT_MS} ms`)), DAEMON_TIMEOUT_MS);
    daemon.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    daemon.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`drawbridge serve exited (${code}) before listening: ${stderr().trim()}`));
    });
  });
}

interface Round {
  firstAnswerMs: number;
  warmUpMs: number;
  workers: number;
  rates: number[];
}

async function round(ctx: BenchContext): Promise<Round | null> {
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-bench-starts-'));
  const token = randomBytes(16).toString('hex');
  let err = '';
  const t0 = performance.now();
  const daemon = spawn(NODE, [CLI, 'serve', '--listen', '127.0.0.1:0', '--connection-file', join(dir, 'serve.json'), '--quiet'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DRAWBRIDGE_TOKEN: token },
  });
  daemon.stderr!.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4000)));
  const exited = new Promise((resolve) => daemon.on('exit', resolve));
  try {
    const url = await listening(daemon, () => err);
    const health = await call(url, token, 'GET', '/v1/health');
    const firstAnswerMs = performance.now() - t0;
    if (health.status !== 200) throw new Error(`GET /v1/health: ${health.status} ${health.body}`);
    const h = JSON.parse(health.body) as { workers: number; warmUp: { ms?: number } | null };
    const rates: number[] = [];
    for (let b = 0; b < BATCHES; b++) {
      const t = performance.now();
      const a = await call(url, token, 'POST', '/v1/processes', { module: IDLE, count: BATCH });
      const ms = performance.now() - t;
      const started = a.status === 201 ? (JSON.parse(a.body) as { processes: { state: string }[] }).processes : [];
      if (started.length !== BATCH) throw new Error(`POST /v1/processes count ${BATCH}: ${a.status} ${a.body.slice(0, 200)}`);
      rates.push(BATCH / (ms / 1000));
    }
    // Every guest must still be alive, blocked on its stdin.
    const after = JSON.parse((await call(url, token, 'GET', '/v1/health')).body) as { processes: number };
    const listed = JSON.parse((await call(url, token, 'GET', '/v1/processes')).body) as { processes: { state: string }[] };
    const ended = listed.processes.filter((p) => p.state !== 'running');
    if (after.processes !== BATCH * BATCHES || ended.length)
      throw new Error(
        `after ${BATCHES} batches the daemon holds ${after.processes} picoprocesses, ${ended.length} of those listed not running (${ended[0]?.state})`,
      );
    return { firstAnswerMs, warmUpMs: h.warmUp?.ms ?? NaN, workers: h.workers, rates };
  } catch (e) {
    ctx.fail(`starts: ${(e as Error).message}`);
    return null;
  } finally {
    daemon.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

export const starts: Benchmark = {
  name: 'starts',
  description: `starts/s as a client sees them: a fresh drawbridge serve, POST /v1/processes count ${BATCH} from outside`,
  byDefault: false,
  async run(ctx: BenchContext) {
    const built = spawnSync(NODE, [join(ROOT, 'scripts', 'build-guests.ts')], { encoding: 'utf8' });
    if (built.status !== 0) return ctx.fail(`starts: building the guests failed: ${built.stderr.trim()}`);
    if (!ensureDist()) return ctx.fail('starts: dist/ could not be built (npm run build)');
    // Its prepared module into the on-disk cache (stdin closed: it ends at once).
    const warm = spawnSync(NODE, [CLI, 'run', IDLE], { cwd: ROOT, input: '', encoding: 'utf8' });
    if (warm.status !== 0) return ctx.fail(`starts: drawbridge run ${IDLE}: exit ${warm.status}: ${warm.stderr.trim()}`);

    const rounds: Round[] = [];
    for (let r = 0; r < ctx.reps; r++) {
      const got = await round(ctx);
      if (got) rounds.push(got);
    }
    if (!rounds.length) return;
    const rows = rounds.map((r, i) => [
      String(i + 1),
      String(r.workers),
      fixed(r.firstAnswerMs, 0),
      fixed(r.warmUpMs, 0),
      ...r.rates.map((x) => fixed(x, 0)),
      fixed(median(r.rates), 0),
    ]);
    const firsts = rounds.map((r) => r.rates[0]!);
    const all = rounds.flatMap((r) => r.rates);
    rows.push([
      'median',
      '',
      fixed(median(rounds.map((r) => r.firstAnswerMs)), 0),
      fixed(median(rounds.map((r) => r.warmUpMs)), 0),
      ...Array.from({ length: BATCHES }, (_, b) => fixed(median(rounds.map((r) => r.rates[b]!)), 0)),
      fixed(median(all), 0),
    ]);
    printTable(
      `Starts as a client sees them: ${rounds.length} fresh \`drawbridge serve\` daemons, each sent ${BATCHES} POST /v1/processes with count ${BATCH} (idle guests, all left running) from outside (starts/s; first batches' median ${fixed(median(firsts), 0)}, all batches' ${fixed(median(all), 0)})`,
      ['daemon', 'workers', 'first answer (ms from spawn)', 'its warm-up (ms)', ...Array.from({ length: BATCHES }, (_, b) => `batch ${b + 1}`), 'median'],
      rows,
    );
  },
};
