// The monitor against hostile calls, over the real hosts (test/support/hosts.ts): the memory host, and
// the node host on a real temporary directory with real symbolic links that point outside it
// (to /etc/passwd, to a sibling "outside" directory by host path, up with '..').
// Each entry of the corpus must return exactly its DkError code; after the corpus the host
// still answers normal calls, nothing outside the mounts changed, and the host never threw.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Access, Create, OpenOption, QueryOption, StreamSide, type Dk, type DkResult } from '../../src/abi/dk.ts';
import { DkError, dkErrorName, isDkError, type DkErrorCode } from '../../src/abi/errors.ts';
import { buildManifest } from '../../src/monitor/manifest/parse.ts';
import { createMonitor, monitorUsage, policyFromManifest, type MonitorPolicy } from '../../src/monitor/monitor.ts';
import { HOSTS } from '../support/hosts.ts';

const R = Access.READ;
const W = Access.WRITE;
const enc = (s: string) => new TextEncoder().encode(s);
const LIMITS = { handles: 32, children: 0, memory: '1MiB', bytes_written: '4KiB' };

function ok<T>(r: DkResult<T>, what: string): T {
  if (isDkError(r)) throw new Error(`set-up: ${what} failed with ${dkErrorName(r)}`);
  return r;
}

/** Builds the host-side tree through an unmonitored picoprocess (the embedder's view). */
function populate(admin: Dk, root: string, isMemory: boolean): void {
  const mkdir = (p: string) => ok(admin.streamOpen(`dir:${p}`, R, Create.CREATE, 0), `mkdir ${p}`);
  const write = (p: string, text: string) => {
    const h = ok(admin.streamOpen(`file:${p}`, W, Create.CREATE | Create.TRUNCATE, 0), `create ${p}`);
    ok(admin.streamWrite(h, 0, enc(text)), `write ${p}`);
    admin.objectClose(h);
  };
  const link = (p: string, target: string) => ok(admin.streamLinkCreate(`file:${p}`, target, true), `symlink ${p}`);
  if (isMemory) {
    // The memory host has no /etc of its own: give it one, so links to /etc/passwd have a target.
    mkdir('/etc');
    write('/etc/passwd', 'root:x:0:0:memory');
  }
  for (const d of ['data', 'data/sub', 'ro', 'outside']) mkdir(`${root}/${d}`);
  write(`${root}/data/a.txt`, 'hello');
  write(`${root}/data/sub/b.txt`, 'b');
  write(`${root}/ro/r.txt`, 'read only');
  write(`${root}/outside/secret`, 'secret');
  mkdir(`${root}/data/racedir`);
  write(`${root}/data/racedir/f`, 'inside');
  write(`${root}/outside/f`, 'outside');
  link(`${root}/data/out-abs`, '/etc/passwd');
  link(`${root}/data/out-rel`, '../../../../../../../../etc/passwd');
  link(`${root}/data/out-host`, `${root}/outside/secret`); // a host path: means nothing in the guest
  link(`${root}/data/out-dir`, '/etc');
  link(`${root}/data/out-sibling`, '../outside/secret');
  link(`${root}/data/loop1`, 'loop2');
  link(`${root}/data/loop2`, 'loop1');
  link(`${root}/data/self`, './self');
  link(`${root}/data/dirlink`, 'sub');
  link(`${root}/data/in-ok`, '/data/a.txt');
  // A chain of 41 links: one more than resolution allows.
  for (let i = 0; i < 41; i++) link(`${root}/data/chain${i}`, `chain${i + 1}`);
  write(`${root}/data/chain41`, 'end');
}

function policyFor(root: string, limits: Record<string, unknown> = LIMITS): MonitorPolicy {
  const r = buildManifest({
    mounts: [
      { host: `${root}/data`, guest: '/data', mode: 'rw' },
      { host: `${root}/ro`, guest: '/ro', mode: 'ro' },
    ],
    limits,
  });
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  return policyFromManifest(r.manifest);
}

/**
 * A picoprocess Dk whose streamOpen first runs `swap` for URIs ending in `suffix`: another
 * party changing the tree between the monitor's walk and the host's open.
 */
function racing(dk: Dk, suffix: string, swap: () => void): Dk {
  return new Proxy(dk, {
    get(target, key) {
      const value = (target as any)[key];
      if (key !== 'streamOpen') return typeof value === 'function' ? value.bind(target) : value;
      return (uri: string, access: number, create: number, options: number) => {
        if (uri.endsWith(suffix)) swap();
        return target.streamOpen(uri, access, create, options);
      };
    },
  });
}

interface HostileCall {
  name: string;
  call: () => unknown;
  expected: DkErrorCode;
}

for (const hostDef of HOSTS) {
  describe(`monitor hostile corpus on the ${hostDef.name} host`, () => {
    const isMemory = hostDef.name === 'memory';
    let root: string;
    let A: Dk; // the attacker, monitored
    let B: Dk; // another picoprocess, monitored
    let newMonitor: (limits?: Record<string, unknown>, pipeNamespace?: string) => Dk;
    let raced: Dk; // A picoprocess whose directory is swapped for a link out during its open
    let hA: number; // a handle of A that B does not have
    let hRo: number; // A's read-only handle on /ro/r.txt
    let hFile: number; // A's writable handle on /data/a.txt
    let admin: Dk;

    before(() => {
      const host = hostDef.create();
      root = isMemory ? '/w' : mkdtempSync(join(tmpdir(), 'drawbridge-monitor-'));
      admin = host.createProcess().dk;
      if (isMemory) ok(admin.streamOpen('dir:/w', R, Create.CREATE, 0), 'mkdir /w');
      populate(admin, root, isMemory);
      newMonitor = (limits = LIMITS, pipeNamespace?: string) => createMonitor(host.createProcess().dk, { ...policyFor(root, limits), pipeNamespace });
      A = newMonitor();
      B = newMonitor();
      raced = createMonitor(
        racing(host.createProcess().dk, '/racedir/f', () => {
          // The directory the walk checked becomes a HOST link to the outside directory.
          const d = ok(admin.streamOpen(`dir:${root}/data/racedir`, 0, 0, OpenOption.PATH_ONLY), 'open racedir');
          ok(admin.streamRename(d, `dir:${root}/data/racedir-old`), 'move racedir');
          ok(admin.streamLinkCreate(`file:${root}/data/racedir`, `${root}/outside`, true), 'link racedir');
        }),
        policyFor(root),
      );
      for (let i = 0; i < 6; i++) ok(A.streamOpen('file:/data/a.txt', R, 0, 0), 'open');
      hA = ok(A.streamOpen('file:/data/a.txt', R, 0, 0), 'open');
      hRo = ok(A.streamOpen('file:/ro/r.txt', R, 0, 0), 'open ro');
      hFile = ok(A.streamOpen('file:/data/a.txt', R | W, 0, 0), 'open rw');
    });
    after(() => {
      if (!isMemory) rmSync(root, { recursive: true, force: true });
    });

    const buf = () => new Uint8Array(16);
    const corpus: HostileCall[] = [
      // --- path escapes through '..'
      { name: '.. out of a mount', call: () => A.streamOpen('file:/data/../etc/passwd', R, 0, 0), expected: DkError.NOT_CAPABLE },
      { name: '.. past the guest root', call: () => A.streamOpen('file:/data/../../../../etc/passwd', R, 0, 0), expected: DkError.NOT_CAPABLE },
      { name: '.. after a directory link', call: () => A.streamOpen('file:/data/dirlink/../../etc/passwd', R, 0, 0), expected: DkError.NOT_CAPABLE },
      { name: 'host path of a sibling', call: () => A.streamOpen(`file:${root}/outside/secret`, R, 0, 0), expected: DkError.NOT_CAPABLE },
      { name: 'the guest root directory', call: () => A.streamOpen('dir:/', R, 0, 0), expected: DkError.NOT_CAPABLE },
      { name: 'attributes through ..', call: () => A.streamAttributesQuery('file:/ro/../etc/passwd', 0), expected: DkError.NOT_CAPABLE },
      // --- symbolic links pointing out
      { name: 'absolute link to /etc/passwd', call: () => A.streamOpen('file:/data/out-abs', R, 0, 0), expected: DkError.NOT_CAPABLE },
      { name: 'relative link climbing to /etc/passwd', call: () => A.streamOpen('file:/data/out-rel', R, 0, 0), expected: DkError.NOT_CAPABLE },
      { name: 'link holding a host path', call: () => A.streamOpen('file:/data/out-host', R, 0, 0), expected: DkError.NOT_CAPABLE },
      { name: 'link to a sibling directory of the mount', call: () => A.streamOpen('file:/data/out-sibling', R, 0, 0), expected: DkError.NOT_CAPABLE },
      { name: 'directory link to /etc, then a file in it', call: () => A.streamOpen('file:/data/out-dir/passwd', R, 0, 0), expected: DkError.NOT_CAPABLE },
      { name: 'open dir: through a link out', call: () => A.streamOpen('dir:/data/out-dir', R, 0, 0), expected: DkError.NOT_CAPABLE },
      { name: 'attributes through a link out', call: () => A.streamAttributesQuery('file:/data/out-abs', 0), expected: DkError.NOT_CAPABLE },
      { name: 'create through a link out', call: () => A.streamOpen('file:/data/out-dir/evil', W, Create.CREATE, 0), expected: DkError.NOT_CAPABLE },
      {
        name: 'child module through a link out',
        call: () => newMonitor({ children: 1 }).processCreate('file:/data/out-abs', [], []),
        expected: DkError.NOT_CAPABLE,
      },
      {
        name: 'directory swapped for a link out between check and open',
        call: () => raced.streamOpen('file:/data/racedir/f', R, 0, 0),
        expected: DkError.NOT_CAPABLE,
      },
      { name: 'caller NO_FOLLOW on a final link', call: () => A.streamOpen('file:/data/in-ok', R, 0, OpenOption.NO_FOLLOW), expected: DkError.SYMLINK_LOOP },
      // --- loops
      { name: 'two-link loop', call: () => A.streamOpen('file:/data/loop1', R, 0, 0), expected: DkError.SYMLINK_LOOP },
      { name: 'self link', call: () => A.streamOpen('file:/data/self', R, 0, 0), expected: DkError.SYMLINK_LOOP },
      { name: 'chain of 41 links', call: () => A.streamOpen('file:/data/chain0', R, 0, 0), expected: DkError.SYMLINK_LOOP },
      { name: 'loop as a directory', call: () => A.streamAttributesQuery('file:/data/loop1/x', 0), expected: DkError.SYMLINK_LOOP },
      // --- malformed paths
      { name: 'NUL byte in a path', call: () => A.streamOpen('file:/data/a.txt\0.png', R, 0, 0), expected: DkError.INVALID_ARGUMENT },
      { name: 'relative path', call: () => A.streamOpen('file:data/a.txt', R, 0, 0), expected: DkError.INVALID_ARGUMENT },
      { name: 'name of 256 bytes', call: () => A.streamOpen(`file:/data/${'x'.repeat(256)}`, R, 0, 0), expected: DkError.NAME_TOO_LONG },
      { name: 'path of 4097 bytes', call: () => A.streamOpen(`file:/data/${'d/'.repeat(2044)}abcd`, R, 0, 0), expected: DkError.NAME_TOO_LONG },
      { name: 'NUL in a rename target', call: () => A.streamRename(hFile, 'file:/data/x\0y'), expected: DkError.INVALID_ARGUMENT },
      { name: 'NUL in a symlink target', call: () => A.streamLinkCreate('file:/data/nul-link', 'a\0b', true), expected: DkError.INVALID_ARGUMENT },
      // --- bad handles
      { name: 'handle never opened', call: () => A.streamRead(99999, 0, buf()), expected: DkError.BAD_HANDLE },
      { name: 'negative handle', call: () => A.streamRead(-1, 0, buf()), expected: DkError.BAD_HANDLE },
      { name: 'fractional handle', call: () => A.streamRead(1.5, 0, buf()), expected: DkError.BAD_HANDLE },
      { name: 'NaN handle', call: () => A.streamWrite(NaN, 0, buf()), expected: DkError.BAD_HANDLE },
      { name: 'string handle', call: () => A.objectClose('1' as unknown as number), expected: DkError.BAD_HANDLE },
      { name: 'handle 0', call: () => A.streamFlush(0), expected: DkError.BAD_HANDLE },
      { name: 'handle of picoprocess A read in B', call: () => B.streamRead(hA, 0, buf()), expected: DkError.BAD_HANDLE },
      { name: 'handle of picoprocess A closed in B', call: () => B.objectClose(hA), expected: DkError.BAD_HANDLE },
      { name: 'handle of A renamed in B', call: () => B.streamRename(hA, 'file:/data/stolen'), expected: DkError.BAD_HANDLE },
      {
        // The peer URI of A's anonymous pipe is host-wide and guessable; only A may open it.
        name: "B opens the other end of A's anonymous pipe",
        call: () => {
          const end = ok(A.streamOpen('pipe:', R | W, 0, 0), 'pipe');
          const peer = (A.streamAttributesQueryByHandle(end) as { peerUri: string }).peerUri;
          return B.streamOpen(peer, R | W, 0, 0);
        },
        expected: DkError.NOT_CAPABLE,
      },
      {
        // Named pipes live in the manifest's pipe namespace: another tenant's name is not found.
        name: "a named pipe of another tenant's namespace",
        call: () => {
          ok(newMonitor(LIMITS, 'tenant-a').streamOpen('pipe.server:shared-name', R | W, Create.CREATE, 0), 'listen');
          return newMonitor(LIMITS, 'tenant-b').streamOpen('pipe.client:shared-name', R | W, 0, 0);
        },
        expected: DkError.NOT_FOUND,
      },
      { name: 'bad handle in a wait list', call: () => A.objectsWaitAny([hA, -3], 0n), expected: DkError.BAD_HANDLE },
      // --- lengths, offsets, buffers, types
      { name: 'offset -2', call: () => A.streamRead(hA, -2, buf()), expected: DkError.INVALID_ARGUMENT },
      { name: 'NaN offset', call: () => A.streamRead(hA, NaN, buf()), expected: DkError.INVALID_ARGUMENT },
      { name: 'offset 2^53', call: () => A.streamRead(hA, 2 ** 53, buf()), expected: DkError.INVALID_ARGUMENT },
      { name: 'offset + length past 2^53', call: () => A.streamWrite(hFile, 2 ** 53 - 4, buf()), expected: DkError.INVALID_ARGUMENT },
      { name: 'Infinity offset', call: () => A.streamWrite(hFile, Infinity, buf()), expected: DkError.INVALID_ARGUMENT },
      { name: 'negative length', call: () => A.streamSetLength(hFile, -1), expected: DkError.INVALID_ARGUMENT },
      { name: 'NaN length', call: () => A.streamSetLength(hFile, NaN), expected: DkError.INVALID_ARGUMENT },
      { name: 'huge allocation size', call: () => A.virtualMemoryAlloc(0, 2 ** 60, 3), expected: DkError.INVALID_ARGUMENT },
      { name: 'negative allocation size', call: () => A.virtualMemoryAlloc(0, -65536, 3), expected: DkError.INVALID_ARGUMENT },
      { name: 'array instead of a buffer', call: () => A.streamWrite(hFile, 0, [1, 2, 3] as unknown as Uint8Array), expected: DkError.INVALID_ARGUMENT },
      {
        name: 'ArrayBuffer instead of a Uint8Array',
        call: () => A.randomBitsRead(new ArrayBuffer(8) as unknown as Uint8Array),
        expected: DkError.INVALID_ARGUMENT,
      },
      { name: 'string instead of a buffer', call: () => A.streamRead(hA, 0, 'xxxx' as unknown as Uint8Array), expected: DkError.INVALID_ARGUMENT },
      { name: 'number instead of a URI', call: () => A.streamOpen(42 as unknown as string, R, 0, 0), expected: DkError.INVALID_ARGUMENT },
      {
        name: 'object instead of a URI',
        call: () => A.streamAttributesQuery({ toString: () => 'file:/data/a.txt' } as unknown as string, 0),
        expected: DkError.INVALID_ARGUMENT,
      },
      { name: 'unknown access bits', call: () => A.streamOpen('file:/data/a.txt', 64, 0, 0), expected: DkError.INVALID_ARGUMENT },
      { name: 'unknown query option', call: () => A.streamAttributesQuery('file:/data/a.txt', 2), expected: DkError.INVALID_ARGUMENT },
      { name: 'unknown stream side', call: () => A.streamDelete(hFile, 7), expected: DkError.INVALID_ARGUMENT },
      { name: 'negative delay', call: () => A.threadDelayExecution(-1n), expected: DkError.INVALID_ARGUMENT },
      { name: 'wait list not an array', call: () => A.objectsWaitAny('1,2' as unknown as number[], null), expected: DkError.INVALID_ARGUMENT },
      { name: 'times as numbers', call: () => A.streamAttributesSetByHandle(hFile, { mtimeNs: 5 as unknown as bigint }), expected: DkError.INVALID_ARGUMENT },
      { name: 'unknown status flag', call: () => A.streamAttributesSetByHandle(hFile, { statusFlags: 8 }), expected: DkError.INVALID_ARGUMENT },
      { name: 'status flags past 32 bits', call: () => A.streamAttributesSetByHandle(hFile, { statusFlags: 2 ** 32 + 1 }), expected: DkError.INVALID_ARGUMENT },
      { name: 'args not strings', call: () => A.processCreate('file:/data/a.txt', [1] as unknown as string[], []), expected: DkError.INVALID_ARGUMENT },
      { name: 'debug text not a string', call: () => A.debugStringPrint(null as unknown as string), expected: DkError.INVALID_ARGUMENT },
      // --- read-only mount
      { name: 'open for write on ro', call: () => A.streamOpen('file:/ro/r.txt', W, 0, 0), expected: DkError.READ_ONLY },
      { name: 'truncate on ro', call: () => A.streamOpen('file:/ro/r.txt', R, Create.TRUNCATE, 0), expected: DkError.READ_ONLY },
      { name: 'create on ro', call: () => A.streamOpen('file:/ro/new', W, Create.CREATE, 0), expected: DkError.READ_ONLY },
      { name: 'mkdir on ro', call: () => A.streamOpen('dir:/ro/newdir', R, Create.CREATE, 0), expected: DkError.READ_ONLY },
      { name: 'write through a read handle on ro', call: () => A.streamWrite(hRo, 0, enc('x')), expected: DkError.READ_ONLY },
      { name: 'set-length on ro', call: () => A.streamSetLength(hRo, 0), expected: DkError.READ_ONLY },
      { name: 'set-times on ro', call: () => A.streamAttributesSetByHandle(hRo, { mtimeNs: 'now' }), expected: DkError.READ_ONLY },
      { name: 'delete on ro', call: () => A.streamDelete(hRo, StreamSide.BOTH), expected: DkError.READ_ONLY },
      { name: 'symlink on ro', call: () => A.streamLinkCreate('file:/ro/l', '/data/a.txt', true), expected: DkError.READ_ONLY },
      // --- rename and links across mounts
      { name: 'rename across mounts', call: () => A.streamRename(hFile, 'file:/ro/a.txt'), expected: DkError.CROSS_DEVICE },
      { name: 'rename out of every mount', call: () => A.streamRename(hFile, 'file:/data/../tmp/a.txt'), expected: DkError.NOT_CAPABLE },
      { name: 'rename into a link out', call: () => A.streamRename(hFile, 'file:/data/out-dir/a.txt'), expected: DkError.NOT_CAPABLE },
      { name: 'rename a mount point', call: () => A.streamRename(ok(A.streamOpen('dir:/data', R, 0, 0), 'open'), 'dir:/data/x'), expected: DkError.BUSY },
      { name: 'hard link to outside', call: () => A.streamLinkCreate('file:/data/hl', 'file:/etc/passwd', false), expected: DkError.NOT_CAPABLE },
      {
        name: 'hard link through a link out',
        call: () => A.streamLinkCreate('file:/data/hl', 'file:/data/out-dir/passwd', false),
        expected: DkError.NOT_CAPABLE,
      },
      { name: 'hard link across mounts', call: () => A.streamLinkCreate('file:/data/hl', 'file:/ro/r.txt', false), expected: DkError.CROSS_DEVICE },
      { name: 'link placed outside', call: () => A.streamLinkCreate('file:/etc/evil', 'x', true), expected: DkError.NOT_CAPABLE },
      // --- quotas
      {
        name: 'handle quota',
        call: () => {
          const m = newMonitor({ handles: 2 });
          ok(m.streamOpen('file:/data/a.txt', R, 0, 0), 'open');
          ok(m.notificationEventCreate(false), 'event');
          return m.streamOpen('file:/data/a.txt', R, 0, 0);
        },
        expected: DkError.QUOTA_EXCEEDED,
      },
      {
        name: 'bytes-written quota',
        call: () => {
          const m = newMonitor({ bytes_written: 8 });
          const h = ok(m.streamOpen('file:/data/quota.txt', W, Create.CREATE | Create.TRUNCATE, 0), 'create');
          ok(m.streamWrite(h, 0, enc('12345')), 'write');
          return m.streamWrite(h, 5, enc('6789'));
        },
        expected: DkError.QUOTA_EXCEEDED,
      },
      { name: 'children quota (none granted)', call: () => A.processCreate('file:/data/a.txt', [], []), expected: DkError.QUOTA_EXCEEDED },
      { name: 'memory quota', call: () => A.virtualMemoryAlloc(0, 2 * 2 ** 20, 3), expected: DkError.QUOTA_EXCEEDED },
      // --- schemes and network
      { name: 'unknown scheme', call: () => A.streamOpen('gopher://example.com/', R, 0, 0), expected: DkError.INVALID_ARGUMENT },
      { name: 'unknown device', call: () => A.streamOpen('dev:mem', R, 0, 0), expected: DkError.INVALID_ARGUMENT },
      { name: 'empty URI', call: () => A.streamOpen('', R, 0, 0), expected: DkError.INVALID_ARGUMENT },
      { name: 'tcp without a grant', call: () => A.streamOpen('tcp:93.184.216.34:80', R | W, 0, 0), expected: DkError.NOT_CAPABLE },
      { name: 'tcp.server without a grant', call: () => A.streamOpen('tcp.server:0.0.0.0:8080', R, Create.CREATE, 0), expected: DkError.NOT_CAPABLE },
      { name: 'udp without a grant', call: () => A.streamOpen('udp:8.8.8.8:53', R | W, 0, 0), expected: DkError.NOT_CAPABLE },
      { name: 'dns without a grant', call: () => A.streamOpen('dns:example.com', R, 0, 0), expected: DkError.NOT_CAPABLE },
      { name: 'http.server without a grant', call: () => A.streamOpen('http.server:127.0.0.1:8000', R, Create.CREATE, 0), expected: DkError.NOT_CAPABLE },
      { name: 'network attributes without a grant', call: () => A.streamAttributesQuery('tcp:10.0.0.1:22', 0), expected: DkError.NOT_CAPABLE },
    ];

    it(`has at least 40 hostile calls (${corpus.length})`, () => assert.ok(corpus.length >= 40));

    for (const c of corpus) {
      it(`${c.name} -> ${dkErrorName(c.expected)}`, async () => {
        const r = await c.call();
        assert.equal(r, c.expected, `${c.name}: got ${typeof r === 'number' ? dkErrorName(r) : String(r)}`);
      });
    }

    it('after the corpus: the host still answers, nothing outside changed, the host never threw', async () => {
      const h = ok(A.streamOpen('file:/data/in-ok', R, 0, 0), 'open via in-mount link');
      const b = new Uint8Array(16);
      const n = ok(A.streamRead(h, 0, b), 'read');
      assert.equal(new TextDecoder().decode(b.subarray(0, n)), 'hello');
      assert.equal(ok(A.streamAttributesQuery('file:/data/out-abs', QueryOption.NO_FOLLOW), 'lstat').linkTarget, '/etc/passwd');
      assert.equal(await A.threadYieldExecution(), 0);
      assert.equal(B.debugStringPrint('still here'), 0);
      assert.equal(monitorUsage(raced)!.handles, 0, 'the raced open left no handle behind');
      for (const m of [A, B, raced]) assert.equal(monitorUsage(m)!.internalErrors, 0);
      // Nothing escaped: the read-only file and the outside files are as they were, and no file
      // appeared where a refused call aimed.
      const readAdmin = (p: string) => {
        const fh = ok(admin.streamOpen(`file:${p}`, R, 0, 0), `open ${p}`);
        const bb = new Uint8Array(64);
        return new TextDecoder().decode(bb.subarray(0, ok(admin.streamRead(fh, 0, bb), 'read')));
      };
      assert.equal(readAdmin(`${root}/ro/r.txt`), 'read only');
      assert.equal(readAdmin(`${root}/outside/secret`), 'secret');
      for (const p of [`${root}/ro/new`, `${root}/ro/newdir`, `${root}/data/hl`, '/etc/evil', `${root}/data/stolen`]) {
        assert.equal(admin.streamAttributesQuery(`file:${p}`, QueryOption.NO_FOLLOW), DkError.NOT_FOUND, p);
      }
      if (!isMemory) {
        assert.equal(readFileSync(join(root, 'outside', 'secret'), 'utf8'), 'secret');
        assert.equal(existsSync('/etc/evil'), false);
      }
    });
  });
}
