// The declarations (.d.ts) of the package's public entry, src/index.ts: tsc emits one for every
// file the entry reaches (tsconfig.types.json), into a scratch folder; only those the public
// declarations themselves import are copied into dist/, and each must import nothing but its
// neighbours and Node's own modules, so that a consumer's tsc resolves them from the package
// alone (test/package/pack.test.ts checks that on the packed tarball). Run by `npm run build`.
//
//   node scripts/build-types.ts

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');
const SPECIFIER = /(?:^|\s)(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

const scratch = mkdtempSync(join(tmpdir(), 'drawbridge-types-'));
try {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.types.json'), '--outDir', scratch], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('tsc -p tsconfig.types.json failed');
  const wanted = [join(scratch, 'index.d.ts')];
  const seen = new Set<string>();
  const problems: string[] = [];
  while (wanted.length) {
    const file = wanted.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    // Comments first: the TSDoc examples import the package by name.
    const code = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    for (const m of code.matchAll(SPECIFIER)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('node:')) continue;
      if (!spec.startsWith('.')) {
        problems.push(`${relative(scratch, file)} imports ${spec}: the public declarations may import only each other and node: modules`);
        continue;
      }
      wanted.push(resolve(dirname(file), spec.replace(/\.ts$/, '.d.ts').replace(/\.js$/, '.d.ts')));
    }
  }
  if (problems.length) throw new Error(problems.join('\n'));
  for (const file of seen) {
    const to = join(DIST, relative(scratch, file));
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(file, to);
  }
  console.log(`declarations: ${[...seen].map((f) => relative(scratch, f)).join(', ')}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
