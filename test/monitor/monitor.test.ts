// The security monitor over a small fake host (test/support/monitor-fake-dk.ts): path mapping through
// mounts, read-only mounts, canonicalisation, symbolic links inside and outside the mounts
// (absolute, relative, loops), the check-then-use race, quotas, network grants, and the
// generic wrapping of every primitive. The same rules over the real hosts are in
// monitor-hostile.test.ts; ordinary work over the real hosts is at the end of this file.

import { describe, it, beforeEach, after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { Access, Create, OpenOption, QueryOption, StreamSide, type Dk } from '../../src/abi/dk.ts';
import { DkError } from '../../src/abi/errors.ts';
import { PRIMITIVES } from '../../src/abi/spec.ts';
import { buildManifest, parseManifest } from '../../src/monitor/manifest/parse.ts';
import { createMonitor, monitorUsage, policyFromManifest, type MonitorPolicy } from '../../src/monitor/monitor.ts';
import { FakeDk, expectOk } from '../support/monitor-fake-dk.ts';
import { HOSTS } from '../support/hosts.ts';

const R = Access.READ;
const W = Access.WRITE;
const enc = (s: string) => new TextEncoder().encode(s);

function policy(extra: Partial<MonitorPolicy['limits']> = {}, network: string = ''): MonitorPolicy {
  const r = parseManifest(`
    [[mounts]]
    host = "/host/data"
    guest = "/data"
    mode = "rw"
    [[mounts]]
    host = "/host/ro"
    guest = "/ro"
    mode = "ro"
    [[mounts]]
    host = "/host/deep"
    guest = "/mnt/deep/data"
    mode = "rw"
    [[mounts]]
    host = "/host/inner"
    guest = "/data/inner"
    mode = "ro"
    ${network}
  `);
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  const p = policyFromManifest(r.manifest);
  return { ...p, limits: { ...p.limits, ...extra } };
}

function world(): FakeDk {
  const f = new FakeDk();
  for (const d of ['/host/data/sub', '/host/ro', '/host/deep', '/host/inner', '/host/secret', '/etc']) f.mkdirp(d);
  f.writeFile('/host/data/a.txt', 'A');
  f.writeFile('/host/data/sub/b.txt', 'B');
  f.writeFile('/host/ro/r.txt', 'R');
  f.writeFile('/host/deep/x', 'X');
  f.writeFile('/host/inner/i', 'I');
  f.writeFile('/host/secret/key', 'SECRET');
  f.writeFile('/host/secret/b.txt', 'SECRET-B');
  f.writeFile('/etc/passwd', 'root:x:0:0');
  f.symlink('/host/data/in-abs', '/data/a.txt');
  f.symlink('/host/data/in-rel', 'sub/b.txt');
  f.symlink('/host/data/sub/up-rel', '../a.txt');
  f.symlink('/host/data/out-abs', '/etc/passwd');
  f.symlink('/host/data/out-rel', '../../../../../etc/passwd');
  f.symlink('/host/data/host-abs', '/host/secret/key'); // a HOST path: must not work in the guest
  f.symlink('/host/data/to-ro', '/ro/r.txt');
  f.symlink('/host/data/loop1', 'loop2');
  f.symlink('/host/data/loop2', 'loop1');
  f.symlink('/host/data/self', 'self');
  f.symlink('/host/data/dirlink', 'sub');
  f.symlink('/host/data/dangling', 'made-by-link');
  f.symlink('/host/data/empty', '');
  return f;
}

function read(dk: Dk, uri: string): string | number {
  const h = dk.streamOpen(uri, R, 0, 0);
  if (h < 0) return h;
  const buf = new Uint8Array(64);
  const n = expectOk(dk.streamRead(h, 0, buf));
  assert.equal(dk.objectClose(h), 0);
  return new TextDecoder().decode(buf.subarray(0, n));
}

describe('monitor: mapping and canonicalisation', () => {
  let fake: FakeDk;
  let dk: Dk;
  beforeEach(() => {
    fake = world();
    dk = createMonitor(fake.dk, policy());
  });

  it('maps guest paths through the mounts, longest prefix first', () => {
    assert.equal(read(dk, 'file:/data/a.txt'), 'A');
    assert.equal(read(dk, 'file:/data/sub/b.txt'), 'B');
    assert.equal(read(dk, 'file:/ro/r.txt'), 'R');
    assert.equal(read(dk, 'file:/mnt/deep/data/x'), 'X');
    assert.equal(read(dk, 'file:/data/inner/i'), 'I'); // nested mount wins over /data
  });

  it('canonicalises: repeated slashes, ".", ".."; climbing above the guest root is refused', () => {
    assert.equal(read(dk, 'file:/data//./sub/../a.txt'), 'A');
    // cap-std (wasmtime) refuses a path that leaves its root rather than clamping it.
    assert.equal(read(dk, 'file:/../../../data/a.txt'), DkError.NOT_CAPABLE);
    assert.equal(read(dk, 'file:/mnt/../mnt/deep/./data/x'), 'X');
    assert.equal(read(dk, 'file:/data/sub/b.txt/../b.txt'), DkError.NOT_A_DIRECTORY);
  });

  it('refuses paths outside every mount without asking the host', () => {
    assert.equal(read(dk, 'file:/data/../etc/passwd'), DkError.NOT_CAPABLE);
    assert.equal(read(dk, 'file:/host/secret/key'), DkError.NOT_CAPABLE);
    assert.equal(read(dk, 'file:/mnt/other'), DkError.NOT_CAPABLE);
    assert.equal(dk.streamOpen('dir:/', R, 0, 0), DkError.NOT_CAPABLE); // virtual, not a mount
    assert.equal(dk.streamAttributesQuery('file:/etc/passwd', 0), DkError.NOT_CAPABLE);
    for (const p of fake.seenPaths) assert.match(p, /^\/host\/(data|ro|deep|inner)(\/|$)/);
  });

  it('rejects malformed paths with exact codes', () => {
    assert.equal(dk.streamOpen('file:data/a.txt', R, 0, 0), DkError.INVALID_ARGUMENT);
    assert.equal(dk.streamOpen('file:', R, 0, 0), DkError.INVALID_ARGUMENT);
    assert.equal(dk.streamOpen('file:/data/a\0.txt', R, 0, 0), DkError.INVALID_ARGUMENT);
    assert.equal(dk.streamOpen(`file:/data/${'n'.repeat(256)}`, R, 0, 0), DkError.NAME_TOO_LONG);
    assert.equal(dk.streamOpen(`file:/data/${'é'.repeat(128)}`, R, 0, 0), DkError.NAME_TOO_LONG); // 256 bytes
    assert.equal(dk.streamOpen(`file:/data${'/a'.repeat(2049)}`, R, 0, 0), DkError.NAME_TOO_LONG);
    assert.equal(dk.streamOpen(`file:/data/${'n'.repeat(255)}`, R, 0, 0), DkError.NOT_FOUND); // 255 is fine
  });
});

describe('monitor: symbolic links are resolved in the guest namespace', () => {
  let fake: FakeDk;
  let dk: Dk;
  beforeEach(() => {
    fake = world();
    dk = createMonitor(fake.dk, policy());
  });

  it('follows links that stay inside the mounts', () => {
    assert.equal(read(dk, 'file:/data/in-abs'), 'A');
    assert.equal(read(dk, 'file:/data/in-rel'), 'B');
    assert.equal(read(dk, 'file:/data/sub/up-rel'), 'A');
    assert.equal(read(dk, 'file:/data/dirlink/b.txt'), 'B');
    assert.equal(read(dk, 'file:/data/dirlink/../a.txt'), 'A'); // '..' of the link's target
    assert.equal(read(dk, 'file:/data/to-ro'), 'R');
  });

  it('refuses links that point outside, absolute or relative, and host paths', () => {
    assert.equal(read(dk, 'file:/data/out-abs'), DkError.NOT_CAPABLE);
    assert.equal(read(dk, 'file:/data/out-rel'), DkError.NOT_CAPABLE);
    assert.equal(read(dk, 'file:/data/host-abs'), DkError.NOT_CAPABLE);
    assert.equal(dk.streamAttributesQuery('file:/data/out-abs', 0), DkError.NOT_CAPABLE);
    for (const p of fake.seenPaths) assert.match(p, /^\/host\/(data|ro|deep|inner)(\/|$)/);
  });

  it('detects loops, and an empty link is NOT_FOUND', () => {
    assert.equal(read(dk, 'file:/data/loop1'), DkError.SYMLINK_LOOP);
    assert.equal(read(dk, 'file:/data/self'), DkError.SYMLINK_LOOP);
    assert.equal(read(dk, 'file:/data/empty'), DkError.NOT_FOUND);
  });

  it('keeps the caller NO_FOLLOW: SYMLINK_LOOP, except PATH_ONLY which names the link', () => {
    assert.equal(dk.streamOpen('file:/data/in-abs', R, 0, OpenOption.NO_FOLLOW), DkError.SYMLINK_LOOP);
    const h = expectOk(dk.streamOpen('file:/data/out-abs', 0, 0, OpenOption.NO_FOLLOW | OpenOption.PATH_ONLY));
    const a = expectOk(dk.streamAttributesQueryByHandle(h));
    assert.equal(a.kind, 'symlink');
    assert.equal(a.linkTarget, '/etc/passwd');
    const q = expectOk(dk.streamAttributesQuery('file:/data/out-abs', QueryOption.NO_FOLLOW));
    assert.equal(q.kind, 'symlink');
    assert.equal(q.linkTarget, '/etc/passwd');
    assert.ok(!('hostSecret' in q) && !('hostSecret' in a), 'attributes carry only the ABI fields');
  });

  it('creates through a dangling link inside the mount, not with EXCLUSIVE', () => {
    assert.equal(dk.streamOpen('file:/data/dangling', W, Create.CREATE | Create.EXCLUSIVE, 0), DkError.ALREADY_EXISTS);
    const h = expectOk(dk.streamOpen('file:/data/dangling', W, Create.CREATE, 0));
    assert.equal(dk.streamWrite(h, 0, enc('via link')), 8);
    assert.equal(fake.readFile('/host/data/made-by-link'), 'via link');
  });

  it('stores a new symlink target as given and checks it when followed', () => {
    assert.equal(dk.streamLinkCreate('file:/data/evil', '/etc/passwd', true), 0);
    assert.equal(fake.lookup('/host/data/evil', false) !== null, true);
    assert.equal(expectOk(dk.streamAttributesQuery('file:/data/evil', QueryOption.NO_FOLLOW)).linkTarget, '/etc/passwd');
    assert.equal(read(dk, 'file:/data/evil'), DkError.NOT_CAPABLE);
    assert.equal(dk.streamLinkCreate('file:/data/ok', 'a.txt', true), 0);
    assert.equal(read(dk, 'file:/data/ok'), 'A');
  });

  it('refuses an object swapped between the walk and the open (dev/ino differ)', () => {
    fake.beforeOpen = () => {
      // An intermediate directory becomes a host link to the secret directory.
      fake.remove('/host/data/sub');
      fake.symlink('/host/data/sub', '/host/secret');
      fake.beforeOpen = null;
    };
    assert.equal(dk.streamOpen('file:/data/sub/b.txt', R, 0, 0), DkError.NOT_CAPABLE);
    assert.equal(monitorUsage(dk)!.handles, 0, 'the raced handle was closed, not counted');
  });
});

describe('monitor: read-only mounts', () => {
  let fake: FakeDk;
  let dk: Dk;
  beforeEach(() => {
    fake = world();
    dk = createMonitor(fake.dk, policy());
  });

  it('refuses every kind of write, by path and by handle', () => {
    assert.equal(dk.streamOpen('file:/ro/r.txt', W, 0, 0), DkError.READ_ONLY);
    assert.equal(dk.streamOpen('file:/ro/r.txt', Access.APPEND, 0, 0), DkError.READ_ONLY);
    assert.equal(dk.streamOpen('file:/ro/r.txt', R, Create.TRUNCATE, 0), DkError.READ_ONLY);
    assert.equal(dk.streamOpen('file:/ro/new', R, Create.CREATE, 0), DkError.READ_ONLY);
    assert.equal(dk.streamOpen('dir:/ro/newdir', R, Create.CREATE, 0), DkError.READ_ONLY);
    assert.equal(dk.streamOpen('file:/data/to-ro', W, 0, 0), DkError.READ_ONLY); // through a link
    assert.equal(dk.streamOpen('file:/data/inner/i', W, 0, 0), DkError.READ_ONLY); // nested ro mount
    assert.equal(dk.streamLinkCreate('file:/ro/l', 'x', true), DkError.READ_ONLY);
    const h = expectOk(dk.streamOpen('file:/ro/r.txt', R, Create.CREATE, 0)); // CREATE of an existing file: fine
    assert.equal(dk.streamWrite(h, 0, enc('x')), DkError.READ_ONLY);
    assert.equal(dk.streamSetLength(h, 0), DkError.READ_ONLY);
    assert.equal(dk.streamAttributesSetByHandle(h, { mtimeNs: 'now' }), DkError.READ_ONLY);
    assert.equal(dk.streamDelete(h, StreamSide.BOTH), DkError.READ_ONLY);
    assert.equal(dk.streamRename(h, 'file:/ro/moved'), DkError.READ_ONLY);
    assert.equal(fake.readFile('/host/ro/r.txt'), 'R');
    assert.equal(fake.exists('/host/ro/new'), false);
  });
});

describe('monitor: rename and links', () => {
  let fake: FakeDk;
  let dk: Dk;
  beforeEach(() => {
    fake = world();
    dk = createMonitor(fake.dk, policy());
  });

  it('renames within a mount, refuses across mounts and outside', () => {
    const h = expectOk(dk.streamOpen('file:/data/a.txt', R, 0, 0));
    assert.equal(dk.streamRename(h, 'file:/ro/a.txt'), DkError.CROSS_DEVICE);
    assert.equal(dk.streamRename(h, 'file:/mnt/deep/data/a.txt'), DkError.CROSS_DEVICE);
    assert.equal(dk.streamRename(h, 'file:/etc/a.txt'), DkError.NOT_CAPABLE);
    assert.equal(dk.streamRename(h, 'file:/data/../../tmp/a.txt'), DkError.NOT_CAPABLE);
    assert.equal(dk.streamRename(h, 'tcp:1.2.3.4:80'), DkError.INVALID_ARGUMENT);
    assert.equal(dk.streamRename(h, 'file:/data/sub/moved.txt'), 0);
    assert.equal(fake.readFile('/host/data/sub/moved.txt'), 'A');
  });

  it('protects mount points from delete and rename', () => {
    const root = expectOk(dk.streamOpen('dir:/data', R, 0, 0));
    assert.equal(dk.streamDelete(root, StreamSide.BOTH), DkError.BUSY);
    assert.equal(dk.streamRename(root, 'dir:/data/x'), DkError.BUSY);
    const f = expectOk(dk.streamOpen('file:/data/a.txt', R, 0, 0));
    assert.equal(dk.streamRename(f, 'file:/data/inner'), DkError.CROSS_DEVICE);
  });

  it('hard links only inside one mount', () => {
    assert.equal(dk.streamLinkCreate('file:/data/hl', 'file:/ro/r.txt', false), DkError.CROSS_DEVICE);
    assert.equal(dk.streamLinkCreate('file:/data/hl', 'file:/etc/passwd', false), DkError.NOT_CAPABLE);
    assert.equal(dk.streamLinkCreate('file:/data/hl', 'file:/data/out-abs', false), 0); // the link itself
    assert.equal(dk.streamLinkCreate('file:/data/hl2', 'file:/data/a.txt', false), 0);
    assert.equal(read(dk, 'file:/data/hl2'), 'A');
    assert.equal(dk.streamLinkCreate('file:/data/hl2', 'file:/data/a.txt', false), DkError.ALREADY_EXISTS);
  });
});

describe('monitor: quotas', () => {
  it('counts handles: opens and creates minus closes', () => {
    const dk = createMonitor(world().dk, policy({ handles: 3 }));
    const hs = [0, 1, 2].map(() => expectOk(dk.streamOpen('file:/data/a.txt', R, 0, 0)));
    assert.equal(dk.streamOpen('file:/data/a.txt', R, 0, 0), DkError.QUOTA_EXCEEDED);
    assert.equal(dk.notificationEventCreate(false), DkError.QUOTA_EXCEEDED);
    assert.equal(dk.objectClose(hs[0]!), 0);
    assert.equal(monitorUsage(dk)!.handles, 2);
    expectOk(dk.notificationEventCreate(false));
    assert.equal(dk.objectClose(hs[0]!), DkError.BAD_HANDLE);
    assert.equal(monitorUsage(dk)!.handles, 3);
  });

  it('counts bytes written; a write past the limit writes nothing', () => {
    const fake = world();
    const dk = createMonitor(fake.dk, policy({ bytesWritten: 10 }));
    const h = expectOk(dk.streamOpen('file:/data/out', W, Create.CREATE, 0));
    assert.equal(dk.streamWrite(h, 0, enc('123456')), 6);
    assert.equal(dk.streamWrite(h, 6, enc('78901')), DkError.QUOTA_EXCEEDED);
    assert.equal(fake.readFile('/host/data/out'), '123456');
    assert.equal(dk.streamWrite(h, 6, enc('7890')), 4);
    assert.equal(monitorUsage(dk)!.bytesWritten, 10);
    assert.equal(dk.streamWrite(h, 10, enc('x')), DkError.QUOTA_EXCEEDED);
    assert.equal(read(dk, 'file:/data/out'), '1234567890'); // still answers
  });

  it('counts children and memory', () => {
    const fake = world();
    const dk = createMonitor(fake.dk, policy({ children: 1, memory: 128 * 1024 }));
    expectOk(dk.processCreate('file:/data/a.txt', [], []));
    assert.equal(dk.processCreate('file:/data/a.txt', [], []), DkError.QUOTA_EXCEEDED);
    assert.equal(fake.children, 1);
    assert.equal(dk.virtualMemoryAlloc(0, 65536, 3), 65536);
    assert.equal(dk.virtualMemoryAlloc(0, 131072, 3), DkError.QUOTA_EXCEEDED);
    assert.equal(dk.virtualMemoryFree(65536, 65536), 0);
    assert.equal(dk.virtualMemoryAlloc(0, 131072, 3), 65536);
    assert.equal(fake.memory, 131072);
  });

  it('checks the module URI of a child through the mounts', () => {
    const dk = createMonitor(world().dk, policy({ children: 5 }));
    assert.equal(dk.processCreate('file:/etc/passwd', [], []), DkError.NOT_CAPABLE);
    assert.equal(dk.processCreate('file:/data/out-abs', [], []), DkError.NOT_CAPABLE);
    assert.equal(dk.processCreate('file:/data/missing.wasm', [], []), DkError.NOT_FOUND);
    assert.equal(dk.processCreate('tcp:1.2.3.4:80', [], []), DkError.INVALID_ARGUMENT);
  });
});

describe('monitor: schemes and network grants', () => {
  it('lets local streams through, refuses unknown schemes', () => {
    const dk = createMonitor(world().dk, policy());
    for (const uri of ['stdin:', 'stdout:', 'stderr:', 'null:', 'pipe:', 'pipe.server:x', 'pipe.client:x', 'dev:fb', 'dev:input']) {
      assert.ok(dk.streamOpen(uri, R, 0, 0) > 0, uri);
    }
    for (const uri of ['gopher:x', 'dev:mem', 'http:x', 'FILE:/data/a.txt', ':x', 'nocolon']) {
      assert.equal(dk.streamOpen(uri, R, 0, 0), DkError.INVALID_ARGUMENT, uri);
    }
  });

  it('refuses network streams without a matching grant', () => {
    const dk = createMonitor(
      world().dk,
      policy(
        {},
        `
      [network]
      connect = ["*.example.com:443", "10.0.0.0/8:*", "[fd00::/8]:80"]
      listen = ["127.0.0.1:8080"]`,
      ),
    );
    const ok = [
      'tcp:api.example.com:443',
      'tcp://a.b.example.com:443',
      'udp:10.9.8.7:53',
      'tcp:[fd00::1]:80',
      'tcp.server:127.0.0.1:8080',
      'http.server:127.0.0.1:8080',
      'dns:api.example.com',
    ];
    for (const uri of ok) assert.ok(dk.streamOpen(uri, R, 0, 0) > 0, uri);
    const refused = [
      'tcp:example.com:443',
      'tcp:api.example.com:80',
      'tcp:11.0.0.1:80',
      'tcp:[fe00::1]:80',
      'tcp.server:0.0.0.0:8080',
      'tcp.server:127.0.0.1:8081',
      'tcp:127.0.0.1:8080',
      'dns:evil.org',
    ];
    for (const uri of refused) assert.equal(dk.streamOpen(uri, R, 0, 0), DkError.NOT_CAPABLE, uri);
    assert.equal(dk.streamOpen('tcp:no-port', R, 0, 0), DkError.INVALID_ARGUMENT);
    assert.equal(dk.streamOpen('tcp:host:99999', R, 0, 0), DkError.INVALID_ARGUMENT);
  });
});

describe('monitor: generic wrapping', () => {
  it('wraps every primitive of the ABI table', () => {
    const dk = createMonitor(world().dk, policy());
    for (const spec of PRIMITIVES) assert.equal(typeof dk[spec.method], 'function', spec.method);
    assert.equal(dk.systemTimeQuery(0), 42n); // pass-through
    assert.equal(dk.systemTimeQuery(9), DkError.INVALID_ARGUMENT); // unknown clock
  });

  it('turns a host exception into IO_ERROR and counts it', async () => {
    const fake = world();
    const throwing = new Proxy(fake.dk, {
      get: (t, k) =>
        k === 'debugStringPrint' || k === 'threadYieldExecution'
          ? () => {
              throw new Error('host bug');
            }
          : (t as any)[k],
    });
    const dk = createMonitor(throwing, policy());
    assert.equal(dk.debugStringPrint('x'), DkError.IO_ERROR);
    assert.equal(await dk.threadYieldExecution(), DkError.IO_ERROR);
    assert.equal(monitorUsage(dk)!.internalErrors, 2);
  });
});

// The monitor must not get in the way of legitimate work: the same operations over the real
// hosts (the memory host, and the node host on a temporary directory).

for (const hostDef of HOSTS) {
  describe(`monitor: ordinary work passes on the ${hostDef.name} host`, () => {
    const host = hostDef.create();
    const isMemory = hostDef.name === 'memory';
    const root = isMemory ? '/w' : mkdtempSync(join(tmpdir(), 'drawbridge-monitor-ok-'));
    after(() => {
      if (!isMemory) rmSync(root, { recursive: true, force: true });
    });
    const admin = host.createProcess().dk;
    if (isMemory) expectOk(admin.streamOpen('dir:/w', R, Create.CREATE, 0));
    for (const d of ['data', 'ro']) expectOk(admin.streamOpen(`dir:${root}/${d}`, R, Create.CREATE, 0));
    const m = buildManifest({
      mounts: [
        { host: `${root}/data`, guest: '/data', mode: 'rw' },
        { host: `${root}/ro`, guest: '/ro', mode: 'ro' },
      ],
    });
    assert.ok(m.ok);
    const dk = createMonitor(host.createProcess().dk, policyFromManifest(m.manifest));

    it('files: create, write, read, attributes, set-times, set-length', () => {
      const h = expectOk(dk.streamOpen('file:/data/f.txt', R | W, Create.CREATE | Create.EXCLUSIVE, 0));
      assert.equal(dk.streamWrite(h, 0, enc('hello world')), 11);
      assert.equal(dk.streamSetLength(h, 5), 0);
      assert.equal(dk.streamAttributesSetByHandle(h, { mtimeNs: 'now' }), 0);
      assert.equal(expectOk(dk.streamAttributesQueryByHandle(h)).size, 5);
      assert.equal(expectOk(dk.streamAttributesQuery('file:/data//f.txt', 0)).kind, 'file');
      assert.equal(dk.streamOpen('file:/data/f.txt', W, Create.CREATE | Create.EXCLUSIVE, 0), DkError.ALREADY_EXISTS);
      assert.equal(read(dk, 'file:/data/./f.txt'), 'hello');
      assert.equal(dk.objectClose(h), 0);
    });

    it('directories: mkdir, enumerate, open the mount root, rename and delete inside', () => {
      expectOk(dk.streamOpen('dir:/data/d', R, Create.CREATE, 0));
      const f = expectOk(dk.streamOpen('file:/data/d/x', W, Create.CREATE, 0));
      const root = expectOk(dk.streamOpen('dir:/data', R, 0, 0));
      assert.ok(expectOk(dk.streamEnumerateChildren(root)).some((e) => e.name === 'd'));
      assert.equal(expectOk(dk.streamAttributesQuery('dir:/data', 0)).kind, 'directory');
      assert.equal(dk.streamRename(f, 'file:/data/y'), 0);
      assert.equal(expectOk(dk.streamAttributesQuery('file:/data/y', 0)).kind, 'file');
      assert.equal(dk.streamDelete(f, StreamSide.BOTH), 0);
      assert.equal(dk.streamAttributesQuery('file:/data/y', 0), DkError.NOT_FOUND);
      assert.equal(expectOk(dk.streamAttributesQuery('dir:/ro', 0)).kind, 'directory'); // reading ro is fine
    });

    it('links: symbolic (relative and absolute in the guest), hard, PATH_ONLY on a link', () => {
      const h = expectOk(dk.streamOpen('file:/data/t.txt', W, Create.CREATE, 0));
      assert.equal(dk.streamWrite(h, 0, enc('target')), 6);
      assert.equal(dk.streamLinkCreate('file:/data/rel', 't.txt', true), 0);
      assert.equal(dk.streamLinkCreate('file:/data/abs', '/data/t.txt', true), 0);
      assert.equal(dk.streamLinkCreate('file:/data/hard', 'file:/data/t.txt', false), 0);
      for (const p of ['rel', 'abs', 'hard']) assert.equal(read(dk, `file:/data/${p}`), 'target', p);
      const l = expectOk(dk.streamOpen('file:/data/abs', 0, 0, OpenOption.NO_FOLLOW | OpenOption.PATH_ONLY));
      assert.equal(expectOk(dk.streamAttributesQueryByHandle(l)).kind, 'symlink');
      assert.equal(expectOk(dk.streamAttributesQuery('file:/data/abs', QueryOption.NO_FOLLOW)).linkTarget, '/data/t.txt');
    });

    it('local streams: stdout, null, an anonymous pipe and its peer', () => {
      expectOk(dk.streamOpen('stdout:', W, 0, 0));
      expectOk(dk.streamOpen('null:', R | W, 0, 0));
      const p = expectOk(dk.streamOpen('pipe:', R | W, 0, 0));
      const peer = expectOk(dk.streamAttributesQueryByHandle(p)).peerUri;
      assert.ok(peer, 'an anonymous pipe names its peer');
      expectOk(dk.streamOpen(peer, R | W, 0, 0));
      assert.equal(monitorUsage(dk)!.internalErrors, 0);
    });
  });
}
