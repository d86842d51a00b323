// trusted_files (docs/manifest.md): a file the manifest lists with its SHA-256 is checked
// against the bytes the picoprocess actually reads, on both hosts. Opened, it is read through
// the same handle and hashed (a mismatch refuses the open); each later read is served from
// chunks hashed again as they are read, so a file changed after the open fails the read
// (IO_ERROR) instead of handing the guest bytes nobody checked. A trusted file is never
// opened for writing.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Access, Create, type Dk, type DkResult } from '../../src/abi/dk.ts';
import { DkError, dkErrorName, isDkError } from '../../src/abi/errors.ts';
import { buildManifest, parseManifest } from '../../src/monitor/manifest/parse.ts';
import { createMonitor, policyFromManifest } from '../../src/monitor/monitor.ts';
import { HOSTS } from '../support/hosts.ts';

const R = Access.READ;
const W = Access.WRITE;
const enc = (s: string) => new TextEncoder().encode(s);
const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
/** Three 64 KiB chunks and a bit: reads span chunks. */
const BIG = new Uint8Array(3 * 65536 + 100).map((_, i) => (i * 31 + 7) & 0xff);

function ok<T>(r: DkResult<T>, what: string): T {
  if (isDkError(r)) throw new Error(`set-up: ${what} failed with ${dkErrorName(r)}`);
  return r;
}

it('the manifest reads trusted_files and module_sha256, and refuses malformed ones', () => {
  const good = parseManifest(`module_sha256 = "${'a'.repeat(64)}"\n[trusted_files]\n"/data/t.txt" = "${'B'.repeat(64)}"\n`);
  assert.ok(good.ok, JSON.stringify(!good.ok && good.errors));
  assert.equal(good.manifest.moduleSha256, 'a'.repeat(64));
  assert.deepEqual(good.manifest.trustedFiles, { '/data/t.txt': 'b'.repeat(64) });
  const bad = parseManifest(`module_sha256 = "xyz"\n[trusted_files]\n"rel" = "${'b'.repeat(64)}"\n"/x" = "short"\n`);
  assert.ok(!bad.ok);
  assert.deepEqual(bad.errors.map((e) => e.path).sort(), ['module_sha256', 'trusted_files.rel', 'trusted_files["/x"]'].sort());
});

for (const hostDef of HOSTS) {
  describe(`trusted files on the ${hostDef.name} host`, () => {
    let admin: Dk;
    let guest: Dk;
    let root: string;
    const write = (p: string, bytes: Uint8Array) => {
      const h = ok(admin.streamOpen(`file:${root}${p}`, W, Create.CREATE | Create.TRUNCATE, 0), `create ${p}`);
      ok(admin.streamWrite(h, 0, bytes), `write ${p}`);
      admin.objectClose(h);
    };

    before(() => {
      const host = hostDef.create();
      admin = host.createProcess().dk;
      root = hostDef.name === 'memory' ? '/w' : mkdtempSync(join(tmpdir(), 'drawbridge-trusted-'));
      if (hostDef.name === 'memory') ok(admin.streamOpen('dir:/w', R, Create.CREATE, 0), 'mkdir /w');
      ok(admin.streamOpen(`dir:${root}/data`, R, Create.CREATE, 0), 'mkdir data');
      write('/data/t.txt', enc('trusted text'));
      write('/data/big.bin', BIG);
      write('/data/wrong.txt', enc('not what the manifest says'));
      write('/data/free.txt', enc('untrusted'));
      const m = buildManifest({
        mounts: [{ host: `${root}/data`, guest: '/data', mode: 'rw' }],
        trusted_files: { '/data/t.txt': sha('trusted text'), '/data/big.bin': sha(BIG), '/data/wrong.txt': sha('something else') },
      });
      assert.ok(m.ok, JSON.stringify(!m.ok && m.errors));
      guest = createMonitor(host.createProcess().dk, policyFromManifest(m.manifest));
    });

    it('a trusted file whose bytes match reads as it is; others are untouched', () => {
      const h = ok(guest.streamOpen('file:/data/t.txt', R, 0, 0), 'open t.txt');
      const buf = new Uint8Array(64);
      assert.equal(guest.streamRead(h, 0, buf), 12);
      assert.equal(new TextDecoder().decode(buf.subarray(0, 12)), 'trusted text');
      assert.equal(guest.streamRead(h, 8, buf), 4);
      assert.equal(new TextDecoder().decode(buf.subarray(0, 4)), 'text');
      assert.equal(guest.streamRead(h, 12, buf), 0);
      guest.objectClose(h);
      const big = ok(guest.streamOpen('file:/data/big.bin', R, 0, 0), 'open big.bin');
      const part = new Uint8Array(70000);
      assert.equal(guest.streamRead(big, 60000, part), 70000);
      assert.deepEqual(part, BIG.subarray(60000, 130000));
      guest.objectClose(big);
      const free = ok(guest.streamOpen('file:/data/free.txt', R, 0, 0), 'open free.txt');
      assert.equal(guest.streamRead(free, 0, buf), 9);
      guest.objectClose(free);
    });

    it('a trusted file whose hash differs is refused at open', () => {
      assert.equal(guest.streamOpen('file:/data/wrong.txt', R, 0, 0), DkError.NOT_CAPABLE);
    });

    it('a trusted file is never opened for writing', () => {
      assert.equal(guest.streamOpen('file:/data/t.txt', R | W, 0, 0), DkError.NOT_CAPABLE);
      assert.equal(guest.streamOpen('file:/data/t.txt', W, Create.TRUNCATE, 0), DkError.NOT_CAPABLE);
    });

    it('a trusted file changed after its open fails the read instead of handing over unchecked bytes', () => {
      const h = ok(guest.streamOpen('file:/data/big.bin', R, 0, 0), 'open big.bin');
      const buf = new Uint8Array(100);
      assert.equal(guest.streamRead(h, 0, buf), 100);
      const tampered = BIG.slice();
      tampered[2 * 65536 + 5] = tampered[2 * 65536 + 5]! ^ 0xff;
      write('/data/big.bin', tampered);
      assert.equal(guest.streamRead(h, 0, buf), 100, 'an unchanged chunk still reads');
      assert.equal(guest.streamRead(h, 2 * 65536, buf), DkError.IO_ERROR);
      const shorter = BIG.subarray(0, 1000);
      write('/data/big.bin', shorter);
      assert.equal(guest.streamRead(h, 0, buf), DkError.IO_ERROR);
      guest.objectClose(h);
      assert.equal(guest.streamOpen('file:/data/big.bin', R, 0, 0), DkError.NOT_CAPABLE);
    });
  });
}
