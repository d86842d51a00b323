// fd_read and fd_write move bytes straight between views of guest memory and the host
// (src/libos/wasi/fd-io.ts): an iovec that ends at the last byte of memory, one that passes it
// (a trap), several iovecs at once, pages added by memory.grow after earlier calls, a write
// whose iovecs name the same memory many times (short: the host's copy is bounded), a
// datagram whose iovecs pass that bound (refused, not cut short), and limits.bytes_written
// refusing a write that would pass it whole, however many iovecs it has. The guests
// (guests/libos/iovecs.c, udp_writev.c) check every byte they read and write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyManifest } from '../../src/monitor/manifest/manifest.ts';
import { parseEndpointPattern, type EndpointPattern } from '../../src/monitor/network/pattern.ts';
import { runCommand, type RunResult } from '../../src/runtime/run.ts';

process.env.DRAWBRIDGE_CACHE ??= mkdtempSync(join(tmpdir(), 'drawbridge-fd-io-views-cache-'));
const GUEST = readFileSync(join(import.meta.dirname, '..', '..', 'build', 'guests', 'libos', 'iovecs.wasm'));
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** A fresh /data holding in.bin (byte i is i), and the guest run on CASE there. */
async function run(which: string, bytesWritten?: number): Promise<{ r: RunResult; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-fd-io-views-'));
  writeFileSync(
    join(dir, 'in.bin'),
    Uint8Array.from({ length: 256 }, (_, i) => i),
  );
  const manifest = emptyManifest();
  if (bytesWritten !== undefined) manifest.limits = { ...manifest.limits, bytesWritten };
  const r = await runCommand({ module: GUEST, args: ['iovecs', which], dirs: [{ host: dir, guest: '/data' }], manifest, capture: true });
  return { r, dir };
}

function ok(r: RunResult, which: string): void {
  assert.equal(r.exitCode, 0, `${which}: ${text(r.stdout)}${text(r.stderr)}`);
  assert.equal(text(r.stdout), `ok ${which}\n`);
}

test('an iovec ending at the last byte of memory is read into and written from', async () => {
  const { r, dir } = await run('end');
  ok(r, 'end');
  assert.deepEqual(
    [...readFileSync(join(dir, 'out.bin'))],
    Array.from({ length: 100 }, (_, i) => i),
  );
});

test('an iovec one byte past the end of memory traps: the call does not come back', async () => {
  const { r } = await run('past-end');
  assert.equal(text(r.stdout), 'reading past the end\n');
  assert.notEqual(r.exitCode, 0);
  assert.match(r.error ?? text(r.stderr), /pointer out of bounds: 101 bytes at/);
});

test('several iovecs: each gets its part of the file, in order, and a write gathers them', async () => {
  const { r, dir } = await run('several');
  ok(r, 'several');
  assert.deepEqual([...readFileSync(join(dir, 'out.bin'))], [111, 112, 113, 114, 115, 3, 4, 5, 6]);
});

test('reads into and writes from pages memory.grow added after earlier calls', async () => {
  const { r, dir } = await run('grow');
  ok(r, 'grow');
  assert.deepEqual(
    [...readFileSync(join(dir, 'out.bin'))],
    Array.from({ length: 128 }, (_, i) => i),
  );
});

test('a write of 64 iovecs naming the same MiB is short: the host never copies 64 MiB of them', async () => {
  const { r, dir } = await run('many');
  assert.equal(r.exitCode, 0, text(r.stdout) + text(r.stderr));
  const [, wrote, then] = /^wrote (\d+)\nthen (\d+)\nok many\n$/.exec(text(r.stdout)) ?? assert.fail(text(r.stdout));
  // At most the first iovec plus a bounded gather of the next: far from the 63 MiB they add up to.
  assert.ok(Number(wrote) >= 16 && Number(wrote) <= 16 + 65536, `wrote ${wrote}`);
  assert.ok(Number(then) >= 2 ** 20 && Number(then) <= 2 ** 20 + 65536, `then ${then}`);
  const out = readFileSync(join(dir, 'out.bin'));
  assert.equal(out.length, Number(wrote) + Number(then));
  assert.deepEqual([...out.subarray(0, 20)], [...Array.from({ length: 16 }, (_, i) => i), 0, 1, 2, 3]);
});

test('a write past limits.bytes_written is refused whole, with one iovec or three', async () => {
  const { r, dir } = await run('quota', 1000);
  assert.equal(r.exitCode, 0, text(r.stdout) + text(r.stderr));
  assert.equal(text(r.stderr), 'ok quota\n');
  assert.equal(readFileSync(join(dir, 'out.bin')).length, 900);
});

test('a datagram of iovecs past 64 KiB is refused whole (EMSGSIZE), not sent cut short', async () => {
  const server = createSocket('udp4');
  const got: string[] = [];
  server.on('message', (m) => got.push(m.length > 16 ? `${m.length} bytes` : m.toString()));
  await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
  try {
    const manifest = emptyManifest();
    manifest.network = { connect: [parseEndpointPattern('127.0.0.1:*') as EndpointPattern], listen: [] };
    const guest = readFileSync(join(import.meta.dirname, '..', '..', 'build', 'guests', 'libos', 'udp_writev.wasm'));
    const r = await runCommand({ module: guest, args: ['udp_writev', String(server.address().port)], manifest, capture: true });
    assert.equal(r.exitCode, 0, text(r.stdout) + text(r.stderr));
    assert.equal(text(r.stdout), 'small: 5\nhuge: EMSGSIZE\nafter: 5\n');
    // Loopback keeps order: "after" arriving means anything sent before it has arrived.
    const deadline = Date.now() + 5000;
    while (!got.includes('after') && Date.now() < deadline) await new Promise((res) => setTimeout(res, 5));
    assert.deepEqual(got, ['small', 'after']);
  } finally {
    server.close();
  }
});
