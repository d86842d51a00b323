// Diagnostic for open item 1 in docs/real-programs.md: build stdio-probe.c with the system
// WASI clang and run it inside drawbridge with captured stdio (what the tests use).
// Usage: node test/real/programs/stdio-probe.ts
// Seen so far: every fd reports filetype 2 (CHARACTER_DEVICE) without seek rights, so
// isatty() = 1; wasmtime reports non-terminal stdio as filetype 0 (UNKNOWN), isatty() = 0.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand } from '../../../src/runtime/run.ts';

const wasm = join(mkdtempSync(join(tmpdir(), 'stdio-probe-')), 'probe.wasm');
execFileSync('clang', ['--target=wasm32-wasi', '-O2', fileURLToPath(new URL('./stdio-probe.c', import.meta.url)), '-o', wasm]);
const r = await runCommand({ module: wasm, args: ['probe'], capture: true, stdin: new Uint8Array(0) });
process.stdout.write(r.stdout);
