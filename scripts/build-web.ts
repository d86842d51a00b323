// Builds the pages a browser loads: every src/web/NAME/main.ts becomes dist/web/NAME.js (one
// ES module, its dependencies bundled, no CDN: the pages work offline) and, when it imports CSS,
// dist/web/NAME.css. Run by `npm run build`; the server reads the files from dist/web.
import { readdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const WEB = join(ROOT, 'src', 'web');

const entryPoints: Record<string, string> = {};
for (const name of readdirSync(WEB, { withFileTypes: true })) {
  const main = join(WEB, name.name, 'main.ts');
  if (name.isDirectory() && existsSync(main)) entryPoints[name.name] = main;
}
if (Object.keys(entryPoints).length > 0) {
  await build({
    entryPoints,
    outdir: join(ROOT, 'dist', 'web'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    minify: true,
    sourcemap: true,
    logLevel: 'warning',
  });
}
