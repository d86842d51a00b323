// reset: — what a connected socket becomes when its picoprocess is restored or migrated and
// its peer could not follow: every read and write answers CONNECTION_RESET, on both hosts and
// through the monitor, and the library OS reports ECONNRESET.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Access } from '../../src/abi/dk.ts';
import { DkError } from '../../src/abi/errors.ts';
import { createMonitor } from '../../src/monitor/monitor.ts';
import { policyFromManifest } from '../../src/monitor/policy.ts';
import { emptyManifest } from '../../src/monitor/manifest/manifest.ts';
import { errnoOf } from '../../src/libos/core/errno.ts';
import { Errno } from '../../src/libos/core/constants.ts';
import { HOSTS } from '../support/hosts.ts';

for (const host of HOSTS) {
  test(`reset: reads and writes answer CONNECTION_RESET (${host.name} host, through the monitor)`, () => {
    const dk = createMonitor(host.create().createProcess().dk, policyFromManifest(emptyManifest()));
    const h = dk.streamOpen('reset:', Access.READ | Access.WRITE, 0, 0);
    assert.ok(h > 0);
    assert.equal(dk.streamRead(h, -1, new Uint8Array(8)), DkError.CONNECTION_RESET);
    assert.equal(dk.streamWrite(h, -1, new Uint8Array(8)), DkError.CONNECTION_RESET);
    assert.equal(errnoOf(DkError.CONNECTION_RESET), Errno.CONNRESET);
    assert.equal(dk.streamOpen('reset:x', Access.READ, 0, 0), DkError.INVALID_ARGUMENT);
    assert.equal(dk.objectClose(h), 0);
  });
}
