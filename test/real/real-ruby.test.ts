// A real program nobody here wrote: CRuby 3.4 (@ruby/3.4-wasm-wasi's ruby+stdlib.wasm, a
// reactor with the standard library packed in by wasi-vfs) runs Ruby scripts inside
// drawbridge that work on files under a mount. Its JS-interop imports stay inert. How the
// reactor is driven (ruby-init, -r SCRIPT) is explained in test/real/programs/ruby-reactor.ts.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createNodeHost } from '../../src/host/node/index.ts';
import { runRubyScript, type RubyRun } from './programs/ruby-reactor.ts';

const host = createNodeHost();
let root: string;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'drawbridge-ruby-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

/** A fresh host dir with `files`, mounted rw at /w; the script is /w/script.rb. */
function workspace(name: string, script: string, files: Record<string, string> = {}): string {
  const dir = join(root, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'script.rb'), script);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/**
 * Ruby highlights uncaught-exception messages with ANSI escapes when $stderr is a terminal,
 * and drawbridge currently reports a captured stderr as a character device without seek
 * rights, which wasi-libc's isatty() takes for a terminal (wasmtime reports captured or
 * piped stdio as filetype UNKNOWN: not a tty). Open item in docs/real-programs.md; until it
 * is settled the assertions read the text without the escapes.
 */
function plain(s: string): string {
  return s.replaceAll(/\x1b\[[0-9;]*m/g, '');
}

function explain(r: RubyRun): string {
  return `exit ${JSON.stringify(r.exit)}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

const FILES_SCRIPT = `$stdout.sync = true
require "json"
Dir.chdir("/w/data")
puts "ruby #{RUBY_VERSION} cwd=#{Dir.pwd}"
File.write("notes.txt", "alpha\\nbeta\\n")
File.open("notes.txt", "a") { |f| f.puts "gamma" }
puts "read=#{File.read("notes.txt").lines.map(&:chomp).join(",")} size=#{File.size("notes.txt")}"
File.rename("notes.txt", "renamed.txt")
puts "renamed old=#{File.exist?("notes.txt")} new=#{File.exist?("renamed.txt")}"
Dir.mkdir("sub")
File.write("sub/x.json", JSON.generate({ "n" => 42 }))
puts "json=#{JSON.parse(File.read("sub/x.json"))["n"]}"
File.delete("old/seed.txt")
Dir.rmdir("old")
File.open("renamed.txt") { |f| f.seek(6); puts "seek=#{f.read(4)}" }
puts "children=#{Dir.children(".").sort.join(" ")}"
puts "glob=#{Dir.glob("**/*").sort.join(" ")}"
puts "entries=#{Dir.entries("/w/data").sort.join(" ")}"
`;

test('Ruby writes, reads, renames, deletes and lists files under a mount', { timeout: 120_000 }, async () => {
  const dir = workspace('files', FILES_SCRIPT, { 'data/old/seed.txt': 'seed\n' });
  const r = await runRubyScript('/w/script.rb', [{ host: dir, guest: '/w', mode: 'rw' }], host);
  assert.equal(r.exit, undefined, explain(r));
  assert.equal(r.stderr, '');
  assert.equal(
    r.stdout,
    [
      'ruby 3.4.1 cwd=/w/data',
      'read=alpha,beta,gamma size=17',
      'renamed old=false new=true',
      'json=42',
      'seek=beta',
      'children=renamed.txt sub',
      'glob=renamed.txt sub sub/x.json',
      'entries=. .. renamed.txt sub',
      '',
    ].join('\n'),
  );
  // And the host file system agrees.
  const data = join(dir, 'data');
  assert.deepEqual(readdirSync(data).sort(), ['renamed.txt', 'sub']);
  assert.equal(readFileSync(join(data, 'renamed.txt'), 'utf8'), 'alpha\nbeta\ngamma\n');
  assert.equal(readFileSync(join(data, 'sub', 'x.json'), 'utf8'), '{"n":42}');
  assert.equal(existsSync(join(data, 'notes.txt')), false);
  assert.equal(existsSync(join(data, 'old')), false);
});

const REFUSALS_SCRIPT = `$stdout.sync = true
def try(label)
  r = yield
  puts "#{label}: ok #{r.inspect}"
rescue SystemCallError => e
  puts "#{label}: #{e.class}"
end
try("ro read") { File.read("/ro/keep.txt") }
try("ro write") { File.write("/ro/new.txt", "x") }
try("ro append") { File.open("/ro/keep.txt", "a") { |f| f.write("x") } }
try("ro rename") { File.rename("/ro/keep.txt", "/ro/moved.txt") }
try("ro delete") { File.delete("/ro/keep.txt") }
try("cross-mount rename") { File.write("/w/t.txt", "t"); File.rename("/w/t.txt", "/ro/t.txt") }
try("escape by ..") { File.read("/w/../../../../etc/passwd") }
try("escape by symlink") { File.symlink("../../../../../../etc/passwd", "/w/evil"); File.read("/w/evil") }
try("unmounted path") { File.read("/etc/passwd") }
try("rmdir non-empty") { Dir.mkdir("/w/d"); File.write("/w/d/f", ""); Dir.rmdir("/w/d") }
`;

test('the mounts hold: read-only stays read-only, .. and symlinks stay inside', { timeout: 120_000 }, async () => {
  const dir = workspace('refusals', REFUSALS_SCRIPT);
  const ro = join(root, 'refusals-ro');
  mkdirSync(ro);
  writeFileSync(join(ro, 'keep.txt'), 'kept\n');
  const r = await runRubyScript(
    '/w/script.rb',
    [
      { host: dir, guest: '/w', mode: 'rw' },
      { host: ro, guest: '/ro', mode: 'ro' },
    ],
    host,
  );
  assert.equal(r.exit, undefined, explain(r));
  // Errnos as the guest sees them. "unmounted path" is wasi-libc's own answer (no preopen
  // covers /etc, so no call reaches the host); the others come from drawbridge.
  assert.equal(
    r.stdout,
    [
      'ro read: ok "kept\\n"',
      'ro write: Errno::EROFS',
      'ro append: Errno::EROFS',
      'ro rename: Errno::EROFS',
      'ro delete: Errno::EROFS',
      'cross-mount rename: Errno::EXDEV',
      'escape by ..: Errno::EPERM',
      'escape by symlink: Errno::EPERM',
      'unmounted path: Errno::ENOENT',
      'rmdir non-empty: Errno::ENOTEMPTY',
      '',
    ].join('\n'),
  );
  assert.deepEqual(readdirSync(ro), ['keep.txt']);
  assert.equal(readFileSync(join(ro, 'keep.txt'), 'utf8'), 'kept\n');
  assert.equal(readFileSync(join(dir, 't.txt'), 'utf8'), 't');
});

test('an uncaught Ruby exception is reported on stderr; the host carries on', { timeout: 120_000 }, async () => {
  const dir = workspace('raise', '$stdout.sync = true\nputs "before"\nraise ArgumentError, "boom from the script"\nputs "after"\n');
  const r = await runRubyScript('/w/script.rb', [{ host: dir, guest: '/w', mode: 'rw' }], host);
  // ruby_options prints the error and returns (no proc_exit): ruby-init comes back normally.
  assert.equal(r.exit, undefined, explain(r));
  assert.equal(r.stdout, 'before\n');
  assert.match(plain(r.stderr), /\/w\/script\.rb:3:in '<top \(required\)>': boom from the script \(ArgumentError\)/);
});

test('a script path outside every mount is a LoadError, not a host failure', { timeout: 120_000 }, async () => {
  const dir = workspace('missing', '');
  const r = await runRubyScript('/nowhere/script.rb', [{ host: dir, guest: '/w', mode: 'rw' }], host);
  assert.equal(r.exit, undefined, explain(r));
  assert.equal(r.stdout, '');
  assert.match(plain(r.stderr), /cannot load such file -- \/nowhere\/script\.rb \(LoadError\)/);
});
