// The manifest: TOML parsing, schema validation (every error names its field), defaults
// (nothing granted), command-line grants, the policy the monitor derives, and the
// `drawbridge manifest check` command with the fixtures in test/fixtures/manifests/.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manifestCheckCommand } from '../../src/cli/manifest-command.ts';
import { DEFAULT_LIMITS, emptyManifest, withCliGrants, type ManifestError, type ManifestResult } from '../../src/monitor/manifest/manifest.ts';
import { buildManifest, parseManifest } from '../../src/monitor/manifest/parse.ts';
import { policyFromManifest } from '../../src/monitor/policy.ts';
import { parseDurationMs, parseSize } from '../../src/monitor/manifest/units.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'manifests');

function errorsOf(r: ManifestResult): ManifestError[] {
  assert.equal(r.ok, false, 'expected the manifest to be refused');
  return r.ok ? [] : r.errors;
}
function ok(r: ManifestResult) {
  assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return r.manifest;
}
/** The one error of a manifest, as "FIELD: MESSAGE". */
function oneError(text: string): string {
  const errs = errorsOf(parseManifest(text));
  assert.equal(errs.length, 1, JSON.stringify(errs));
  return `${errs[0]!.path}: ${errs[0]!.message}`;
}

describe('manifest: valid', () => {
  it('an empty manifest grants nothing and has the default limits', () => {
    const m = ok(parseManifest(''));
    assert.deepEqual(m, emptyManifest());
    assert.deepEqual(m.mounts, []);
    assert.deepEqual(m.env, {});
    assert.equal(m.args, null);
    assert.deepEqual(m.network, { connect: [], listen: [] });
    assert.deepEqual(m.limits, DEFAULT_LIMITS);
    assert.equal(m.limits.children, 0);
    assert.equal(m.extensions, null);
  });

  it('parses every section and normalises mount paths', () => {
    const m = ok(
      parseManifest(`
      args = ["app", "-v"]
      [[mounts]]
      host = "/srv//data/"
      guest = "//data/./x/"
      mode = "ro"
      [env]
      HOME = "/data"
      [network]
      connect = ["api.example.com:443", "10.0.0.0/8:443", "*.example.com:*", "[::1]:8000-8100"]
      listen = ["127.0.0.1:8080"]
      [limits]
      memory = "1GiB"
      handles = 64
      children = 3
      cpu_time = "2m"
      bytes_written = 1000
      [extensions]
      trace = { format = "json" }
    `),
    );
    assert.deepEqual(m.mounts, [{ host: '/srv/data', guest: '/data/x', mode: 'ro' }]);
    assert.deepEqual(m.env, { HOME: '/data' });
    assert.deepEqual(m.args, ['app', '-v']);
    assert.deepEqual(
      m.network.connect.map((c) => c.text),
      ['api.example.com:443', '10.0.0.0/8:443', '*.example.com:*', '[::1]:8000-8100'],
    );
    assert.deepEqual(m.network.connect[2], { text: '*.example.com:*', host: { kind: 'suffix', suffix: '.example.com' }, portMin: 0, portMax: 65535 });
    assert.deepEqual(m.network.connect[1]!.host, { kind: 'cidr', family: 4, base: 10n << 24n, prefix: 8 });
    assert.deepEqual(m.limits, { memory: 2 ** 30, handles: 64, children: 3, cpuTimeMs: 120_000, bytesWritten: 1000 });
    assert.deepEqual(JSON.parse(JSON.stringify(m.extensions)), [{ name: 'trace', options: { format: 'json' } }]);
  });

  it('sizes and durations', () => {
    assert.equal(parseSize('256MiB'), 256 * 2 ** 20);
    assert.equal(parseSize('1.5KiB'), 1536);
    assert.equal(parseSize('2GB'), 2e9);
    assert.equal(parseSize(4096), 4096);
    assert.equal(typeof parseSize('1.5B'), 'string');
    assert.equal(typeof parseSize('-1'), 'string');
    assert.equal(parseDurationMs('30s'), 30_000);
    assert.equal(parseDurationMs('500ms'), 500);
    assert.equal(parseDurationMs(1.5), 1500);
    assert.equal(parseDurationMs('1h'), 3_600_000);
    assert.equal(typeof parseDurationMs('1 fortnight'), 'string');
  });

  it('builds programmatically from plain data, with the same validation', () => {
    const m = ok(buildManifest({ mounts: [{ host: '/a', guest: '/b', mode: 'rw' }], limits: { handles: 5 } }));
    assert.equal(m.limits.handles, 5);
    assert.deepEqual(errorsOf(buildManifest({ mounts: [{ host: '/a', guest: '/b' }] })), [{ path: 'mounts[0].mode', message: 'expected "ro" or "rw"' }]);
  });
});

describe('manifest: every error names its field', () => {
  const cases: [string, string][] = [
    ['[[mounts]]\nhost = "/a"\nguest = "/b"\nmode = "rx"', 'mounts[0].mode: expected "ro" or "rw"'],
    ['[[mounts]]\nhost = "a"\nguest = "/b"\nmode = "ro"', 'mounts[0].host: must be an absolute path (starting with "/"), got "a"'],
    ['[[mounts]]\nhost = "/a"\nguest = "b"\nmode = "ro"', 'mounts[0].guest: must be an absolute path (starting with "/"), got "b"'],
    ['[[mounts]]\nhost = "/a"\nguest = "/b/../c"\nmode = "ro"', 'mounts[0].guest: must not contain ".." components, got "/b/../c"'],
    ['[[mounts]]\nguest = "/b"\nmode = "ro"', 'mounts[0].host: required'],
    ['[[mounts]]\nhost = 1\nguest = "/b"\nmode = "ro"', 'mounts[0].host: expected an absolute host path'],
    ['[[mounts]]\nhost = "/a"\nguest = "/b"\nmode = "ro"\nextra = 1', 'mounts[0].extra: unknown key'],
    [
      '[[mounts]]\nhost = "/a"\nguest = "/b"\nmode = "ro"\n[[mounts]]\nhost = "/c"\nguest = "/b/"\nmode = "rw"',
      'mounts[1].guest: duplicate mount point "/b" (also mounts[0])',
    ],
    ['mounts = "x"', 'mounts: expected an array of tables ([[mounts]])'],
    ['[env]\n"A=B" = "x"', 'env["A=B"]: a variable name must be non-empty, without "=" or NUL'],
    ['[env]\nA = 1', 'env.A: expected a string value'],
    ['[env]\nA = "a\\u0000b"', 'env.A: must not contain NUL bytes'],
    ['args = "x"', 'args: expected an array of strings'],
    ['args = ["a", 2]', 'args[1]: expected a string'],
    ['[network]\nconnect = ["example.com"]', 'network.connect[0]: expected "host:port" (IPv6 as "[addr]:port"), got "example.com"'],
    ['[network]\nconnect = ["example.com:65536"]', 'network.connect[0]: port 65536 out of range 0-65535'],
    ['[network]\nconnect = ["10.0.0.1/8:80"]', 'network.connect[0]: CIDR "10.0.0.1/8" has host bits set below the /8 prefix'],
    ['[network]\nconnect = ["10.0.0.0/33:80"]', 'network.connect[0]: bad CIDR prefix "/33" (0-32)'],
    ['[network]\nconnect = ["300.1.1.1:80"]', 'network.connect[0]: bad IPv4 address "300.1.1.1"'],
    ['[network]\nconnect = ["a.*.com:80"]', 'network.connect[0]: bad host "a.*.com": "*" is allowed alone or as a leading "*." only'],
    ['[network]\nlisten = ["[zz::1]:80"]', 'network.listen[0]: bad IPv6 address "zz::1"'],
    ['[network]\nlisten = ["127.0.0.1:90-80"]', 'network.listen[0]: port range "90-80" is empty'],
    ['[network]\nbind = []', 'network.bind: unknown key'],
    ['[limits]\nmemory = "lots"', 'limits.memory: expected a size such as "256MiB" (units: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)'],
    ['[limits]\nhandles = 1.5', 'limits.handles: expected a whole number'],
    ['[limits]\nhandles = -1', 'limits.handles: must be >= 0'],
    ['[limits]\nchildren = "2"', 'limits.children: expected a whole number'],
    ['[limits]\ncpu_time = "soon"', 'limits.cpu_time: expected a duration such as "30s", "500ms", "2m" or "1h"'],
    ['[limits]\nbytes_written = -5', 'limits.bytes_written: expected a whole number of bytes >= 0'],
    ['[limits]\nopen_files = 3', 'limits.open_files: unknown key'],
    ['extensions = 3', 'extensions: expected an array of tables ([[extensions]])'],
    ['[secrets]\nx = 1', 'secrets: unknown key'],
  ];
  for (const [text, expected] of cases) {
    it(expected, () => assert.equal(oneError(text), expected));
  }

  it('reports every error at once, in field order', () => {
    const errs = errorsOf(parseManifest('[[mounts]]\nhost = "a"\nguest = "b"\nmode = "x"\n[limits]\nmemory = "?"\nfoo = 1'));
    assert.deepEqual(
      errs.map((e) => e.path),
      ['mounts[0].host', 'mounts[0].guest', 'mounts[0].mode', 'limits.memory', 'limits.foo'],
    );
  });

  it('TOML syntax errors carry line and column', () => {
    const errs = errorsOf(parseManifest('a = 1\nb = = 2\n', 'app.toml'));
    assert.equal(errs.length, 1);
    assert.equal(errs[0]!.path, '(toml)');
    assert.match(errs[0]!.message, /^syntax error at app\.toml:2:\d+: /);
  });
});

describe('manifest: command-line grants', () => {
  it('--dir HOST::GUEST grants rw, --dir DIR mounts it at the same path, --env NAME=VALUE', () => {
    const m = ok(
      withCliGrants(
        emptyManifest(),
        { dirs: ['/srv/a::/data', '/srv/b', 'rel/dir'], env: ['A=1', 'B=x=y', 'HOME'], args: ['p'] },
        { cwd: '/home/u', hostEnv: { HOME: '/home/u' } },
      ),
    );
    assert.deepEqual(m.mounts, [
      { host: '/srv/a', guest: '/data', mode: 'rw' },
      { host: '/srv/b', guest: '/srv/b', mode: 'rw' },
      { host: '/home/u/rel/dir', guest: '/rel/dir', mode: 'rw' },
    ]);
    assert.deepEqual(m.env, { A: '1', B: 'x=y', HOME: '/home/u' });
    assert.deepEqual(m.args, ['p']);
  });

  it('a --dir replaces the manifest mount at the same guest path', () => {
    const base = ok(parseManifest('[[mounts]]\nhost = "/x"\nguest = "/data"\nmode = "ro"'));
    const m = ok(withCliGrants(base, { dirs: ['/y::/data'] }));
    assert.deepEqual(m.mounts, [{ host: '/y', guest: '/data', mode: 'rw' }]);
    assert.deepEqual(base.mounts, [{ host: '/x', guest: '/data', mode: 'ro' }], 'the base is not changed');
  });

  it('bad flags name the flag', () => {
    assert.deepEqual(errorsOf(withCliGrants(emptyManifest(), { dirs: ['rel'] })), [{ path: '--dir[0]', message: 'host path "rel" must be absolute' }]);
    assert.deepEqual(
      errorsOf(withCliGrants(emptyManifest(), { dirs: ['/a::/b/../c'] })).map((e) => e.path),
      ['--dir[0]'],
    );
    assert.deepEqual(
      errorsOf(withCliGrants(emptyManifest(), { env: ['=x', 'NOPE'] })).map((e) => e.path),
      ['--env[0]', '--env[1]'],
    );
  });
});

describe('manifest: policy for the monitor', () => {
  it('derives mounts, network and limits', () => {
    const p = policyFromManifest(ok(parseManifest('[[mounts]]\nhost = "/h"\nguest = "/g"\nmode = "ro"\n[limits]\nhandles = 9')));
    assert.deepEqual(p.mounts, [{ host: '/h', guest: '/g', readOnly: true }]);
    assert.equal(p.limits.handles, 9);
    assert.equal(p.limits.memory, DEFAULT_LIMITS.memory);
    assert.deepEqual(p.network, { connect: [], listen: [] });
  });
});

describe('manifest check command', () => {
  function run(argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = manifestCheckCommand(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out, err };
  }

  it('a valid manifest: exit 0, "FILE: ok" and a summary', () => {
    const file = join(FIXTURES, 'full.toml');
    const r = run(['check', file]);
    assert.equal(r.code, 0);
    assert.deepEqual(r.err, []);
    assert.equal(r.out[0], `${file}: ok`);
    assert.match(
      r.out[1]!,
      /mounts: \/data\(rw\) \/static\(ro\); env: 2; network: connect 4, listen 1; limits: memory 512MiB, handles 256, children 2, cpu_time 30s, bytes_written 1GiB/,
    );
    assert.equal(run(['check', join(FIXTURES, 'empty.toml')]).code, 0);
  });

  it('an invalid manifest: exit 1, each error as FILE: FIELD: MESSAGE on stderr', () => {
    const file = join(FIXTURES, 'bad-fields.toml');
    const r = run(['check', file]);
    assert.equal(r.code, 1);
    assert.deepEqual(r.out, []);
    assert.deepEqual(r.err, [
      `${file}: mounts[0].host: must be an absolute path (starting with "/"), got "relative/dir"`,
      `${file}: mounts[1].mode: expected "ro" or "rw"`,
      `${file}: mounts[1].color: unknown key`,
      `${file}: network.connect[0]: expected "host:port" (IPv6 as "[addr]:port"), got "example.com"`,
      `${file}: limits.memory: expected a size such as "256MiB" (units: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)`,
      `${file}: limits.handles: expected a whole number`,
    ]);
  });

  it('syntax errors and unknown sections', () => {
    const bad = join(FIXTURES, 'bad-syntax.toml');
    const r = run(['check', bad]);
    assert.equal(r.code, 1);
    assert.equal(r.err.length, 1);
    assert.match(r.err[0]!, new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: \\(toml\\): syntax error at .*:3:\\d+: `));
    const u = run(['check', join(FIXTURES, 'unknown-section.toml')]);
    assert.equal(u.code, 1);
    assert.ok(
      u.err.some((l) => l.endsWith(': mounts: expected an array of tables ([[mounts]])')),
      u.err.join('\n'),
    );
    assert.ok(
      u.err.some((l) => l.endsWith(': secrets: unknown key')),
      u.err.join('\n'),
    );
  });

  it('a missing file or a directory: exit 1 with one clear line', () => {
    const missing = join(FIXTURES, 'does-not-exist.toml');
    assert.deepEqual(run(['check', missing]), { code: 1, out: [], err: [`${missing}: cannot read: no such file`] });
    const dir = mkdtempSync(join(tmpdir(), 'manifest-'));
    assert.deepEqual(run(['check', dir]), { code: 1, out: [], err: [`${dir}: cannot read: is a directory, not a manifest file`] });
  });

  it('usage errors: exit 2', () => {
    for (const argv of [[], ['check'], ['lint', 'x'], ['check', 'a', 'b'], ['check', '--verbose']]) {
      const r = run(argv);
      assert.equal(r.code, 2, JSON.stringify(argv));
      assert.deepEqual(r.err, ['usage: drawbridge manifest check [--json] FILE']);
    }
    assert.equal(run(['--help']).code, 0);
  });
});
