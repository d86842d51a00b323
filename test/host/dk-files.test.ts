// File and directory streams (file:, dir:): one conformance test per Dk file primitive, run
// through the full Dk of every host in test/support/hosts.ts, so both hosts are held to the same
// answers; and a differential test of the two FileSystems (memory against the real Linux one)
// on the path-walk corner cases (trailing slashes, '..', symbolic link chains, rename rules).

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as nodeFs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { Access, Create, OpenOption, QueryOption, StreamSide, Clock, type Dk, type Handle, type StreamAttributes } from '../../src/abi/dk.ts';
import { DkError, dkErrorName, isDkError } from '../../src/abi/errors.ts';
import { OpenFlag, type FileSystem } from '../../src/host/kernel/files/files.ts';
import { NodeFileSystem } from '../../src/host/node/fs.ts';
import { MemoryFileSystem } from '../../src/host/memory/fs.ts';
import { HOSTS } from '../support/hosts.ts';

const { READ, WRITE, APPEND } = Access;
const { CREATE, EXCLUSIVE, TRUNCATE } = Create;
const { NO_FOLLOW, DIRECTORY, PATH_ONLY } = OpenOption;
const RW = READ | WRITE;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Assert a Dk result is not an error, with the error's name when it is. */
function ok<T>(r: T | number, what = 'call'): T {
  if (isDkError(r)) assert.fail(`${what} failed: ${dkErrorName(r)}`);
  return r as T;
}
/** Assert a Dk result is the given error. */
function err(r: unknown, code: number, what = 'call'): void {
  assert.equal(
    typeof r === 'number' ? dkErrorName(r) : `success ${JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`,
    dkErrorName(code),
    what,
  );
}

interface Fixture {
  dk: Dk;
  /** A fresh, empty directory for this test (a real temporary directory on the node host). */
  root: string;
  done(): void;
}

function fixture(host: (typeof HOSTS)[number]): Fixture {
  const proc = host.create().createProcess();
  const dk = proc.dk;
  let root: string;
  let cleanup = (): void => {};
  if (host.name === 'node') {
    const dir = nodeFs.mkdtempSync(nodePath.join(os.tmpdir(), 'dk-files-'));
    root = dir + '/t';
    cleanup = () => nodeFs.rmSync(dir, { recursive: true, force: true });
  } else {
    root = '/t';
  }
  const h = ok(dk.streamOpen('dir:' + root, 0, CREATE | EXCLUSIVE, 0), 'mkdir root');
  dk.objectClose(h);
  return {
    dk,
    root,
    done() {
      proc.kill(0);
      cleanup();
    },
  };
}

function open(dk: Dk, uri: string, access: number, create = 0, options = 0): Handle {
  return ok(dk.streamOpen(uri, access, create, options), `open ${uri}`);
}
function writeAll(dk: Dk, h: Handle, offset: number, text: string): void {
  const data = enc.encode(text);
  assert.equal(ok(dk.streamWrite(h, offset, data), 'write'), data.length);
}
function readText(dk: Dk, h: Handle, offset: number, max = 4096): string {
  const buf = new Uint8Array(max);
  const n = ok(dk.streamRead(h, offset, buf), 'read');
  return dec.decode(buf.subarray(0, n));
}
function makeFile(dk: Dk, path: string, text: string): void {
  const h = open(dk, 'file:' + path, WRITE, CREATE | TRUNCATE);
  writeAll(dk, h, 0, text);
  ok(dk.objectClose(h));
}
function attrs(dk: Dk, uri: string, options = 0): StreamAttributes {
  return ok(dk.streamAttributesQuery(uri, options), `attributes ${uri}`);
}
function names(dk: Dk, dirPath: string): string[] {
  const h = open(dk, 'dir:' + dirPath, READ);
  const entries = ok(dk.streamEnumerateChildren(h), 'enumerate');
  ok(dk.objectClose(h));
  return entries.map((e) => e.name).sort();
}

for (const host of HOSTS) {
  describe(`file streams on the ${host.name} host`, () => {
    const withFixture = (name: string, body: (f: Fixture) => void | Promise<void>) =>
      test(name, async () => {
        const f = fixture(host);
        try {
          await body(f);
        } finally {
          f.done();
        }
      });

    withFixture('DkStreamOpen file: with CREATE, EXCLUSIVE, TRUNCATE and the access bits', ({ dk, root }) => {
      const p = root + '/a.txt';
      err(dk.streamOpen('file:' + p, READ, 0, 0), DkError.NOT_FOUND, 'missing without CREATE');
      const h = open(dk, 'file:' + p, RW, CREATE);
      writeAll(dk, h, 0, 'hello world');
      err(dk.streamOpen('file:' + p, RW, CREATE | EXCLUSIVE, 0), DkError.ALREADY_EXISTS, 'EXCLUSIVE on an existing file');
      // CREATE without EXCLUSIVE opens the existing file untouched.
      const again = open(dk, 'file:' + p, READ, CREATE);
      assert.equal(readText(dk, again, 0), 'hello world');
      // TRUNCATE empties it.
      const trunc = open(dk, 'file:' + p, WRITE, TRUNCATE);
      assert.equal(attrs(dk, 'file:' + p).size, 0);
      // A read-only stream refuses writes, a write-only one reads.
      err(dk.streamWrite(again, 0, enc.encode('x')), DkError.ACCESS_DENIED, 'write on a read-only stream');
      err(dk.streamSetLength(again, 0), DkError.ACCESS_DENIED, 'setLength on a read-only stream');
      err(dk.streamRead(trunc, 0, new Uint8Array(4)), DkError.ACCESS_DENIED, 'read on a write-only stream');
      // Hostile URIs and flags.
      err(dk.streamOpen('file:relative/path', READ, CREATE, 0), DkError.INVALID_ARGUMENT, 'relative path');
      err(dk.streamOpen('file:' + root + '/nul\0byte', READ, CREATE, 0), DkError.INVALID_ARGUMENT, 'NUL in path');
      err(dk.streamOpen('file:' + root + '/\ud800', READ, CREATE, 0), DkError.INVALID_ARGUMENT, 'lone surrogate');
      err(dk.streamOpen('file:' + p, READ | 64, 0, 0), DkError.INVALID_ARGUMENT, 'unknown access bit');
      err(dk.streamOpen('file:' + p, READ, 0, 1024), DkError.INVALID_ARGUMENT, 'unknown option bit');
      err(dk.streamOpen('file:' + root + '/' + 'n'.repeat(256), RW, CREATE, 0), DkError.NAME_TOO_LONG, 'component over NAME_MAX');
      err(dk.streamOpen('file:' + root + '/missing/x', RW, CREATE, 0), DkError.NOT_FOUND, 'missing parent');
      err(dk.streamOpen('file:' + p + '/x', RW, CREATE, 0), DkError.NOT_A_DIRECTORY, 'a file as parent');
      err(dk.streamOpen('file:' + root + '/d', RW, CREATE | TRUNCATE, DIRECTORY), DkError.INVALID_ARGUMENT, 'CREATE with DIRECTORY');
      for (const x of [h, again, trunc]) ok(dk.objectClose(x));
    });

    withFixture('DkStreamOpen dir: creates and opens directories; file: on a directory is a directory stream', ({ dk, root }) => {
      const d = root + '/sub';
      err(dk.streamOpen('dir:' + d, READ, 0, 0), DkError.NOT_FOUND, 'missing dir');
      const h = open(dk, 'dir:' + d, READ, CREATE);
      assert.equal(attrs(dk, 'dir:' + d).kind, 'directory');
      err(dk.streamOpen('dir:' + d, READ, CREATE | EXCLUSIVE, 0), DkError.ALREADY_EXISTS, 'EXCLUSIVE on an existing dir');
      ok(dk.objectClose(open(dk, 'dir:' + d, READ, CREATE)), 'CREATE opens an existing dir');
      err(dk.streamOpen('dir:' + d + '/new', WRITE, CREATE, 0), DkError.IS_A_DIRECTORY, 'dir: for writing');
      err(dk.streamAttributesQuery('dir:' + d + '/new', 0), DkError.NOT_FOUND, 'a refused dir: open makes nothing');
      makeFile(dk, root + '/f', 'data');
      err(dk.streamOpen('dir:' + root + '/f', READ, 0, 0), DkError.NOT_A_DIRECTORY, 'dir: on a file');
      err(dk.streamOpen('dir:' + root + '/f', READ, CREATE, 0), DkError.NOT_A_DIRECTORY, 'dir: CREATE on a file');
      err(dk.streamOpen('file:' + root + '/f', READ, 0, DIRECTORY), DkError.NOT_A_DIRECTORY, 'DIRECTORY on a file');
      err(dk.streamOpen('file:' + d, WRITE, 0, 0), DkError.IS_A_DIRECTORY, 'file: for writing on a directory');
      err(dk.streamOpen('file:' + d, READ, CREATE, 0), DkError.IS_A_DIRECTORY, 'file: CREATE on a directory');
      const asFile = open(dk, 'file:' + d, READ);
      err(dk.streamRead(asFile, 0, new Uint8Array(8)), DkError.IS_A_DIRECTORY, 'read on a directory stream');
      err(dk.streamWrite(asFile, 0, new Uint8Array(8)), DkError.IS_A_DIRECTORY, 'write on a directory stream');
      assert.deepEqual(ok(dk.streamEnumerateChildren(asFile)), []);
      assert.equal(ok(dk.streamAttributesQueryByHandle(asFile)).kind, 'directory');
      for (const x of [h, asFile]) ok(dk.objectClose(x));
    });

    withFixture('DkStreamRead and DkStreamWrite are positional; APPEND always appends', ({ dk, root }) => {
      const p = root + '/rw';
      const h = open(dk, 'file:' + p, RW, CREATE);
      writeAll(dk, h, 0, 'abcdef');
      writeAll(dk, h, 2, 'XY');
      assert.equal(readText(dk, h, 0), 'abXYef');
      assert.equal(readText(dk, h, 4), 'ef');
      assert.equal(ok(dk.streamRead(h, 100, new Uint8Array(4))), 0, 'past the end reads 0');
      assert.equal(ok(dk.streamRead(h, 0, new Uint8Array(0))), 0, 'empty buffer');
      // Offset -1 (NO_OFFSET): at the stream's own position, which it advances (starts at 0).
      const pos = new Uint8Array(4);
      assert.equal(ok(dk.streamRead(h, -1, pos)), 4, 'read at the stream position');
      assert.equal(new TextDecoder().decode(pos), 'abXY');
      assert.equal(ok(dk.streamAttributesQueryByHandle(h)).position, 4);
      assert.equal(ok(dk.streamWrite(h, -1, enc.encode('e'))), 1, 'write at the stream position');
      assert.equal(ok(dk.streamAttributesQueryByHandle(h)).position, 5);
      ok(dk.streamAttributesSetByHandle(h, { position: 1 }));
      assert.equal(ok(dk.streamRead(h, -1, pos.subarray(0, 1))), 1);
      assert.equal(pos[0], 0x62, 'the position was moved to 1');
      err(dk.streamAttributesSetByHandle(h, { position: -3 }), DkError.INVALID_ARGUMENT, 'negative position');
      err(dk.streamRead(h, -2, new Uint8Array(4)), DkError.INVALID_ARGUMENT, 'offset -2');
      err(dk.streamRead(h, 1.5, new Uint8Array(4)), DkError.INVALID_ARGUMENT, 'fractional offset');
      // A write past the end leaves a hole that reads as zeros.
      writeAll(dk, h, 10, 'Z');
      const buf = new Uint8Array(16);
      assert.equal(ok(dk.streamRead(h, 0, buf)), 11);
      assert.deepEqual([...buf.subarray(6, 11)], [0, 0, 0, 0, 0x5a]);
      // APPEND: the offset is ignored.
      const a = open(dk, 'file:' + p, APPEND);
      writeAll(dk, a, 0, '++');
      writeAll(dk, a, -1, '--');
      assert.equal(attrs(dk, 'file:' + p).size, 15);
      assert.equal(readText(dk, h, 11), '++--');
      // A big read is served in one call.
      const big = new Uint8Array(300_000).map((_, i) => i & 0xff);
      assert.equal(ok(dk.streamWrite(h, 0, big)), big.length);
      const back = new Uint8Array(big.length);
      assert.equal(ok(dk.streamRead(h, 0, back)), big.length);
      assert.deepEqual(back, big);
      for (const x of [h, a]) ok(dk.objectClose(x));
      err(dk.streamRead(h, 0, buf), DkError.BAD_HANDLE, 'read on a closed handle');
    });

    withFixture('DkStreamSetLength truncates and extends with zeros; DkStreamFlush', ({ dk, root }) => {
      const h = open(dk, 'file:' + root + '/len', RW, CREATE);
      writeAll(dk, h, 0, '0123456789');
      ok(dk.streamSetLength(h, 4));
      assert.equal(ok(dk.streamAttributesQueryByHandle(h)).size, 4);
      assert.equal(readText(dk, h, 0), '0123');
      ok(dk.streamSetLength(h, 8));
      const buf = new Uint8Array(8);
      assert.equal(ok(dk.streamRead(h, 0, buf)), 8);
      assert.deepEqual([...buf], [0x30, 0x31, 0x32, 0x33, 0, 0, 0, 0]);
      err(dk.streamSetLength(h, -1), DkError.INVALID_ARGUMENT, 'negative length');
      assert.equal(ok(dk.streamFlush(h)), 0);
      const ro = open(dk, 'file:' + root + '/len', READ);
      assert.equal(ok(dk.streamFlush(ro)), 0, 'flush on a read-only stream');
      const d = open(dk, 'dir:' + root, READ);
      assert.equal(ok(dk.streamFlush(d)), 0, 'flush on a directory (after a rename, say)');
      err(dk.streamSetLength(d, 0), DkError.IS_A_DIRECTORY, 'setLength on a directory');
      for (const x of [h, ro, d]) ok(dk.objectClose(x));
    });

    withFixture('DkStreamDelete unlinks files and removes empty directories', ({ dk, root }) => {
      const p = root + '/gone';
      const h = open(dk, 'file:' + p, RW, CREATE);
      writeAll(dk, h, 0, 'still here');
      ok(dk.streamDelete(h, StreamSide.BOTH));
      err(dk.streamAttributesQuery('file:' + p, 0), DkError.NOT_FOUND, 'deleted file');
      // The open stream still reads and writes the unlinked file.
      assert.equal(readText(dk, h, 0), 'still here');
      assert.equal(ok(dk.streamAttributesQueryByHandle(h)).nlink, 0n);
      err(dk.streamDelete(h, StreamSide.BOTH), DkError.NOT_FOUND, 'second delete');
      err(dk.streamDelete(h, StreamSide.READ), DkError.WRONG_HANDLE_TYPE, 'shutting half a file');
      err(dk.streamDelete(h, 7), DkError.INVALID_ARGUMENT, 'bad side');

      const d = open(dk, 'dir:' + root + '/d', READ, CREATE);
      makeFile(dk, root + '/d/f', 'x');
      err(dk.streamDelete(d, StreamSide.BOTH), DkError.DIRECTORY_NOT_EMPTY, 'non-empty dir');
      const f = open(dk, 'file:' + root + '/d/f', READ);
      ok(dk.streamDelete(f, StreamSide.BOTH));
      ok(dk.streamDelete(d, StreamSide.BOTH));
      assert.deepEqual(names(dk, root), []);
      for (const x of [h, d, f]) ok(dk.objectClose(x));
    });

    withFixture('DkStreamRename follows rename(2): replacing, and the directory rules', ({ dk, root }) => {
      makeFile(dk, root + '/a', 'A');
      makeFile(dk, root + '/b', 'B');
      const a = open(dk, 'file:' + root + '/a', READ);
      ok(dk.streamRename(a, 'file:' + root + '/c'));
      assert.deepEqual(names(dk, root), ['b', 'c']);
      // The handle follows its object: a second rename starts from the new name.
      ok(dk.streamRename(a, 'file:' + root + '/b'), 'rename over an existing file');
      assert.deepEqual(names(dk, root), ['b']);
      assert.equal(readText(dk, a, 0), 'A');

      const d1 = open(dk, 'dir:' + root + '/d1', READ, CREATE);
      ok(dk.objectClose(open(dk, 'dir:' + root + '/d2', READ, CREATE)));
      ok(dk.objectClose(open(dk, 'dir:' + root + '/full', READ, CREATE)));
      makeFile(dk, root + '/full/x', 'x');
      err(dk.streamRename(d1, 'file:' + root + '/b'), DkError.NOT_A_DIRECTORY, 'directory over a file');
      err(dk.streamRename(a, 'file:' + root + '/d2'), DkError.IS_A_DIRECTORY, 'file over a directory');
      err(dk.streamRename(a, 'dir:' + root + '/e'), DkError.NOT_A_DIRECTORY, 'file to a dir: URI');
      err(dk.streamRename(d1, 'dir:' + root + '/full'), DkError.DIRECTORY_NOT_EMPTY, 'over a non-empty directory');
      err(dk.streamRename(d1, 'dir:' + root + '/d1/inside'), DkError.INVALID_ARGUMENT, 'into itself');
      err(dk.streamRename(a, 'file:' + root + '/nowhere/x'), DkError.NOT_FOUND, 'missing target parent');
      err(dk.streamRename(a, 'http:' + root + '/x'), DkError.INVALID_ARGUMENT, 'not a file URI');
      err(dk.streamRename(a, 'file:relative'), DkError.INVALID_ARGUMENT, 'relative target');
      ok(dk.streamRename(d1, 'dir:' + root + '/d2'), 'directory over an empty directory');
      assert.deepEqual(names(dk, root), ['b', 'd2', 'full']);
      ok(dk.streamRename(d1, 'dir:' + root + '/full/moved'));
      assert.deepEqual(names(dk, root + '/full'), ['moved', 'x']);
      assert.deepEqual(ok(dk.streamEnumerateChildren(d1)), [], 'the handle enumerates at its new name');
      for (const x of [a, d1]) ok(dk.objectClose(x));
    });

    withFixture('DkStreamEnumerateChildren lists names, kinds and inodes without . and ..', ({ dk, root }) => {
      makeFile(dk, root + '/file', 'f');
      ok(dk.objectClose(open(dk, 'dir:' + root + '/dir', READ, CREATE)));
      ok(dk.streamLinkCreate('file:' + root + '/link', 'file', true));
      ok(dk.streamLinkCreate('file:' + root + '/dangling', 'nowhere', true));
      const d = open(dk, 'dir:' + root, READ);
      const entries = ok(dk.streamEnumerateChildren(d)).sort((x, y) => x.name.localeCompare(y.name));
      assert.deepEqual(
        entries.map((e) => [e.name, e.kind]),
        [
          ['dangling', 'symlink'],
          ['dir', 'directory'],
          ['file', 'file'],
          ['link', 'symlink'],
        ],
      );
      for (const e of entries) assert.equal(e.ino, attrs(dk, 'file:' + root + '/' + e.name, QueryOption.NO_FOLLOW).ino, e.name);
      const f = open(dk, 'file:' + root + '/file', READ);
      err(dk.streamEnumerateChildren(f), DkError.WRONG_HANDLE_TYPE, 'enumerate a file');
      for (const x of [d, f]) ok(dk.objectClose(x));
    });

    withFixture('DkStreamAttributesQuery, with and without NO_FOLLOW', ({ dk, root }) => {
      makeFile(dk, root + '/f', '12345');
      const a = attrs(dk, 'file:' + root + '/f');
      assert.equal(a.kind, 'file');
      assert.equal(a.size, 5);
      assert.equal(a.nlink, 1n);
      assert.equal(a.readable, true);
      assert.equal(a.writable, true);
      assert.equal(typeof a.ino, 'bigint');
      assert.ok(a.mtimeNs > 0n && a.ctimeNs > 0n);
      assert.equal(attrs(dk, 'dir:' + root).kind, 'directory');
      ok(dk.streamLinkCreate('file:' + root + '/l', root + '/f', true));
      const followed = attrs(dk, 'file:' + root + '/l');
      assert.equal(followed.kind, 'file');
      assert.equal(followed.ino, a.ino);
      assert.equal(followed.linkTarget, undefined);
      const link = attrs(dk, 'file:' + root + '/l', QueryOption.NO_FOLLOW);
      assert.equal(link.kind, 'symlink');
      assert.equal(link.linkTarget, root + '/f');
      assert.equal(link.size, (root + '/f').length);
      assert.notEqual(link.ino, a.ino);
      err(dk.streamAttributesQuery('file:' + root + '/missing', 0), DkError.NOT_FOUND);
      err(dk.streamAttributesQuery('file:' + root + '/f/', 0), DkError.NOT_A_DIRECTORY, 'trailing slash on a file');
      err(dk.streamAttributesQuery('file:' + root + '/f', 2), DkError.INVALID_ARGUMENT, 'unknown option');
      err(dk.streamAttributesQuery('file:' + root + '/f\0', 0), DkError.INVALID_ARGUMENT, 'NUL');
    });

    withFixture('DkStreamAttributesQueryByHandle reports the stream and its access', ({ dk, root }) => {
      const w = open(dk, 'file:' + root + '/f', WRITE, CREATE);
      writeAll(dk, w, 0, 'abc');
      const wa = ok(dk.streamAttributesQueryByHandle(w));
      assert.equal(wa.kind, 'file');
      assert.equal(wa.size, 3);
      assert.equal(wa.readable, false);
      assert.equal(wa.writable, true);
      const r = open(dk, 'file:' + root + '/f', READ);
      const ra = ok(dk.streamAttributesQueryByHandle(r));
      assert.equal(ra.readable, true);
      assert.equal(ra.writable, false);
      assert.equal(ra.ino, wa.ino);
      assert.equal(ra.dev, wa.dev);
      writeAll(dk, w, 3, 'defg');
      assert.equal(ok(dk.streamAttributesQueryByHandle(r)).size, 7, 'the size is read live');
      for (const x of [w, r]) ok(dk.objectClose(x));
    });

    withFixture('DkStreamAttributesSetByHandle sets times, keeps what is not given, and takes now', ({ dk, root }) => {
      const h = open(dk, 'file:' + root + '/t', RW, CREATE);
      // Whole and half seconds: exact on every host (node:fs passes seconds as a double).
      const atime = 1_000_000_000n * 1_000_000_000n + 500_000_000n;
      const mtime = 1_200_000_000n * 1_000_000_000n;
      ok(dk.streamAttributesSetByHandle(h, { atimeNs: atime, mtimeNs: mtime }));
      let a = ok(dk.streamAttributesQueryByHandle(h));
      assert.equal(a.atimeNs, atime);
      assert.equal(a.mtimeNs, mtime);
      ok(dk.streamAttributesSetByHandle(h, { atimeNs: 1_300_000_000n * 1_000_000_000n }));
      a = ok(dk.streamAttributesQueryByHandle(h));
      assert.equal(a.atimeNs, 1_300_000_000n * 1_000_000_000n);
      assert.equal(a.mtimeNs, mtime, 'mtime kept');
      const before = ok(dk.systemTimeQuery(Clock.REALTIME));
      ok(dk.streamAttributesSetByHandle(h, { mtimeNs: 'now' }));
      const after = ok(dk.systemTimeQuery(Clock.REALTIME));
      a = ok(dk.streamAttributesQueryByHandle(h));
      // 'now' is the host's wall clock (the node host reads it to the millisecond).
      assert.ok(a.mtimeNs >= before - 2_000_000n && a.mtimeNs <= after + 2_000_000n, `now: ${a.mtimeNs} in [${before}, ${after}]`);
      assert.equal(a.atimeNs, 1_300_000_000n * 1_000_000_000n, 'atime kept');
      ok(dk.streamAttributesSetByHandle(h, {}), 'nothing to set');
      err(dk.streamAttributesSetByHandle(h, { atimeNs: 5 as unknown as bigint }), DkError.INVALID_ARGUMENT, 'a number, not a bigint');
      err(dk.streamAttributesSetByHandle(h, { mtimeNs: 1n << 70n }), DkError.INVALID_ARGUMENT, 'out of range');
      ok(dk.objectClose(h));
    });

    withFixture('DkStreamLinkCreate: hard links share the inode, symbolic links may dangle', ({ dk, root }) => {
      makeFile(dk, root + '/orig', 'shared');
      ok(dk.streamLinkCreate('file:' + root + '/hard', 'file:' + root + '/orig', false));
      const o = attrs(dk, 'file:' + root + '/orig');
      const l = attrs(dk, 'file:' + root + '/hard');
      assert.equal(o.ino, l.ino);
      assert.equal(o.nlink, 2n);
      const h = open(dk, 'file:' + root + '/hard', WRITE);
      writeAll(dk, h, 0, 'SHARED');
      ok(dk.objectClose(h));
      const r = open(dk, 'file:' + root + '/orig', READ);
      assert.equal(readText(dk, r, 0), 'SHARED');
      ok(dk.streamDelete(r, StreamSide.BOTH));
      assert.equal(attrs(dk, 'file:' + root + '/hard').nlink, 1n);
      ok(dk.objectClose(r));
      err(dk.streamLinkCreate('file:' + root + '/hard', 'file:' + root + '/other', false), DkError.NOT_FOUND, 'missing hard target');
      err(dk.streamLinkCreate('file:' + root + '/h2', root + '/hard', false), DkError.INVALID_ARGUMENT, 'hard target not a URI');
      ok(dk.streamLinkCreate('file:' + root + '/h2', 'file:' + root + '/hard', false), 'second hard link');
      err(dk.streamLinkCreate('file:' + root + '/h2', 'file:' + root + '/hard', false), DkError.ALREADY_EXISTS, 'link name taken');
      ok(dk.objectClose(open(dk, 'dir:' + root + '/dir', READ, CREATE)));
      err(dk.streamLinkCreate('file:' + root + '/hd', 'file:' + root + '/dir', false), DkError.ACCESS_DENIED, 'hard link to a directory');

      ok(dk.streamLinkCreate('file:' + root + '/dangling', 'does/not/exist', true));
      err(dk.streamAttributesQuery('file:' + root + '/dangling', 0), DkError.NOT_FOUND, 'following a dangling link');
      assert.equal(attrs(dk, 'file:' + root + '/dangling', QueryOption.NO_FOLLOW).linkTarget, 'does/not/exist');
      err(dk.streamOpen('file:' + root + '/dangling', READ, 0, 0), DkError.NOT_FOUND, 'open a dangling link');
      err(dk.streamLinkCreate('file:' + root + '/dangling', 'x', true), DkError.ALREADY_EXISTS, 'symlink over a link');
      err(dk.streamLinkCreate('file:' + root + '/empty', '', true), DkError.NOT_FOUND, 'empty target');
      err(dk.streamLinkCreate('file:' + root + '/nul', 'a\0b', true), DkError.INVALID_ARGUMENT, 'NUL in target');
      // CREATE through a dangling link makes its target (relative to the link's directory).
      ok(dk.streamLinkCreate('file:' + root + '/to-new', 'new-file', true));
      ok(dk.objectClose(open(dk, 'file:' + root + '/to-new', WRITE, CREATE)));
      assert.equal(attrs(dk, 'file:' + root + '/new-file').kind, 'file');
      err(dk.streamOpen('file:' + root + '/to-new', WRITE, CREATE | EXCLUSIVE, 0), DkError.ALREADY_EXISTS, 'EXCLUSIVE does not follow');
      // Loops.
      ok(dk.streamLinkCreate('file:' + root + '/loop1', 'loop2', true));
      ok(dk.streamLinkCreate('file:' + root + '/loop2', 'loop1', true));
      err(dk.streamOpen('file:' + root + '/loop1', READ, 0, 0), DkError.SYMLINK_LOOP, 'a loop');
      assert.equal(attrs(dk, 'file:' + root + '/loop1', QueryOption.NO_FOLLOW).kind, 'symlink');
    });

    withFixture('NO_FOLLOW, DIRECTORY and PATH_ONLY on symbolic links', ({ dk, root }) => {
      makeFile(dk, root + '/f', 'target');
      ok(dk.objectClose(open(dk, 'dir:' + root + '/d', READ, CREATE)));
      ok(dk.streamLinkCreate('file:' + root + '/lf', 'f', true));
      ok(dk.streamLinkCreate('file:' + root + '/ld', root + '/d', true));
      err(dk.streamOpen('file:' + root + '/lf', READ, 0, NO_FOLLOW), DkError.SYMLINK_LOOP, 'NO_FOLLOW on a link');
      const viaLink = open(dk, 'file:' + root + '/lf', READ);
      assert.equal(readText(dk, viaLink, 0), 'target');
      ok(dk.objectClose(open(dk, 'file:' + root + '/ld', READ, 0, DIRECTORY)), 'DIRECTORY through a link to a directory');
      ok(dk.objectClose(open(dk, 'dir:' + root + '/ld', READ)), 'dir: through a link');
      err(dk.streamOpen('file:' + root + '/lf', READ, 0, DIRECTORY), DkError.NOT_A_DIRECTORY, 'DIRECTORY through a link to a file');
      err(dk.streamOpen('file:' + root + '/ld', READ, 0, DIRECTORY | NO_FOLLOW), DkError.NOT_A_DIRECTORY, 'DIRECTORY|NO_FOLLOW on a link');
      err(dk.streamOpen('dir:' + root + '/ld', READ, 0, NO_FOLLOW), DkError.NOT_A_DIRECTORY, 'dir: NO_FOLLOW on a link');
      ok(dk.objectClose(open(dk, 'dir:' + root + '/ld/', READ, 0, NO_FOLLOW)), 'a trailing slash follows even with NO_FOLLOW');

      // PATH_ONLY | NO_FOLLOW: a handle on the link itself.
      const p = open(dk, 'file:' + root + '/lf', 0, 0, PATH_ONLY | NO_FOLLOW);
      const pa = ok(dk.streamAttributesQueryByHandle(p));
      assert.equal(pa.kind, 'symlink');
      assert.equal(pa.linkTarget, 'f');
      assert.equal(pa.readable, false);
      assert.equal(pa.writable, false);
      err(dk.streamRead(p, 0, new Uint8Array(4)), DkError.ACCESS_DENIED, 'no data through PATH_ONLY');
      err(dk.streamWrite(p, 0, new Uint8Array(4)), DkError.ACCESS_DENIED, 'no data through PATH_ONLY');
      const t = 1_100_000_000n * 1_000_000_000n;
      ok(dk.streamAttributesSetByHandle(p, { atimeNs: t, mtimeNs: t }));
      assert.equal(attrs(dk, 'file:' + root + '/lf', QueryOption.NO_FOLLOW).mtimeNs, t, 'the link got the times');
      assert.notEqual(attrs(dk, 'file:' + root + '/f').mtimeNs, t, 'its target did not');
      ok(dk.streamRename(p, 'file:' + root + '/lf2'));
      assert.equal(attrs(dk, 'file:' + root + '/lf2', QueryOption.NO_FOLLOW).linkTarget, 'f');
      ok(dk.streamDelete(p, StreamSide.BOTH));
      err(dk.streamAttributesQuery('file:' + root + '/lf2', QueryOption.NO_FOLLOW), DkError.NOT_FOUND, 'link deleted');
      assert.equal(attrs(dk, 'file:' + root + '/f').kind, 'file', 'target kept');
      // PATH_ONLY following: a handle on the target; DIRECTORY still checks.
      const pf = open(dk, 'file:' + root + '/f', 0, 0, PATH_ONLY);
      assert.equal(ok(dk.streamAttributesQueryByHandle(pf)).kind, 'file');
      err(dk.streamOpen('file:' + root + '/f', 0, 0, PATH_ONLY | DIRECTORY), DkError.NOT_A_DIRECTORY);
      err(dk.streamOpen('file:' + root + '/nope', 0, 0, PATH_ONLY), DkError.NOT_FOUND);
      const pd = open(dk, 'dir:' + root + '/d', 0, 0, PATH_ONLY);
      err(dk.streamEnumerateChildren(pd), DkError.ACCESS_DENIED, 'enumerate through PATH_ONLY');
      for (const x of [viaLink, pf, pd, p]) ok(dk.objectClose(x));
    });

    withFixture('DkStreamGetEvent on a file: always signalled (files never block)', async ({ dk, root }) => {
      const h = open(dk, 'file:' + root + '/ev', RW, CREATE);
      const r = ok(dk.streamGetEvent(h, StreamSide.READ));
      const w = ok(dk.streamGetEvent(h, StreamSide.WRITE));
      assert.equal(ok(await dk.objectsWaitAny([r], 0n)), 0);
      assert.equal(ok(await dk.objectsWaitAny([w], 0n)), 0);
      for (const x of [r, w, h]) ok(dk.objectClose(x));
    });
  });
}

// ---- the two FileSystems side by side ---------------------------------------------------

/**
 * Runs each step on the real file system (NodeFileSystem, in a temporary directory) and on a
 * MemoryFileSystem holding the same directory path, and compares the answers: error codes
 * exactly; for stat results kind, size (not for directories), nlink (not for directories).
 */
test('MemoryFileSystem answers as Linux does on path-walk corner cases', () => {
  const real = new NodeFileSystem();
  const tmp = nodeFs.mkdtempSync(nodePath.join(os.tmpdir(), 'dk-fsdiff-'));
  let clock = 1_000_000_000_000_000_000n;
  const mem = new MemoryFileSystem({ now: () => (clock += 1000n) });
  assert.equal(mem.mkdirs(tmp), 0);
  const R = tmp;
  type Step = [string, (fs: FileSystem) => unknown];
  const shape = (r: unknown): unknown => {
    if (typeof r === 'number') return r < 0 ? dkErrorName(r) : 'ok';
    if (r !== null && typeof r === 'object' && 'kind' in r) {
      const s = r as { kind: string; size: number; nlink: bigint };
      return s.kind === 'directory' ? { kind: s.kind } : { kind: s.kind, size: s.size, nlink: s.nlink };
    }
    if (Array.isArray(r)) return r.map((e: { name: string; kind: string }) => `${e.name}:${e.kind}`).sort();
    return r;
  };
  const withFd = (path: string, flags: number, fn: (fs: FileSystem, fd: number) => unknown) => (fs: FileSystem) => {
    const fd = fs.open(path, flags);
    if (fd < 0) return fd;
    try {
      return fn(fs, fd);
    } finally {
      fs.close(fd);
    }
  };
  const steps: Step[] = [
    ['mkdir a', (fs) => fs.mkdir(R + '/a')],
    ['mkdir a/b/', (fs) => fs.mkdir(R + '/a/b/')],
    ['mkdir a again', (fs) => fs.mkdir(R + '/a')],
    ['mkdir .', (fs) => fs.mkdir(R + '/a/.')],
    ['mkdir ..', (fs) => fs.mkdir(R + '/a/..')],
    ['mkdir missing/x', (fs) => fs.mkdir(R + '/missing/x')],
    ['create f', (fs) => fs.close(fs.open(R + '/a/f', OpenFlag.WRITE | OpenFlag.CREATE) as number)],
    ['write f', withFd(R + '/a/f', OpenFlag.WRITE, (fs, fd) => fs.write(fd, enc.encode('hello'), 0))],
    ['open f/ ', (fs) => fs.open(R + '/a/f/', OpenFlag.READ)],
    ['open f/ create', (fs) => fs.open(R + '/a/new/', OpenFlag.WRITE | OpenFlag.CREATE)],
    ['open existing f/ create', (fs) => fs.open(R + '/a/f/', OpenFlag.WRITE | OpenFlag.CREATE)],
    ['open dir for write', (fs) => fs.open(R + '/a', OpenFlag.WRITE)],
    ['open dir truncate', (fs) => fs.open(R + '/a', OpenFlag.READ | OpenFlag.TRUNCATE)],
    ['open dir create', (fs) => fs.open(R + '/a', OpenFlag.READ | OpenFlag.CREATE)],
    ['open dir create excl', (fs) => fs.open(R + '/a', OpenFlag.READ | OpenFlag.CREATE | OpenFlag.EXCLUSIVE)],
    ['stat a/b/../f', (fs) => fs.stat(R + '/a/b/../f')],
    ['stat a/f/..', (fs) => fs.stat(R + '/a/f/..')],
    ['stat a//b///', (fs) => fs.stat(R + '//a//b///')],
    ['stat /..', (fs) => fs.stat('/../' + R.slice(1) + '/a/f')],
    ['stat long name', (fs) => fs.stat(R + '/' + 'x'.repeat(256))],
    ['stat long utf8 name', (fs) => fs.stat(R + '/' + 'é'.repeat(128))],
    ['symlink rel', (fs) => fs.symlink('f', R + '/a/lf')],
    ['symlink abs dir', (fs) => fs.symlink(R + '/a/b', R + '/a/lb')],
    ['symlink dir slash body', (fs) => fs.symlink('b/', R + '/a/lbs')],
    ['symlink file slash body', (fs) => fs.symlink('f/', R + '/a/lfs')],
    ['symlink dangling', (fs) => fs.symlink('nowhere', R + '/a/dang')],
    ['symlink to ..', (fs) => fs.symlink('..', R + '/a/b/up')],
    ['symlink slash new', (fs) => fs.symlink('x', R + '/a/newlink/')],
    ['symlink existing', (fs) => fs.symlink('x', R + '/a/f')],
    ['symlink .', (fs) => fs.symlink('x', R + '/a/.')],
    ['stat lf', (fs) => fs.stat(R + '/a/lf')],
    ['lstat lf', (fs) => fs.lstat(R + '/a/lf')],
    ['lstat lf/', (fs) => fs.lstat(R + '/a/lf/')],
    ['lstat lb/', (fs) => fs.lstat(R + '/a/lb/')],
    ['stat lfs', (fs) => fs.stat(R + '/a/lfs')],
    ['stat lbs', (fs) => fs.stat(R + '/a/lbs')],
    ['stat b/up/f', (fs) => fs.stat(R + '/a/b/up/f')],
    ['stat lb/../f (physical ..)', (fs) => fs.stat(R + '/a/lb/../f')],
    ['stat dang', (fs) => fs.stat(R + '/a/dang')],
    ['lstat dang', (fs) => fs.lstat(R + '/a/dang')],
    ['readlink lf', (fs) => fs.readlink(R + '/a/lf')],
    ['readlink f', (fs) => fs.readlink(R + '/a/f')],
    ['readlink lb/', (fs) => fs.readlink(R + '/a/lb/')],
    ['open lf nofollow', (fs) => fs.open(R + '/a/lf', OpenFlag.READ | OpenFlag.NO_FOLLOW)],
    ['open lb nofollow directory', (fs) => fs.open(R + '/a/lb', OpenFlag.READ | OpenFlag.NO_FOLLOW | OpenFlag.DIRECTORY)],
    ['open lf nofollow create excl', (fs) => fs.open(R + '/a/lf', OpenFlag.WRITE | OpenFlag.CREATE | OpenFlag.EXCLUSIVE)],
    ['open dang create', withFd(R + '/a/dang', OpenFlag.WRITE | OpenFlag.CREATE, (fs, fd) => fs.fstat(fd))],
    ['stat nowhere', (fs) => fs.stat(R + '/a/nowhere')],
    ['loop', (fs) => (fs.symlink('loop', R + '/a/loop'), fs.stat(R + '/a/loop'))],
    ['through loop', (fs) => fs.stat(R + '/a/loop/x')],
    ['unlink dir', (fs) => fs.unlink(R + '/a/b')],
    ['unlink lb/', (fs) => fs.unlink(R + '/a/lb/')],
    ['unlink f/', (fs) => fs.unlink(R + '/a/f/')],
    ['unlink missing', (fs) => fs.unlink(R + '/a/missing')],
    ['unlink .', (fs) => fs.unlink(R + '/a/.')],
    ['rmdir f', (fs) => fs.rmdir(R + '/a/f')],
    ['rmdir lb', (fs) => fs.rmdir(R + '/a/lb')],
    ['rmdir lb/', (fs) => fs.rmdir(R + '/a/lb/')],
    ['rmdir a (not empty)', (fs) => fs.rmdir(R + '/a')],
    ['rmdir .', (fs) => fs.rmdir(R + '/a/b/.')],
    ['rmdir ..', (fs) => fs.rmdir(R + '/a/b/..')],
    ['link f', (fs) => fs.link(R + '/a/f', R + '/a/f2')],
    ['stat f nlink', (fs) => fs.stat(R + '/a/f')],
    ['link symlink itself', (fs) => (fs.link(R + '/a/lf', R + '/a/lf2'), fs.lstat(R + '/a/lf2'))],
    ['link dir', (fs) => fs.link(R + '/a/b', R + '/a/b2')],
    ['link f/ ', (fs) => fs.link(R + '/a/f/', R + '/a/f3')],
    ['link to existing', (fs) => fs.link(R + '/a/f', R + '/a/f2')],
    ['link new/ ', (fs) => fs.link(R + '/a/f', R + '/a/f4/')],
    ['rename same inode', (fs) => fs.rename(R + '/a/f', R + '/a/f2')],
    ['after same-inode rename', (fs) => fs.readdir(R + '/a')],
    ['rename missing', (fs) => fs.rename(R + '/a/zz', R + '/a/yy')],
    ['rename f/ ', (fs) => fs.rename(R + '/a/f/', R + '/a/g')],
    ['rename to g/ ', (fs) => fs.rename(R + '/a/f', R + '/a/g/')],
    ['rename dir into itself', (fs) => fs.rename(R + '/a/b', R + '/a/b/c')],
    ['rename dir onto its ancestor', (fs) => fs.rename(R + '/a/b', R + '/a')],
    ['rename file onto dir', (fs) => fs.rename(R + '/a/f', R + '/a/b')],
    ['rename dir onto file', (fs) => fs.rename(R + '/a/b', R + '/a/f')],
    ['rename .', (fs) => fs.rename(R + '/a/.', R + '/a/q')],
    ['rename to ..', (fs) => fs.rename(R + '/a/f2', R + '/a/b/..')],
    ['mkdir c, rename b onto c', (fs) => (fs.mkdir(R + '/c'), fs.rename(R + '/a/b', R + '/c'))],
    ['stat c', (fs) => fs.stat(R + '/c')],
    ['rename b back via slash', (fs) => fs.rename(R + '/c/', R + '/a/b/')],
    ['readdir a', (fs) => fs.readdir(R + '/a')],
    ['readdir f', (fs) => fs.readdir(R + '/a/f')],
    ['readdir lb', (fs) => fs.readdir(R + '/a/lb')],
    [
      'truncate and read',
      withFd(R + '/a/f', OpenFlag.READ | OpenFlag.WRITE, (fs, fd) => {
        fs.ftruncate(fd, 2);
        const buf = new Uint8Array(10);
        const n = fs.read(fd, buf, 0) as number;
        fs.ftruncate(fd, 6);
        const m = fs.read(fd, buf, 0) as number;
        return `${n}:${m}:${[...buf.subarray(0, m)].join(',')}`;
      }),
    ],
    ['append ignores position', withFd(R + '/a/f', OpenFlag.WRITE | OpenFlag.APPEND, (fs, fd) => (fs.write(fd, enc.encode('!'), 0), fs.fstat(fd)))],
    ['unlink open file', withFd(R + '/a/f', OpenFlag.READ, (fs, fd) => (fs.unlink(R + '/a/f'), fs.unlink(R + '/a/f2'), fs.fstat(fd)))],
  ];
  try {
    for (const [name, step] of steps) {
      assert.deepEqual(shape(step(mem)), shape(step(real)), name);
    }
  } finally {
    nodeFs.rmSync(tmp, { recursive: true, force: true });
  }
});

// ---- the memory host's own guarantees: Linux's time rules, sparse files --------------------

describe('MemoryFileSystem', () => {
  const setup = () => {
    let clock = 1_000n;
    const fs = new MemoryFileSystem({ now: () => clock });
    const tick = () => (clock += 1_000n);
    return { fs, tick, at: () => clock };
  };
  const times = (fs: MemoryFileSystem, path: string) => {
    const st = fs.lstat(path);
    assert.ok(typeof st !== 'number', `lstat ${path}`);
    return { a: st.atimeNs, m: st.mtimeNs, c: st.ctimeNs, nlink: st.nlink };
  };

  test('times follow Linux: creation, writes, truncation, links, renames, relatime reads', () => {
    const { fs, tick, at } = setup();
    assert.equal(fs.mkdir('/d'), 0);
    tick();
    const fd = fs.open('/d/f', OpenFlag.READ | OpenFlag.WRITE | OpenFlag.CREATE) as number;
    assert.ok(fd > 0);
    const created = at();
    assert.deepEqual(times(fs, '/d/f'), { a: created, m: created, c: created, nlink: 1n });
    assert.equal(times(fs, '/d').m, created, 'creating an entry changes the directory');
    tick();
    assert.equal(fs.write(fd, enc.encode('abc'), 0), 3);
    const written = at();
    assert.deepEqual(times(fs, '/d/f'), { a: created, m: written, c: written, nlink: 1n });
    tick();
    assert.equal(fs.write(fd, new Uint8Array(0), 0), 0);
    assert.equal(times(fs, '/d/f').m, written, 'an empty write changes nothing');
    // relatime: the first read after a change refreshes atime; the next one does not.
    tick();
    fs.read(fd, new Uint8Array(3), 0);
    const read1 = at();
    assert.equal(times(fs, '/d/f').a, read1);
    tick();
    fs.read(fd, new Uint8Array(3), 0);
    assert.equal(times(fs, '/d/f').a, read1, 'relatime: atime already newer than mtime');
    tick();
    assert.equal(fs.ftruncate(fd, 1), 0);
    assert.equal(times(fs, '/d/f').m, at());
    tick();
    assert.equal(fs.link('/d/f', '/d/g'), 0);
    assert.deepEqual(times(fs, '/d/f'), { a: read1, m: at() - 1_000n, c: at(), nlink: 2n });
    tick();
    assert.equal(fs.mkdir('/e'), 0);
    assert.equal(fs.rename('/d/g', '/e/g'), 0);
    assert.equal(times(fs, '/d').m, at());
    assert.equal(times(fs, '/e').m, at());
    assert.equal(times(fs, '/e/g').c, at(), 'rename changes the moved inode');
    tick();
    assert.equal(fs.futimes(fd, 5n, 'now'), 0);
    assert.deepEqual(times(fs, '/e/g'), { a: 5n, m: at(), c: at(), nlink: 2n });
    tick();
    assert.equal(fs.futimes(fd, null, null), 0);
    assert.equal(times(fs, '/e/g').c, at() - 1_000n, 'nothing to set: ctime stays');
    assert.equal(fs.close(fd), 0);
    assert.equal(fs.close(fd), DkError.BAD_HANDLE);
  });

  test('directory link counts: 2 plus subdirectories, 0 once removed', () => {
    const { fs } = setup();
    fs.mkdir('/p');
    fs.mkdir('/p/a');
    fs.mkdir('/p/b');
    assert.equal(times(fs, '/p').nlink, 4n);
    assert.equal(times(fs, '/').nlink, 3n);
    fs.mkdir('/q');
    assert.equal(fs.rename('/p/a', '/q/a'), 0);
    assert.equal(times(fs, '/p').nlink, 3n);
    assert.equal(times(fs, '/q').nlink, 3n);
    const fd = fs.open('/p/b', OpenFlag.READ) as number;
    assert.equal(fs.rmdir('/p/b'), 0);
    const st = fs.fstat(fd);
    assert.ok(typeof st !== 'number');
    assert.equal(st.nlink, 0n);
    assert.equal(fs.open('/p/b/x', OpenFlag.WRITE | OpenFlag.CREATE), DkError.NOT_FOUND);
    assert.equal(fs.rmdir('/'), DkError.BUSY);
  });

  test('files are sparse: holes read as zeros, 16 TiB at most', () => {
    const { fs } = setup();
    const fd = fs.open('/big', OpenFlag.READ | OpenFlag.WRITE | OpenFlag.CREATE) as number;
    assert.equal(fs.ftruncate(fd, 2 ** 40), 0, 'a terabyte costs nothing');
    assert.equal(fs.write(fd, enc.encode('end'), 2 ** 40 - 1), 3);
    const buf = new Uint8Array(8).fill(7);
    assert.equal(fs.read(fd, buf, 2 ** 40 - 5), 7, 'up to the end');
    assert.deepEqual([...buf], [0, 0, 0, 0, 0x65, 0x6e, 0x64, 7]);
    assert.equal(fs.write(fd, enc.encode('x'), 2 ** 44), DkError.FILE_TOO_LARGE);
    assert.equal(fs.write(fd, enc.encode('xyz'), 2 ** 44 - 1), 1, 'a write stops at the limit');
    assert.equal(fs.ftruncate(fd, 2 ** 44 + 1), DkError.FILE_TOO_LARGE);
  });

  test('page-crossing reads, writes and truncations match a flat array', () => {
    const { fs } = setup();
    const fd = fs.open('/r', OpenFlag.READ | OpenFlag.WRITE | OpenFlag.CREATE) as number;
    let model = new Uint8Array(0);
    let seed = 12345;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    for (let i = 0; i < 400; i++) {
      const op = rand(3);
      if (op === 0) {
        const at = rand(20_000);
        const data = new Uint8Array(rand(9_000)).map(() => rand(256));
        assert.equal(fs.write(fd, data, at), data.length);
        if (at + data.length > model.length) {
          const grown = new Uint8Array(at + data.length);
          grown.set(model);
          model = grown;
        }
        model.set(data, at);
      } else if (op === 1) {
        const len = rand(24_000);
        assert.equal(fs.ftruncate(fd, len), 0);
        const next = new Uint8Array(len);
        next.set(model.subarray(0, Math.min(len, model.length)));
        model = next;
      } else {
        const at = rand(24_000);
        const buf = new Uint8Array(rand(10_000));
        const n = fs.read(fd, buf, at) as number;
        const want = model.subarray(Math.min(at, model.length), Math.min(at + buf.length, model.length));
        assert.equal(n, want.length);
        assert.deepEqual(buf.subarray(0, n), want, `step ${i}`);
      }
    }
  });
});
