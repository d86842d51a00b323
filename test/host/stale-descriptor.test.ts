// A directory descriptor names the directory it opened, not the path it was opened by: a guest
// that opens /data/E, renames E away and plants a relative symbolic link to the host's /etc at
// /data/E must enumerate the old directory through its old descriptor, never the host's /etc.
// Both hosts (test/support/hosts.ts), through the monitor, with one read-write mount. And the
// root descriptor the node host holds for a mount is dropped when the host replaces the folder.

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Access, Create, OpenOption, type Dk, type DkResult } from '../../src/abi/dk.ts';
import { dkErrorName, isDkError } from '../../src/abi/errors.ts';
import { buildManifest } from '../../src/monitor/manifest/parse.ts';
import { createMonitor, policyFromManifest } from '../../src/monitor/monitor.ts';
import { HOSTS } from '../support/hosts.ts';

const R = Access.READ;
const W = Access.WRITE;

function ok<T>(r: DkResult<T>, what: string): T {
  if (isDkError(r)) assert.fail(`${what} failed with ${dkErrorName(r)}`);
  return r;
}

for (const hostDef of HOSTS) {
  describe(`stale directory descriptor (${hostDef.name} host)`, () => {
    const isMemory = hostDef.name === 'memory';
    const root = isMemory ? '/w' : mkdtempSync(join(tmpdir(), 'drawbridge-stale-'));
    after(() => {
      if (!isMemory) rmSync(root, { recursive: true, force: true });
    });
    const host = hostDef.create();
    const admin = host.createProcess().dk;
    if (isMemory) {
      // The memory host has no /etc of its own: give it one with a file the guest must not see.
      ok(admin.streamOpen('dir:/etc', R, Create.CREATE, 0), 'mkdir /etc');
      ok(admin.streamOpen('file:/etc/host-only-entry', W, Create.CREATE, 0), 'create /etc entry');
      ok(admin.streamOpen('dir:/w', R, Create.CREATE, 0), 'mkdir /w');
    }
    ok(admin.streamOpen(`dir:${root}/data`, R, Create.CREATE, 0), 'mkdir data');
    const m = buildManifest({ mounts: [{ host: `${root}/data`, guest: '/data', mode: 'rw' }] });
    assert.ok(m.ok);
    const dk: Dk = createMonitor(host.createProcess().dk, policyFromManifest(m.manifest));

    it('enumerates the directory it opened after a rename and a planted link to /etc', () => {
      ok(dk.streamOpen('dir:/data/E', R, Create.CREATE, 0), 'mkdir /data/E');
      ok(dk.streamOpen('file:/data/E/mine', W, Create.CREATE, 0), 'create /data/E/mine');
      const e = ok(dk.streamOpen('dir:/data/E', R, 0, 0), 'open /data/E');
      const moved = ok(dk.streamOpen('dir:/data/E', R, 0, OpenOption.PATH_ONLY), 'open /data/E to rename');
      assert.equal(dk.streamRename(moved, 'dir:/data/E2'), 0);
      assert.equal(dk.streamLinkCreate('file:/data/E', '../../../../../../../../etc', true), 0);
      const names = ok(dk.streamEnumerateChildren(e), 'enumerate the old descriptor').map((x) => x.name);
      assert.deepEqual(names, ['mine'], 'the old descriptor lists the directory it opened (now /data/E2)');
      // Its attributes are those of that directory too.
      const a = ok(dk.streamAttributesQueryByHandle(e), 'attributes of the old descriptor');
      const e2 = ok(dk.streamAttributesQuery('dir:/data/E2', 0), 'attributes of /data/E2');
      assert.equal(a.ino, e2.ino);
    });

    it('a mount root replaced by the host is the new one (the held root descriptor is checked)', () => {
      const old = `${root}/data-old`;
      const mk = (uri: string, create: number) => ok(admin.streamOpen(uri, W, create, 0), uri);
      ok(dk.streamAttributesQuery('file:/data/E2', 0), 'a walk that holds the root');
      const data = ok(admin.streamOpen(`dir:${root}/data`, R, 0, OpenOption.PATH_ONLY), 'open data');
      assert.equal(admin.streamRename(data, `dir:${old}`), 0);
      ok(admin.streamOpen(`dir:${root}/data`, R, Create.CREATE, 0), 'mkdir a new data');
      mk(`file:${root}/data/fresh`, Create.CREATE);
      ok(dk.streamAttributesQuery('file:/data/fresh', 0), 'a file of the new root');
      assert.equal(isDkError(dk.streamAttributesQuery('file:/data/E2', 0)), true, 'nothing of the old root');
    });
  });
}
