// The memory host (PAL): the shared kernel on an in-memory file system, deterministic by
// default (virtual clock, seeded randomness), with no real I/O. For tests, replay and
// simulation; also the reference a checkpoint can be compared against.

import { HostKernel, type KernelHost } from '../kernel/kernel.ts';
import { OpenFlag } from '../kernel/files/files.ts';
import { DkError } from '../../abi/errors.ts';
import { MemoryPlatform } from './platform.ts';
import { LoopbackNetwork } from './net/driver.ts';

export type { KernelHost } from '../kernel/kernel.ts';

export interface MemoryHostOptions {
  /** Virtual clock and seeded randomness (default true); false: real clocks and crypto. */
  deterministic?: boolean;
  /** Seed of DkRandomBitsRead in deterministic mode (default 1). */
  seed?: number;
  /** Files to create first: absolute path -> contents (parent directories are made). */
  files?: Readonly<Record<string, string | Uint8Array>>;
}

export function createMemoryHost(options: MemoryHostOptions = {}): KernelHost {
  const platform = new MemoryPlatform({ deterministic: options.deterministic ?? true, seed: options.seed ?? 1 });
  for (const [path, contents] of Object.entries(options.files ?? {})) addFile(platform, path, contents);
  // A loopback network of its own: picoprocesses of this host talk to each other, nobody else.
  return new HostKernel('memory', platform, new LoopbackNetwork());
}

/** Set-up, not guest input: a bad path is the embedder's bug and throws. */
function addFile(platform: MemoryPlatform, path: string, contents: string | Uint8Array): void {
  const fs = platform.fs;
  if (!path.startsWith('/')) throw new Error(`createMemoryHost: files: path must be absolute: ${path}`);
  const parts = path.split('/').filter(Boolean);
  for (let i = 1; i < parts.length; i++) {
    const r = fs.mkdir('/' + parts.slice(0, i).join('/'));
    if (r !== 0 && r !== DkError.ALREADY_EXISTS) throw new Error(`createMemoryHost: cannot make the directories of ${path} (${r})`);
  }
  const fd = fs.open(path, OpenFlag.WRITE | OpenFlag.CREATE | OpenFlag.TRUNCATE);
  if (fd < 0) throw new Error(`createMemoryHost: cannot create ${path} (${fd})`);
  const bytes = typeof contents === 'string' ? new TextEncoder().encode(contents) : contents;
  let done = 0;
  while (done < bytes.length) {
    const n = fs.write(fd, bytes.subarray(done), done);
    if (n <= 0) throw new Error(`createMemoryHost: cannot write ${path} (${n})`);
    done += n;
  }
  fs.close(fd);
}
