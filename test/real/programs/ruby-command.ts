// Ruby's reactor made a command by `drawbridge command-from-reactor`, as a user makes it
// (docs/durable.md, "Ruby"), once: kept under the OS temp dir, named by the package's version
// and the source of the transformation (src/wasm/, where it and what it uses live), so a
// change to either makes it anew. Written to a
// staging file and renamed into place, so tests running at once never see half a module.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { RUBY_INIT, rubyModulePath } from './ruby-reactor.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'drawbridge.js');

/** The path of the Ruby command (made on first use). */
export function rubyCommand(): string {
  const version = (JSON.parse(readFileSync(join(dirname(rubyModulePath), '..', 'package.json'), 'utf8')) as { version: string }).version;
  const wasm = join(ROOT, 'src', 'wasm');
  const maker = createHash('sha256');
  for (const f of readdirSync(wasm).sort()) maker.update(f).update(readFileSync(join(wasm, f)));
  const key = maker.digest('hex').slice(0, 16);
  const path = join(tmpdir(), `drawbridge-ruby-command-${version}-${key}.wasm`);
  if (existsSync(path)) return path;
  const staging = `${path}.${process.pid}.tmp`;
  const made = spawnSync(process.execPath, [BIN, 'command-from-reactor', rubyModulePath, '--entry', RUBY_INIT, '-o', staging], { encoding: 'utf8' });
  if (made.status !== 0) {
    rmSync(staging, { force: true });
    throw new Error(`drawbridge command-from-reactor failed (${made.status}): ${made.stderr}`);
  }
  renameSync(staging, path);
  return path;
}
