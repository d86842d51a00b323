// Shell completion and man pages, both made from each command's own --help: every command
// answers --help with status 0, the bash script completes commands, options and files, and the
// man pages in man/man1/ are what `npm run docs` makes from today's help texts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS, optionsOf } from '../../src/cli/help-pages.ts';
import { manPages } from '../../src/cli/man-pages.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const cli = (args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/drawbridge.js'), ...args], { encoding: 'utf8' });

test('every command answers --help with status 0, and the top-level help lists it', () => {
  const top = cli(['--help']).stdout;
  for (const c of COMMANDS) {
    const r = cli([c, '--help']);
    assert.equal(r.status, 0, `${c} --help: ${r.stderr}`);
    assert.match(r.stdout, /usage/i, c);
    assert.match(top, new RegExp(`^  ${c}\\b`, 'm'), `drawbridge --help lists ${c}`);
  }
});

test('the options of a help text: long and short, at the start of a word', () => {
  assert.deepEqual(optionsOf('  --dir HOST[::GUEST]  mount\n  -o FILE, --out=FILE  [--leave-running] (--json|--text) not-an--option'), [
    '--dir',
    '--json',
    '--leave-running',
    '--out',
    '--text',
    '-o',
  ]);
});

/** What the bash completion offers for the words typed so far (the last one being completed). */
function complete(shellScript: string, words: string[]): string[] {
  const r = spawnSync(
    'bash',
    [
      '-c',
      `${shellScript}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _drawbridge; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { encoding: 'utf8', cwd: ROOT },
  );
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

test('drawbridge completion bash completes commands, their options and files', () => {
  const r = cli(['completion', 'bash']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(complete(r.stdout, ['drawbridge', 'ch']), ['checkpoint']);
  assert.deepEqual(complete(r.stdout, ['drawbridge', 'run', '--di']), ['--dir']);
  assert.ok(complete(r.stdout, ['drawbridge', 'checkpoint', '--']).includes('--leave-running'));
  assert.deepEqual(complete(r.stdout, ['drawbridge', 'run', 'examples/hello.w']), ['examples/hello.wasm']);
  assert.deepEqual(complete(r.stdout, ['drawbridge', 'examples/hello.wasm', '--e']), ['--env', '--ext']);
  const bad = cli(['completion', 'fish']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^drawbridge completion: expected bash or zsh\n/);
});

test(
  'drawbridge completion zsh loads in zsh and defines the completion',
  { skip: spawnSync('zsh', ['--version']).status === 0 ? false : 'needs zsh (Debian package zsh)' },
  () => {
    const script = cli(['completion', 'zsh']).stdout;
    const r = spawnSync('zsh', ['-f', '-c', `${script}\nprint -r -- \${_comps[drawbridge]}`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /_bash_complete|_drawbridge/);
  },
);

test('the man pages in man/man1 are current (npm run docs makes them from the help texts)', async () => {
  const pages = await manPages();
  const dir = join(ROOT, 'man', 'man1');
  assert.deepEqual(readdirSync(dir).sort(), [...pages.keys()].sort());
  for (const [name, text] of pages) assert.equal(readFileSync(join(dir, name), 'utf8'), text, `${name} is stale: npm run docs`);
  assert.match(pages.get('drawbridge-run.1')!, /^\.TH DRAWBRIDGE-RUN 1 /);
  assert.match(pages.get('drawbridge-run.1')!, /\\-\\-dir HOST\[::GUEST\]/);
});
