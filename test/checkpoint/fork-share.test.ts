// fork with POSIX sharing (guests/process/fork_share.c, fork_flags.c): parent and child share
// the open file description of every descriptor opened before fork (one position, one set of
// file status flags: O_APPEND, O_NONBLOCK), and a pipe made before fork is one pipe whose write
// ends in both processes count for end of file.
import { test } from 'node:test';
import { testNeedingBinaryen } from '../support/toolchain.ts';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileModule } from '../../src/runtime/module-cache.ts';
import { prepareModule } from '../../src/runtime/prepare.ts';
import { startCommand } from '../../src/runtime/picoprocess.ts';
import { emptyManifest, type Manifest } from '../../src/monitor/manifest/manifest.ts';
import { createNodeHost } from '../../src/host/node/index.ts';
import { createMemoryHost } from '../../src/host/memory/index.ts';
import type { Host, ProcessLauncher } from '../../src/host/kernel/host.ts';
import { Access, StatusFlag, StreamSide } from '../../src/abi/dk.ts';
import { DkError } from '../../src/abi/errors.ts';
import { createWasiLibOs } from '../../src/libos/index.ts';
import { Fdflags, Filetype } from '../../src/libos/core/constants.ts';

const GUEST = readFileSync('build/guests/process/fork_share.wasm');
const FLAGS_GUEST = readFileSync('build/guests/process/fork_flags.wasm');

async function run(host: Host, dir: string, guest = GUEST, args = ['fork_share']) {
  const bytes = await prepareModule(guest);
  const module = await compileModule(bytes);
  const base = emptyManifest();
  const manifest: Manifest = { ...base, mounts: [{ host: dir, guest: '/data', mode: 'rw' }], limits: { ...base.limits, children: 1 } };
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const r = await startCommand({
    host,
    module,
    args,
    manifest,
    capture: { moduleBytes: bytes, moduleName: `${args[0]}.wasm` },
    stdout: (b) => void out.push(b),
    stderr: (b) => void err.push(b),
  });
  const status = await r.done;
  return { status, out: Buffer.concat(out).toString(), err: Buffer.concat(err).toString() };
}

const EXPECTED =
  "parent: child says 'go'; position 8\n" +
  "child: read 'through the pipe', then end of file\n" +
  'child: the shared position is 11\n' +
  'parent: child exited 7; its pipe reads 0 (end of file)\n' +
  "parent: file 'head:abcXYZ', position 11\n";

testNeedingBinaryen('after fork: one file position for both, appends interleave, a pipe is shared and ends when both close it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-fork-share-'));
  const r = await run(createNodeHost(), dir);
  assert.equal(r.status.exitCode, 0, r.err + (r.status.error ?? ''));
  assert.equal(r.out, EXPECTED);
  // The parent's write landed after the child's: one position, not two copies.
  assert.equal(readFileSync(join(dir, 'shared.txt'), 'utf8'), 'head:abcXYZ');
  assert.equal(readFileSync(join(dir, 'append.log'), 'utf8'), 'child 1\nparent 1\nchild 2\nparent 2\n');
});

testNeedingBinaryen("after fork the file status flags are the open description's: O_APPEND set by the child holds for the parent", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-fork-flags-'));
  const r = await run(createNodeHost(), dir, FLAGS_GUEST, ['fork_flags', 'append']);
  assert.equal(r.status.exitCode, 0, r.err + (r.status.error ?? ''));
  assert.equal(
    r.out,
    'parent: before fork O_APPEND is not set\n' +
      'child: set O_APPEND (now set); wrote at the end, position 15\n' +
      'parent: child exited 0; O_APPEND is set\n' +
      'parent: wrote after seeking to 0, position 21\n' +
      'parent: cleared O_APPEND (now not set); wrote at 0, position 1\n' +
      "parent: file 'X123456789childparent'\n",
  );
  // Both appends went to the end (the parent had seeked to 2, then to 0); the last write did not.
  assert.equal(readFileSync(join(dir, 'flags.txt'), 'utf8'), 'X123456789childparent');
});

testNeedingBinaryen("after fork O_NONBLOCK set by the parent on a pipe read end is the child's too, and cleared by the child, the parent's", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-fork-flags-'));
  const r = await run(createNodeHost(), dir, FLAGS_GUEST, ['fork_flags', 'nonblock']);
  assert.equal(r.status.exitCode, 0, r.err + (r.status.error ?? ''));
  assert.equal(
    r.out,
    'parent: set O_NONBLOCK on the read end (now set)\n' +
      'child: O_NONBLOCK on the read end is set\n' +
      'child: read of the empty pipe: -1, EAGAIN\n' +
      'child: cleared it\n' +
      'parent: child exited 0; O_NONBLOCK is not set\n' +
      "parent: read 4 'data'\n",
  );
});

test('the kernel: status flags belong to the stream object, seen through every handle on it; APPEND writes at the end', () => {
  const host = createMemoryHost();
  let passed: readonly unknown[] = [];
  const launcher: ProcessLauncher = (req) => {
    passed = req.stdio;
    return { exited: new Promise<number>(() => {}), kill() {} };
  };
  const parent = host.createProcess({ launcher });
  const RW = Access.READ | Access.WRITE;
  const f = parent.dk.streamOpen('file:/f', RW, 1, 0) as number; // Create.CREATE
  const a = parent.dk.streamOpen('pipe:', RW, 0, 0) as number;
  assert.ok(f > 0 && a > 0);
  assert.equal(parent.dk.streamWrite(f, -1, new TextEncoder().encode('0123456789')), 10);
  assert.equal(parent.dk.streamAttributesSetByHandle(f, { position: 2 }), 0);
  assert.equal((parent.dk.streamAttributesQueryByHandle(f) as { statusFlags?: number }).statusFlags, undefined, 'none set');
  assert.ok(parent.dk.processCreate('file:/x.wasm', [], [0, 0, 0, f, a]) > 0);
  const child = host.createProcess({ stdioStreams: passed });
  const cf = child.dk.streamOpen('inherit:3', 0, 0, 0) as number;
  const ca = child.dk.streamOpen('inherit:4', 0, 0, 0) as number;
  assert.ok(cf > 0 && ca > 0);
  // The child sets APPEND; the parent's handle sees it, and its write at the position goes to the end.
  assert.equal(child.dk.streamAttributesSetByHandle(cf, { statusFlags: StatusFlag.APPEND }), 0);
  assert.equal((parent.dk.streamAttributesQueryByHandle(f) as { statusFlags?: number }).statusFlags, StatusFlag.APPEND);
  assert.equal(parent.dk.streamWrite(f, -1, new TextEncoder().encode('ab')), 2);
  assert.equal((parent.dk.streamAttributesQueryByHandle(f) as { position: number }).position, 12, 'the position follows the append');
  assert.equal(parent.dk.streamWrite(f, 0, new TextEncoder().encode('c')), 1, 'an explicit offset appends too (pwrite on O_APPEND)');
  const buf = new Uint8Array(32);
  assert.equal(new TextDecoder().decode(buf.subarray(0, child.dk.streamRead(cf, 0, buf) as number)), '0123456789abc');
  // Any stream keeps them: a pipe end, set by the parent, seen by the child; cleared, gone.
  assert.equal(parent.dk.streamAttributesSetByHandle(a, { statusFlags: StatusFlag.NONBLOCK }), 0);
  assert.equal((child.dk.streamAttributesQueryByHandle(ca) as { statusFlags?: number }).statusFlags, StatusFlag.NONBLOCK);
  assert.equal(child.dk.streamAttributesSetByHandle(ca, { statusFlags: 0 }), 0);
  assert.equal((parent.dk.streamAttributesQueryByHandle(a) as { statusFlags?: number }).statusFlags, undefined);
  for (const bad of [4, -1, 1.5, 2 ** 32 + 1, '1']) {
    assert.equal(parent.dk.streamAttributesSetByHandle(a, { statusFlags: bad as number }), DkError.INVALID_ARGUMENT, String(bad));
  }
  assert.equal(parent.dk.streamAttributesSetByHandle(a, { position: 1 }), DkError.WRONG_HANDLE_TYPE, 'a pipe has no position');
  child.kill(0);
  parent.kill(0);
});

test("the library OS: fdstat of a description shared by fork is the host stream's; a checkpoint records it and a restore keeps it", () => {
  const host = createMemoryHost();
  let passed: readonly unknown[] = [];
  const launcher: ProcessLauncher = (req) => {
    passed = req.stdio;
    return { exited: new Promise<number>(() => {}), kill() {} };
  };
  const options = { args: ['x'], env: [], preopens: [{ guestPath: '/' }] };
  const { APPEND, NONBLOCK } = Fdflags;
  /** fd_fdstat_set_flags and fd_fdstat_get's fs_flags through the syscalls, as a guest calls them. */
  const guest = (dk: Parameters<typeof createWasiLibOs>[0], saved?: Parameters<typeof createWasiLibOs>[2]) => {
    const os = createWasiLibOs(dk, options, saved);
    const memory = new WebAssembly.Memory({ initial: 1 });
    os.attachMemory(memory);
    return {
      os,
      setFlags: (fd: number, flags: number) => os.syscall('fd_fdstat_set_flags')!(fd, flags) as number,
      flags: (fd: number) => {
        assert.equal(os.syscall('fd_fdstat_get')!(fd, 64), 0);
        return new DataView(memory.buffer).getUint16(64 + 2, true);
      },
    };
  };
  const parent = guest(host.createProcess({ launcher }).dk);
  const h = parent.os.state.dk.streamOpen('file:/f', Access.READ | Access.WRITE, 1, 0) as number;
  assert.ok(h > 0);
  const fd = parent.os.state.fds.add({
    kind: 'file',
    handle: h,
    guestPath: '/f',
    preopen: null,
    filetype: Filetype.REGULAR_FILE,
    position: 0,
    append: false,
    nonblocking: true,
    readable: true,
    writable: true,
  });
  const forked = parent.os.state.saveForFork();
  assert.ok(typeof forked !== 'string', String(forked));
  assert.ok(parent.os.state.dk.processCreate('file:/x.wasm', [], forked.handles) > 0);
  const child = guest(host.createProcess({ stdioStreams: passed }).dk, forked.saved);
  assert.equal(child.flags(fd), NONBLOCK, "the child starts with the parent's");
  assert.equal(child.setFlags(fd, APPEND), 0);
  assert.equal(parent.flags(fd), APPEND, 'what the child set, the parent sees');
  const saved = parent.os.state.save();
  assert.ok(typeof saved !== 'string', String(saved));
  const entry = saved.fds.find((d) => d.fd === fd)!;
  assert.equal(entry.append, true, 'the checkpoint records the flags of the shared description');
  assert.equal(entry.nonblocking, false);
  // Restored alone, it has its own description again, with those flags.
  const restored = guest(host.createProcess({}).dk, saved);
  assert.equal(restored.os.state.fds.get(fd)!.shared, undefined);
  assert.equal(restored.flags(fd), APPEND);
  assert.equal(restored.setFlags(fd, 0), 0);
  assert.equal(parent.flags(fd), APPEND, 'not shared with the restored copy');
  for (const g of [parent, child, restored]) g.os.close();
});

test('the kernel: DkProcessCreate passes handles past stdio; inherit:N opens each once; a shared pipe end says so', () => {
  const host = createMemoryHost();
  let passed: readonly unknown[] = [];
  const launcher: ProcessLauncher = (req) => {
    passed = req.stdio;
    return { exited: new Promise<number>(() => {}), kill() {} };
  };
  const parent = host.createProcess({ launcher });
  const RW = Access.READ | Access.WRITE;
  const a = parent.dk.streamOpen('pipe:', RW, 0, 0) as number;
  const b = parent.dk.streamOpen((parent.dk.streamAttributesQueryByHandle(a) as { peerUri: string }).peerUri, RW, 0, 0) as number;
  assert.ok(a > 0 && b > 0);
  assert.equal((parent.dk.streamAttributesQueryByHandle(b) as { shared: boolean }).shared, false);
  assert.ok(parent.dk.processCreate('file:/x.wasm', [], [0, 0, 0, b]) > 0);
  const child = host.createProcess({ stdioStreams: passed });
  assert.equal((parent.dk.streamAttributesQueryByHandle(b) as { shared: boolean }).shared, true, 'the child holds it too');
  for (const bad of ['inherit:0', 'inherit:x', 'inherit:03', 'inherit:', 'inherit:-4']) {
    assert.equal(child.dk.streamOpen(bad, 0, 0, 0), DkError.INVALID_ARGUMENT, bad);
  }
  assert.equal(child.dk.streamOpen('inherit:4', 0, 0, 0), DkError.NOT_FOUND);
  assert.equal(child.dk.streamOpen('inherit:2', 0, 0, 0), DkError.NOT_FOUND, 'stdio entries are opened as stdin: and the like');
  const h = child.dk.streamOpen('inherit:3', 0, 0, 0) as number;
  assert.ok(h > 0);
  assert.equal(child.dk.streamOpen('inherit:3', 0, 0, 0), DkError.NOT_FOUND, 'once');
  assert.equal(parent.dk.streamWrite(a, -1, new TextEncoder().encode('hi')), 2);
  const buf = new Uint8Array(8);
  assert.equal(child.dk.streamRead(h, 0, buf), 2, 'a read at an offset peeks');
  assert.equal(child.dk.streamRead(h, -1, buf), 2);
  assert.equal(new TextDecoder().decode(buf.subarray(0, 2)), 'hi');
  // Both hold the end: closing the parent's handle leaves it open for the child.
  assert.equal(parent.dk.objectClose(b), 0);
  assert.equal((parent.dk.streamAttributesQueryByHandle(a) as { peerReadable: boolean }).peerReadable, true);
  assert.equal(child.dk.objectClose(h), 0);
  const after = parent.dk.streamAttributesQueryByHandle(a) as { peerReadable: boolean; peerWritable: boolean };
  assert.equal(after.peerReadable, false, 'the last holder closed it');
  assert.equal(parent.dk.streamWrite(a, -1, new Uint8Array(1)), DkError.BROKEN_PIPE);
  assert.equal(parent.dk.streamDelete(a, StreamSide.BOTH), 0);
  child.kill(0);
  parent.kill(0);
});
