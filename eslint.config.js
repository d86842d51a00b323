// Lint, and the layering of docs/architecture.md enforced: which folder may import which
// (import-x/no-restricted-paths, on resolved paths) and which layers may use Node's modules
// (no-restricted-imports). Import circles are found by scripts/import-cycles.ts (type-only
// imports included), which `npm run lint` runs after eslint. A violation fails `npm test`.
import tseslint from 'typescript-eslint';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';

// Node's modules by name, for the layers that see only the Dk ABI.
const NODE_ALL = [
  'fs',
  'fs/promises',
  'net',
  'path',
  'os',
  'child_process',
  'worker_threads',
  'http',
  'https',
  'crypto',
  'dns',
  'dgram',
  'tls',
  'url',
  'util',
  'stream',
  'async_hooks',
  'module',
  'zlib',
  'events',
];
const NODE_IO = ['fs', 'fs/promises', 'net', 'child_process', 'worker_threads', 'http', 'https', 'dns', 'dgram', 'tls'];
const nodeNames = (names, message) => ({
  paths: names.flatMap((n) => [
    { name: n, message },
    { name: `node:${n}`, message },
  ]),
  patterns: names === NODE_ALL ? [{ group: ['node:*'], message }] : [],
});

// The folders of src/ and what each may import (besides itself). Every layer may import abi/.
const LAYERS = {
  abi: [],
  wasm: [],
  libos: ['abi'],
  extensions: ['abi'],
  monitor: ['abi'],
  'host/kernel': ['abi'],
  'host/memory': ['abi', 'host/kernel'],
  'host/node': ['abi', 'host/kernel'],
  runtime: ['*'],
  // The public Node API of the npm package (src/index.ts): an upper layer over runtime/, checkpoint/, server/.
  api: ['*'],
  checkpoint: ['*'],
  server: ['*'],
  cli: ['*'],
  types: [],
  // Pages served to a browser (the web console, the frame-buffer view): they reach the host over HTTP only.
  web: [],
  // drawbridge in the browser (scripts/build-browser.ts): the layers below the runtime and the
  // Node-free files of checkpoint/ (BROWSER_CHECKPOINT).
  browser: ['wasm', 'libos', 'extensions', 'monitor', 'host/kernel', 'host/memory', 'checkpoint'],
};
// The files of checkpoint/ that use no Node, which the browser build may import.
const BROWSER_CHECKPOINT = ['./snapshot-format.ts', './capture-core.ts', './request.ts', './page-sum.ts', './seal-layout.ts'];
const FOLDERS = [
  'abi',
  'web',
  'browser',
  'wasm',
  'libos',
  'extensions',
  'monitor',
  'host/kernel',
  'host/memory',
  'host/node',
  'runtime',
  'checkpoint',
  'server',
  'cli',
  'api',
];
const zones = [];
for (const [layer, allowed] of Object.entries(LAYERS)) {
  if (allowed.includes('*')) continue;
  const may = new Set([layer, 'abi', ...allowed, 'types']);
  for (const other of FOLDERS) {
    if (may.has(other) || (layer.startsWith('host/') && other === 'host')) continue;
    zones.push({
      target: `./src/${layer}`,
      from: `./src/${other}`,
      message: `src/${layer} may import only ${[...may].filter((x) => x !== 'types').join(', ')} (docs/architecture.md)`,
    });
  }
}
zones.push({
  target: './src/browser',
  from: './src/checkpoint',
  except: BROWSER_CHECKPOINT,
  message: `src/browser may import of src/checkpoint only its Node-free files: ${BROWSER_CHECKPOINT.join(', ')} (eslint.config.js)`,
});
// The upper layers reach a host only through its index.ts (and the kernel's shared types).
for (const upper of ['runtime', 'checkpoint', 'server', 'cli', 'api']) {
  for (const host of ['host/node', 'host/memory']) {
    zones.push({
      target: `./src/${upper}`,
      from: `./src/${host}`,
      except: ['./index.ts', './lazy-builtins.ts'],
      message: `src/${upper} reaches src/${host} only through its index.ts (docs/architecture.md)`,
    });
  }
}

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'node_modules/**', '.cache/**'] },
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.mjs'] })],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts', '.js', '.mjs'],
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['src/**', 'test/**', 'bench/**', 'scripts/**'],
    rules: {
      'import-x/no-restricted-paths': ['error', { zones }],
    },
  },
  // The layers that see only the Dk ABI (or only bytes): no Node modules at all.
  {
    files: ['src/abi/**', 'src/libos/**', 'src/extensions/**', 'src/wasm/**', 'src/web/**', 'src/browser/**'],
    rules: { 'no-restricted-imports': ['error', nodeNames(NODE_ALL, 'This layer sees only the Dk ABI (or bytes): no Node modules (docs/architecture.md).')] },
  },
  // The monitor may hash and resolve names, but does no I/O of its own.
  {
    files: ['src/monitor/**'],
    rules: { 'no-restricted-imports': ['error', nodeNames(NODE_IO, 'The monitor does no I/O of its own (docs/architecture.md).')] },
  },
  // The kernel and the memory host are deterministic and in memory: no real I/O.
  {
    files: ['src/host/kernel/**', 'src/host/memory/**'],
    rules: { 'no-restricted-imports': ['error', nodeNames(NODE_IO, 'host/kernel and host/memory do no real I/O (docs/architecture.md).')] },
  },
);
