// The syscall tables are what the runtime imports from: every name in them must resolve to a
// function of its family (the library OS makes a family the first time a name of it is asked).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWasiLibOs, SYSCALLS } from '../src/libos/wasi/index.ts';
import { DRAWBRIDGE_CALLS } from '../src/libos/drawbridge/index.ts';
import { createMonitor, policyFromManifest } from '../src/monitor/monitor.ts';
import { createNodeHost } from '../src/host/node/index.ts';
import { emptyManifest } from '../src/monitor/manifest.ts';

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

test('stdio is asked whether it is a terminal only when the guest wants to know, once per descriptor', () => {
  const p = createNodeHost().createProcess({});
  const monitored = createMonitor(p.dk, policyFromManifest(emptyManifest()));
  const terminals = new Set<number>();
  let queries = 0;
  // The Dk as the library OS sees it, with stdout made a terminal and the queries counted.
  const dk = new Proxy(monitored, {
    get(target, key) {
      if (key === 'streamAttributesQueryByHandle') {
        return (h: number) => {
          queries++;
          const a = target.streamAttributesQueryByHandle(h);
          return typeof a === 'object' ? { ...a, terminal: terminals.has(h) } : a;
        };
      }
      const v = Reflect.get(target, key) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const os = createWasiLibOs(dk, { args: ['x'], env: [], preopens: [] });
  assert.equal(queries, 0, 'starting asks nothing');
  terminals.add(os.state.fds.get(1)!.handle);
  const memory = new WebAssembly.Memory({ initial: 1 });
  os.attachMemory(memory);
  const fdstat = os.syscall('fd_fdstat_get')!;
  const filetype = (fd: number) => {
    assert.equal(fdstat(fd, 64), 0);
    return new Uint8Array(memory.buffer)[64];
  };
  assert.equal(filetype(1), 2, 'a terminal is a character device');
  assert.equal(filetype(2), 0, 'anything else is unknown, as in wasmtime');
  assert.equal(filetype(1), 2);
  assert.equal(queries, 2, 'one query per descriptor');
  os.close();
});
