// Builds drawbridge for the browser: src/browser/index.ts and everything it imports (kernel,
// library OS, monitor, capture, snapshot format) bundled by esbuild into dist/browser/drawbridge.js
// (one ES module for a page), with src/browser/drawbridge.d.ts beside it. Run by `npm run build`.
//
// No Node module may reach the bundle. Two are imported below the runtime, and each has a
// stand-in in src/browser/shims/ that says what the browser host does instead (the kernel's
// AsyncLocalStorage for green threads, the monitor's synchronous SHA-256 of trusted files); any
// other Node module, with or without `node:`, fails the build naming the file that imports it.
import { copyFileSync, mkdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src', 'browser');
const OUT = join(ROOT, 'dist', 'browser');

/** Node modules with a browser stand-in, and the stand-in. */
const STAND_INS: Readonly<Record<string, string>> = {
  'node:async_hooks': join(SRC, 'shims', 'async-hooks.ts'),
  'node:crypto': join(SRC, 'shims', 'crypto.ts'),
};

const NODE_NAMES = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Resolves the stand-ins and refuses every other Node module (exported for its test). */
export const noNodeModules: Plugin = {
  name: 'no-node-modules',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (!NODE_NAMES.has(args.path) && !args.path.startsWith('node:')) return undefined;
      const name = args.path.startsWith('node:') ? args.path : `node:${args.path}`;
      const stand = STAND_INS[name];
      if (stand) return { path: stand };
      return {
        errors: [{ text: `${relative(ROOT, args.importer)} imports ${args.path}, a Node module: the browser build takes none (scripts/build-browser.ts)` }],
      };
    });
  },
};

/** Bundle `entry` for the browser into `outdir` as NAME.js (`name`: the entry's output name). */
export async function bundleForBrowser(entry: string, outdir: string, name: string): Promise<void> {
  await build({
    entryPoints: { [name]: entry },
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // JSPI (WebAssembly.Suspending, promising) is on by default from Chromium 137.
    target: 'chrome137',
    sourcemap: true,
    logLevel: 'error',
    plugins: [noNodeModules],
  });
}

if (import.meta.main) {
  mkdirSync(OUT, { recursive: true });
  await bundleForBrowser(join(SRC, 'index.ts'), OUT, 'drawbridge');
  copyFileSync(join(SRC, 'drawbridge.d.ts'), join(OUT, 'drawbridge.d.ts'));
}
