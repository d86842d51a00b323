// Runs one measurement in a fresh child process: drawbridge, node:wasi or the native binary.
// A fresh process per measurement keeps V8 flags, JIT state and node:wasi's per-process
// instance limit from leaking from one measurement into the next.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { ChildResult, ChildSpec } from './child-spec.ts';
import { NODE, ROOT } from './paths.ts';

export type Runner = 'drawbridge' | 'node:wasi' | 'native';

export interface Outcome {
  /** Wall time of the whole child process, parent-measured. */
  wallMs: number;
  /** From spawn to the first byte on stdout (NaN if none), parent-measured. */
  firstOutputMs: number;
  stdout: string;
  stderr: string;
  exitCode: number;
  /** Only for drawbridge and node:wasi. */
  result?: ChildResult;
}

export interface SpawnOptions {
  /** Where the child's stdout goes: captured, or /dev/null. */
  stdout?: 'pipe' | 'ignore';
  /** Extra Node flags for the child (before the script). */
  nodeFlags?: string[];
  /** Set in the child's environment, over the parent's. */
  env?: Record<string, string>;
}

const PEER_FLAGS = ['--single-threaded-gc'];

export function runProcess(file: string, args: string[], options: SpawnOptions = {}, withResult = false): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const stdio: ('pipe' | 'ignore')[] = ['ignore', options.stdout ?? 'pipe', 'pipe'];
    if (withResult) stdio.push('pipe');
    const child = spawn(file, args, { stdio, cwd: ROOT, env: options.env ? { ...process.env, ...options.env } : process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const res: Buffer[] = [];
    let firstOutputMs = NaN;
    child.stdout?.on('data', (b: Buffer) => {
      if (out.length === 0) firstOutputMs = performance.now() - t;
      out.push(b);
    });
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    (child.stdio[3] as NodeJS.ReadableStream | undefined)?.on('data', (b: Buffer) => res.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const wallMs = performance.now() - t;
      const outcome: Outcome = {
        wallMs,
        firstOutputMs,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        exitCode: code ?? 128 + (signal ? 9 : 0),
      };
      if (withResult) {
        const text = Buffer.concat(res).toString();
        if (!text) return reject(new Error(`${file} ${args.join(' ')}: no result (exit ${code}${signal ? `, ${signal}` : ''})\n${outcome.stderr}`));
        outcome.result = JSON.parse(text) as ChildResult;
      }
      resolve(outcome);
    });
  });
}

/** Run a wasm module under drawbridge or node:wasi, or its native build. */
export function runGuest(runner: Runner, spec: ChildSpec, native: string | null, options: SpawnOptions = {}): Promise<Outcome> {
  if (runner === 'native') {
    if (!native) throw new Error('no native build');
    return runProcess(native, spec.args.slice(1), options);
  }
  const script = join(ROOT, 'bench', 'lib', runner === 'drawbridge' ? 'child-drawbridge.ts' : 'child-nodewasi.ts');
  const flags = [...(runner === 'node:wasi' ? PEER_FLAGS : []), ...(options.nodeFlags ?? [])];
  return runProcess(NODE, [...flags, script, JSON.stringify(spec)], options, true);
}

/** Total in-child time of one run: compile + instantiate + _start (Node's own start-up excluded). */
export function guestMs(o: Outcome): number {
  return o.result ? o.result.compileMs + runMs(o) : o.wallMs;
}

/** The guest's run time, without the compile (a process without a result: its whole time). */
export function runMs(o: Outcome): number {
  return o.result ? o.result.runMs.reduce((a, b) => a + b, 0) : o.wallMs;
}
