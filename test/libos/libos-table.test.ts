// The syscall tables are what the runtime imports from: every name in them must resolve to a
// function of its family (the library OS makes a family the first time a name of it is asked).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWasiLibOs, SYSCALLS } from '../../src/libos/index.ts';
import { DRAWBRIDGE_CALLS } from '../../src/libos/drawbridge/index.ts';
import { createMonitor, policyFromManifest } from '../../src/monitor/monitor.ts';
import { createNodeHost } from '../../src/host/node/index.ts';
import { emptyManifest } from '../../src/monitor/manifest/manifest.ts';

function libos() {
  const p = createNodeHost().createProcess({});
  return createWasiLibOs(createMonitor(p.dk, policyFromManifest(emptyManifest())), { args: ['x'], env: [], preopens: [] });
}

test('every wasi_snapshot_preview1 and drawbridge name in the tables resolves to a function, and nothing else does', () => {
  const os = libos();
  for (const name of Object.keys(SYSCALLS)) assert.equal(typeof os.syscall(name), 'function', name);
  for (const name of Object.keys(DRAWBRIDGE_CALLS)) assert.equal(typeof os.drawbridgeCall(name), 'function', name);
  for (const name of ['toString', 'constructor', '__proto__', 'sock_open', 'fd_write ']) {
    assert.equal(os.syscall(name), undefined, name);
    assert.equal(os.drawbridgeCall(name), undefined, name);
  }
  os.close();
});

test('one family is made once per library OS: asking twice gives the same function', () => {
  const os = libos();
  assert.equal(os.syscall('fd_write'), os.syscall('fd_write'));
  assert.equal(os.syscall('fd_read'), os.syscall('fd_read'));
  assert.notEqual(libos().syscall('fd_write'), os.syscall('fd_write'));
  os.close();
});
