// trace of a known program (text and JSON lines, filters), remap rules on real files, and the
// two stacked in both orders.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyManifest, type Manifest } from '../../src/monitor/manifest/manifest.ts';
import { remapUri, parseRules } from '../../src/extensions/remap.ts';
import { extGuest, memoryExtensionHost, runWith } from '../support/ext-support.ts';

let root = '';
const mounted = (mounts: { host: string; guest: string; mode: 'ro' | 'rw' }[]): Manifest => ({ ...emptyManifest(), mounts });

before(() => {
  root = mkdtempSync(join(tmpdir(), 'db-ext-'));
  mkdirSync(join(root, 'data'));
  writeFileSync(join(root, 'data', 'a.txt'), 'alpha\n');
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc', 'motd'), 'shared motd\n');
  writeFileSync(join(root, 'etc', 'hosts'), 'shared hosts\n');
  mkdirSync(join(root, 'tenants', 'a', 'etc'), { recursive: true });
  writeFileSync(join(root, 'tenants', 'a', 'etc', 'motd'), 'tenant a motd\n');
  mkdirSync(join(root, 'secret'));
  writeFileSync(join(root, 'secret', 'key'), 'do not show\n');
});
after(() => rmSync(root, { recursive: true, force: true }));

test('trace: every call of a known program, with arguments, results and durations', async () => {
  const host = memoryExtensionHost();
  const r = await runWith(extGuest('cat'), ['cat', '/data/a.txt', '/data/nope'], {
    exts: [{ name: 'trace', options: {} }],
    host,
    manifest: mounted([{ host: join(root, 'data'), guest: '/data', mode: 'ro' }]),
  });
  assert.equal(r.exitCode, 1);
  assert.equal(r.stdout, 'alpha\ncat: /data/nope: No such file or directory\n');
  const lines = host.written.get('')!.trimEnd().split('\n');
  // Numbered, one call a line, a duration at the end of each.
  lines.forEach((l, i) => assert.match(l, new RegExp(`^${i + 1} Dk\\w+\\(.*\\) = .* <[0-9.]+(us|ms|s)>$`), l));
  const calls = lines.map((l) => l.replace(/ <[^>]*>$/, '').replace(/^\d+ /, ''));
  // The library OS opens stdio and the pre-open, then the program's own calls.
  assert.deepEqual(
    calls.slice(0, 7).map((c) => c.slice(0, c.indexOf('('))),
    [
      'DkStreamOpen',
      'DkStreamAttributesQueryByHandle',
      'DkStreamOpen',
      'DkStreamAttributesQueryByHandle',
      'DkStreamOpen',
      'DkStreamAttributesQueryByHandle',
      'DkStreamOpen',
    ],
  );
  assert.equal(calls[0], 'DkStreamOpen(uri="stdin:", access=READ, create=0, options=0) = 1');
  assert.equal(calls[6], 'DkStreamOpen(uri="dir:/data", access=READ, create=0, options=DIRECTORY) = 4');
  assert.ok(calls.includes('DkStreamOpen(uri="file:/data/a.txt", access=READ, create=0, options=0) = 5'), calls.join('\n'));
  assert.ok(calls.includes('DkStreamRead(stream=5, offset=0, buffer="alpha\\n"[255]) = 6'), calls.join('\n'));
  assert.ok(calls.includes('DkStreamOpen(uri="file:/data/nope", access=READ, create=0, options=0) = -2 NOT_FOUND'));
  assert.ok(
    calls.some((c) => /^DkStreamWrite\(stream=2, offset=-1, data="alpha\\n.*\) = \d+$/.test(c)),
    calls.join('\n'),
  );
  // exit(1): DkProcessExit, then the library OS closes its descriptors (too late: EXITED).
  const exit = calls.indexOf('DkProcessExit(code=1) = 0');
  assert.ok(exit > 0);
  assert.deepEqual(
    calls.slice(exit + 1),
    [1, 2, 3, 4].map((h) => `DkObjectClose(handle=${h}) = -34 EXITED`),
  );
});

test('trace: JSON lines to a file, filtered by category and by primitive', async () => {
  const host = memoryExtensionHost();
  const manifest = mounted([{ host: join(root, 'data'), guest: '/data', mode: 'ro' }]);
  await runWith(extGuest('cat'), ['cat', '/data/a.txt'], {
    exts: [{ name: 'trace', options: { format: 'json', file: 't.jsonl', filter: 'other+DkStreamRead' } }],
    host,
    manifest,
  });
  assert.equal(host.written.get(''), undefined, 'nothing on stderr');
  const events = host.written
    .get('t.jsonl')!
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.ok(events.length > 3);
  events.forEach((e, i) => {
    assert.equal(e.seq, i + 1);
    assert.ok(e.category === 'other' || e.call === 'DkStreamRead', e.call);
    assert.equal(typeof e.us, 'number');
  });
  const read = events.find((e) => e.call === 'DkStreamRead');
  assert.deepEqual(read, {
    seq: read.seq,
    call: 'DkStreamRead',
    category: 'streams',
    args: { stream: 5, offset: 0, buffer: { len: 255, text: 'alpha\n' } },
    result: 6,
    us: read.us,
  });
  const closes = events.filter((e) => e.call === 'DkObjectClose');
  assert.deepEqual(
    closes.map((e) => e.args.handle),
    [5, 1, 2, 3, 4],
  );
});

test('remap rules: whole components, longest prefix, scheme kept, whole-URI targets', () => {
  const rules = parseRules({ '/etc': '/tenants/a/etc', '/etc/hosts': '/shared/hosts', '/dev/log': 'stderr:', '/': '/root' });
  assert.equal(remapUri(rules, 'file:/etc/motd'), 'file:/tenants/a/etc/motd');
  assert.equal(remapUri(rules, 'dir:/etc'), 'dir:/tenants/a/etc');
  assert.equal(remapUri(rules, 'file:/etc/hosts'), 'file:/shared/hosts');
  assert.equal(remapUri(rules, 'file:/etcetera'), 'file:/root/etcetera');
  assert.equal(remapUri(rules, 'file:/dev/log'), 'stderr:');
  assert.equal(remapUri(rules, 'file:/dev/log/x'), 'file:/root/dev/log/x');
  assert.equal(remapUri(rules, 'stdout:'), 'stdout:');
  assert.equal(remapUri(rules, 'tcp:example.com:80'), 'tcp:example.com:80');
  assert.equal(remapUri(parseRules({ '/a': '/' }), 'file:/a/b'), 'file:/b');
});

test("remap: one tenant's /etc served from its own folder; the monitor still confines it", async () => {
  const manifest = mounted([{ host: root, guest: '/', mode: 'ro' }]);
  const remap = { name: 'remap', options: { '/etc': '/tenants/a/etc' } };
  const plain = await runWith(extGuest('cat'), ['cat', '/etc/motd'], { manifest });
  assert.equal(plain.stdout, 'shared motd\n');
  const r = await runWith(extGuest('cat'), ['cat', '/etc/motd', '/etc/hosts'], { manifest, exts: [remap] });
  // The tenant's folder has its own motd and no hosts: nothing falls through to the shared one.
  assert.equal(r.stdout, 'tenant a motd\ncat: /etc/hosts: No such file or directory\n');
  assert.equal(r.exitCode, 1);

  // A rule cannot reach past the manifest: /pub/x -> /secret is outside every mount.
  const narrow = mounted([{ host: join(root, 'data'), guest: '/pub', mode: 'ro' }]);
  const escape = await runWith(extGuest('cat'), ['cat', '/pub/x/key'], { manifest: narrow, exts: [{ name: 'remap', options: { '/pub/x': '/secret' } }] });
  assert.equal(escape.exitCode, 1);
  assert.match(escape.stdout, /^cat: \/pub\/x\/key: /);
  assert.doesNotMatch(escape.stdout, /do not show/);

  // A whole URI for one path: the file reads as empty (null:).
  const nul = await runWith(extGuest('cat'), ['cat', '/pub/a.txt'], { manifest: narrow, exts: [{ name: 'remap', options: { '/pub/a.txt': 'null:' } }] });
  assert.equal(nul.exitCode, 0);
  assert.equal(nul.stdout, '');
});

test("extensions stack in the order given, in both orders: trace above remap sees the guest's paths, below it the remapped ones", async () => {
  const manifest = mounted([{ host: root, guest: '/', mode: 'ro' }]);
  const remap = { name: 'remap', options: { '/etc': '/tenants/a/etc' } };
  const trace = { name: 'trace', options: { filter: 'DkStreamOpen' } };
  const opened = async (exts: { name: string; options: Record<string, string> }[]) => {
    const host = memoryExtensionHost();
    const r = await runWith(extGuest('cat'), ['cat', '/etc/motd'], { manifest, exts, host });
    assert.equal(r.stdout, 'tenant a motd\n');
    return host.written
      .get('')!
      .split('\n')
      .filter((l) => l.includes('file:'))
      .map((l) => /uri="([^"]*)"/.exec(l)![1]);
  };
  assert.deepEqual(await opened([trace, remap]), ['file:/etc/motd']);
  assert.deepEqual(await opened([remap, trace]), ['file:/tenants/a/etc/motd']);
});
