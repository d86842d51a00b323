// Lint, and the layering rules of DESIGN.md enforced as import restrictions
// (like VS Code's layer rules): a violation fails `npm test`.
import tseslint from 'typescript-eslint';

const node = { group: ['node:*', 'fs', 'fs/*', 'net', 'path', 'os', 'child_process', 'worker_threads', 'http', 'crypto'], message: 'This layer sees only the Dk ABI: no Node modules (DESIGN.md, layers).' };
const host = { group: ['**/host/**', '**/host/*'], message: 'Only the runtime and the CLI may import a host (PAL).' };
const monitor = { group: ['**/monitor/**'], message: 'This layer must not reach the monitor.' };
const runtime = { group: ['**/runtime/**', '**/cli/**', '**/server/**'], message: 'Lower layers do not import upper ones.' };
const libos = { group: ['**/libos/**'], message: 'Only the runtime binds the library OS.' };

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'node_modules/**', '.cache/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  // abi/: pure data and types.
  { files: ['src/abi/**'], rules: { 'no-restricted-imports': ['error', { patterns: [node, host, monitor, runtime, libos] }] } },
  // libos/: the Dk ABI and nothing else.
  { files: ['src/libos/**'], rules: { 'no-restricted-imports': ['error', { patterns: [node, host, monitor, runtime] }] } },
  // extensions/: Dk to Dk.
  { files: ['src/extensions/**'], rules: { 'no-restricted-imports': ['error', { patterns: [node, host, monitor, runtime, libos] }] } },
  // monitor/: wraps a Dk; it may read a manifest file only through its loader in cli/.
  { files: ['src/monitor/**'], rules: { 'no-restricted-imports': ['error', { patterns: [{ ...node, group: node.group.filter((g) => g !== 'crypto' && g !== 'node:*').concat(['node:fs', 'node:net', 'node:child_process', 'node:worker_threads', 'node:http']) }, host, runtime, libos] }] } },
  // host/: PALs do not reach up.
  { files: ['src/host/**'], rules: { 'no-restricted-imports': ['error', { patterns: [monitor, runtime, libos] }] } },
  // host/memory: deterministic, in-memory: no Node I/O.
  { files: ['src/host/memory/**', 'src/host/common/**'], rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['node:fs', 'node:net', 'node:child_process', 'fs', 'net'], message: 'host/memory and host/common do no real I/O.' }, monitor, runtime, libos] }] } },
);
