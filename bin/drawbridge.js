#!/usr/bin/env node
// Entry point. Plain JavaScript so that it runs on any Node: it checks the version first.
// drawbridge needs Node.js >= 24 (JSPI). When started by an older Node, it re-runs itself
// with the Node 24 that the project installs (the npm package `node`), or says what to do.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REQUIRED = 24;
const major = Number(process.versions.node.split('.')[0]);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

if (major < REQUIRED) {
  const local = join(root, 'node_modules', 'node', 'bin', 'node');
  if (process.env.DRAWBRIDGE_NO_REEXEC !== '1' && existsSync(local)) {
    const r = spawnSync(local, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
    process.exit(r.status ?? (r.signal ? 128 + 9 : 1));
  }
  process.stderr.write(
    `drawbridge: needs Node.js >= ${REQUIRED} (this is ${process.versions.node}); run it through npm (npx drawbridge ...) after npm install, or install Node.js ${REQUIRED}.\n`,
  );
  process.exit(1);
}

// Cache V8's compiled JavaScript of the CLI between runs (Node >= 22.1): start-up is most of
// a short run's time.
const { enableCompileCache } = await import('node:module');
if (typeof enableCompileCache === 'function' && process.env.DRAWBRIDGE_NO_COMPILE_CACHE !== '1') enableCompileCache();

// The CLI bundled by esbuild (npm run build): a few files to load instead of some sixty
// modules, a third of a short run's start-up. dist/cli/main.js (tsc's output) is the fallback.
const bundled = join(root, 'dist', 'cli-bundle', 'main.js');
const main = existsSync(bundled) ? bundled : join(root, 'dist', 'cli', 'main.js');
if (!existsSync(main)) {
  process.stderr.write(`drawbridge: not built yet; run \`npm run build\` in ${root}.\n`);
  process.exit(1);
}
const { main: run } = await import(pathToFileURL(main).href);
// Exit explicitly: a guest may leave host resources (a stdin reader) that would keep Node alive.
process.exit(await run(process.argv.slice(2)));
