// Quotas, each exceeded once by a guest (guests/density/quota.c), with the host and a
// picoprocess next to it unharmed: CPU time (stopped from outside, status 152), memory (the
// module's maximum: malloc returns NULL inside the guest), handles, bytes written and children
// (the monitor's clean errors, which the guest sees and reports).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Supervisor, type Entry } from '../../src/server/supervisor.ts';
import { emptyManifest, type Limits, type Manifest } from '../../src/monitor/manifest/manifest.ts';
import { CPU_EXCEEDED_EXIT_CODE } from '../../src/abi/exit-status.ts';
import { Governor, limitModuleMemory, MemoryLimitError } from '../../src/runtime/quotas.ts';
import { IMPORT_MAX_ARGS } from '../../src/libos/index.ts';

const GUESTS = join(import.meta.dirname, '..', '..', 'build', 'guests', 'density');
const text = (e: Entry, which: 'stdout' | 'stderr' = 'stdout') => new TextDecoder().decode(e[which].read().bytes);

function manifest(limits: Partial<Limits>, mounts: Manifest['mounts'] = []): Manifest {
  const m = emptyManifest();
  m.limits = { ...m.limits, ...limits };
  m.mounts = mounts;
  return m;
}

async function ask(e: Entry, line: string): Promise<string> {
  const from = e.stdout.total;
  const deadline = Date.now() + 5000;
  e.stdin.feed(new TextEncoder().encode(line + '\n'));
  while (!new TextDecoder().decode(e.stdout.read(from).bytes).includes('\n')) {
    if (Date.now() > deadline) throw new Error(`no answer to ${line}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return new TextDecoder().decode(e.stdout.read(from).bytes);
}

test('every quota exceeded once; the host and a neighbour carry on', async () => {
  const sv = new Supervisor();
  const quota = await sv.load(readFileSync(join(GUESTS, 'quota.wasm')), 'quota');
  const idle = await sv.load(readFileSync(join(GUESTS, 'idle.wasm')), 'idle');
  assert.equal(quota.prepared, true, 'the quota guest is prepared (wasm-opt is installed)');
  const neighbour = await sv.spawn({ module: idle });
  assert.equal(await ask(neighbour, 'before'), 'echo: before\n');

  // CPU time: a guest that computes forever is stopped at its limit, with a clear status.
  const spin = await sv.spawn({ module: quota, args: ['spin'], manifest: manifest({ cpuTimeMs: 200 }) });
  const spun = await spin.done;
  assert.equal(spun.exitCode, CPU_EXCEEDED_EXIT_CODE);
  assert.match(spun.error ?? '', /CPU time limit exceeded \(200 ms/);
  // Stopped at its first check past the limit: the charge is the limit plus at most a slice or so.
  assert.ok(spin.governor.cpuMs >= 200 && spin.governor.cpuMs < 1000, `charged ${spin.governor.cpuMs} ms`);

  // Memory: growth past limits.memory fails inside the guest (malloc returns NULL).
  const mem = await sv.spawn({ module: quota, args: ['memory'], manifest: manifest({ memory: 4 * 2 ** 20 }) });
  assert.equal((await mem.done).exitCode, 0);
  const got = /memory: got (\d+) MiB, then NULL/.exec(text(mem));
  assert.ok(got, text(mem));
  // The limit, plus the 1 MiB a checkpoint's unwind needs (prepared modules; see quotas.ts).
  assert.ok(Number(got[1]) >= 2 && Number(got[1]) <= 5, got[0]);

  // Handles: opening past limits.handles fails with EMFILE-like errno, not a crash.
  const dir = mkdtempSync(join(tmpdir(), 'quota-'));
  const handles = await sv.spawn({ module: quota, args: ['handles', '/d'], manifest: manifest({ handles: 16 }, [{ host: dir, guest: '/d', mode: 'ro' }]) });
  assert.equal((await handles.done).exitCode, 0);
  const opened = /handles: opened (\d+), then errno (\d+)/.exec(text(handles));
  assert.ok(opened, text(handles));
  assert.ok(Number(opened[1]) > 0 && Number(opened[1]) < 16, opened[0]);
  assert.notEqual(Number(opened[2]), 0);

  // Bytes written: writes past limits.bytes_written fail; the guest says so on stderr... which
  // is also refused (the quota covers every stream), so it is its exit that tells.
  const write = await sv.spawn({ module: quota, args: ['write'], manifest: manifest({ bytesWritten: 64 * 1024 }) });
  assert.equal((await write.done).exitCode, 0);
  assert.equal(write.stdout.total, 64 * 1024);

  // Children: one allowed, the second spawn fails cleanly.
  const children = await sv.spawn({
    module: quota,
    args: ['children', '/g/idle.wasm'],
    manifest: manifest({ children: 1 }, [{ host: GUESTS, guest: '/g', mode: 'ro' }]),
    stdin: new Uint8Array(0),
  });
  assert.equal((await children.done).exitCode, 0);
  assert.match(text(children), /children: spawned 1, then errno [1-9]/);

  // The neighbour never noticed.
  assert.equal(await ask(neighbour, 'after'), 'echo: after\n');
  assert.equal(neighbour.state, 'running');
  sv.kill(neighbour.id);
  assert.equal((await neighbour.done).exitCode, 137);
});

test('memory limit at load: maximum written into the module, too-big initial memory refused', () => {
  const bytes = readFileSync(join(GUESTS, 'idle.wasm'));
  const limited = limitModuleMemory(bytes, 1 * 2 ** 20);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(limited), stubImports(bytes));
  const memory = instance.exports.memory as WebAssembly.Memory;
  assert.throws(() => memory.grow(16), RangeError); // 2 + 16 pages > 16
  memory.grow(14);
  assert.equal(memory.buffer.byteLength, 16 * 65536);
  assert.throws(() => limitModuleMemory(bytes, 65536), MemoryLimitError);
  assert.equal(limitModuleMemory(limited, 8 * 2 ** 20), limited, 'a smaller declared maximum is kept');
});

function stubImports(bytes: Uint8Array): WebAssembly.Imports {
  const imports: Record<string, Record<string, () => number>> = {};
  for (const i of WebAssembly.Module.imports(new WebAssembly.Module(bytes))) (imports[i.module] ??= {})[i.name] = () => 0;
  return imports;
}

test('the governor passes every argument through: up to IMPORT_MAX_ARGS as a fixed list, past it all of them, and a promise is waited on', async () => {
  const g = new Governor(60_000);
  const sum = (...a: number[]) => a.reduce((x, y) => x + y, 0);
  const nine = (a: number, b: number, c: number, d: number, e: number, f: number, h: number, i: number, j: number) => sum(a, b, c, d, e, f, h, i, j);
  assert.equal(g.wrap(nine)(1, 2, 3, 4, 5, 6, 7, 8, 9), 45);
  const wide = Array.from({ length: IMPORT_MAX_ARGS + 2 }, (_, k) => k + 1);
  // A function that declares more parameters than the fixed list gets every one of them.
  const twelve = new Function(...wide.map((k) => `p${k}`), `return ${wide.map((k) => `p${k}`).join(' + ')};`) as (...a: number[]) => number;
  assert.equal(twelve.length, IMPORT_MAX_ARGS + 2);
  assert.equal(g.wrap(twelve)(...wide), sum(...wide));
  assert.equal(await g.wrap((x: number) => Promise.resolve(x * 2))(21), 42);
});
