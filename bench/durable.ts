// `node bench/durable.ts`: what log mode costs (docs/durable.md, "Costs"), through the CLI as a
// user runs it:
// - log bytes per second of an interactive program (guests/durable/lines: a line on stdin
//   every 200 ms, a little computing for each) and of a file-heavy one (guests/durable/filemix:
//   writes a file, reads it back twice), and the run time with and without --durable;
// - restore time against the original run time: lines computing about ROUNDS rounds per line,
//   checkpointed while it waits for its third line, restored with stdin closed (it replays
//   two lines of computing, goes live, reads the end of its input and ends).

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = 'bin/drawbridge.js';
const dir = mkdtempSync(join(tmpdir(), 'db-bench-durable-'));
const env = { ...process.env, DRAWBRIDGE_KEY: join(dir, 'host.key'), DRAWBRIDGE_CACHE: join(dir, 'cache') };
const node = process.execPath;
const now = () => performance.now();

function timed(args: string[], input = '', extraEnv: Record<string, string> = {}): { ms: number; status: number | null; stderr: string } {
  const t = now();
  const r = spawnSync(node, [BIN, ...args], { env: { ...env, ...extraEnv }, input, encoding: 'utf8' });
  return { ms: now() - t, status: r.status, stderr: r.stderr };
}

async function interactive(): Promise<void> {
  const log = join(dir, 'lines.dlog');
  const child = spawn(node, [BIN, 'run', `--durable=${log}`, 'build/guests/durable/lines.wasm', '2000000'], { env });
  const t = now();
  for (let i = 0; i < 25; i++) {
    child.stdin.write(`line number ${i} with some words in it\n`);
    await new Promise((r) => setTimeout(r, 200));
  }
  child.stdin.end();
  await new Promise((r) => child.on('close', r));
  const s = (now() - t) / 1000;
  const bytes = statSync(log).size;
  console.log(`interactive (lines, 25 lines at 5/s): ${bytes} log bytes in ${s.toFixed(1)} s = ${(bytes / s).toFixed(0)} B/s`);
}

function fileHeavy(mib: number): void {
  const data = mkdtempSync(join(dir, 'data-'));
  const log = join(dir, 'filemix.dlog');
  // The baseline runs unprepared too (as log mode does), so only the log differs.
  const plain = timed(['run', '--dir', `${data}::/data`, 'build/guests/durable/filemix.wasm', String(mib)], '', { DRAWBRIDGE_CHECKPOINT: '0' });
  const logged = timed(['run', `--durable=${log}`, '--dir', `${data}::/data`, 'build/guests/durable/filemix.wasm', String(mib)]);
  const bytes = statSync(log).size;
  console.log(
    `file-heavy (filemix, ${mib} MiB written, ${2 * mib} MiB read): ${bytes} log bytes (${(bytes / 2 ** 20).toFixed(1)} MiB) in ${(logged.ms / 1000).toFixed(2)} s = ${(bytes / 2 ** 20 / (logged.ms / 1000)).toFixed(1)} MiB/s; run ${(plain.ms / 1000).toFixed(2)} s without the log, ${(logged.ms / 1000).toFixed(2)} s with it`,
  );
}

async function restoreTime(rounds: string): Promise<void> {
  const file = join(dir, 'lines.ckpt');
  const child = spawn(node, [BIN, 'run', '--durable', 'build/guests/durable/lines.wasm', rounds], { env });
  let out = '';
  child.stdout.setEncoding('utf8');
  const seen = (text: string) =>
    new Promise<void>((resolve) => {
      const check = () => (out.includes(text) ? resolve() : undefined);
      child.stdout.on('data', (d: string) => {
        out += d;
        check();
      });
      check();
    });
  await seen('ready');
  const t = now();
  child.stdin.write('alpha\n');
  await seen('line 1:');
  child.stdin.write('beta\n');
  await seen('line 2:');
  const original = now() - t;
  const ck = timed(['checkpoint', String(child.pid), '-o', file]);
  if (ck.status !== 0) throw new Error(ck.stderr);
  await new Promise((r) => child.on('close', r));
  const restored = timed(['restore', file], '');
  if (restored.status === null || restored.stderr) throw new Error(restored.stderr);
  const size = readFileSync(file).length;
  console.log(
    `restore (lines, ${rounds} rounds a line): the original computed 2 lines in ${(original / 1000).toFixed(2)} s; checkpoint ${(ck.ms / 1000).toFixed(2)} s (${size} bytes); restore to the end ${(restored.ms / 1000).toFixed(2)} s`,
  );
}

if (!process.argv.includes('--file-only')) await interactive();
fileHeavy(16);
if (!process.argv.includes('--file-only')) await restoreTime(process.argv[2] ?? '1500000000');
rmSync(dir, { recursive: true, force: true });
