// Loads extensions and stacks them: the part that does I/O for src/extensions/ (which sees
// only the ABI). A name is a built-in (trace, remap, record, replay), a path to a module
// (starts with ./, ../ or /, or ends in .js/.mjs/.cjs/.ts) or an installed package name
// (resolved from the working directory, then from drawbridge's own node_modules). A module
// exports its factory as `default` or `createExtension`.
//
// Stack order: the first extension named is the top one, nearest the library OS; each one
// calls the next, the last one calls the monitor. So `--ext trace --ext remap` traces the
// paths the program asked for, `--ext remap --ext trace` the paths after remapping.

import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { output } from '../host/node/index.ts';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Dk } from '../abi/dk.ts';
import { PRIMITIVES } from '../abi/spec.ts';
import { asInstance, ExtensionError, type ExtensionFactory, type ExtensionHost, type ExtensionInstance, type TextSink } from '../extensions/api.ts';
import { BUILTIN_EXTENSIONS } from '../extensions/builtins.ts';
import type { ExtensionRequest } from '../extensions/spec-text.ts';

import type { SavedExtension } from '../checkpoint/snapshot.ts';
export { parseExtensionArg, type ExtensionRequest } from '../extensions/spec-text.ts';
export { ExtensionError, ExtensionHalt } from '../extensions/api.ts';

export interface ExtensionStack {
  /** Stack the extensions on a picoprocess's monitored Dk (PicoprocessOptions.wrapDk). */
  wrap(dk: Dk): Dk;
  /** The instances of the last wrap, top first (their state joins a checkpoint). */
  readonly instances: readonly { name: string; instance: ExtensionInstance }[];
  /** Flush and close what the extensions opened (trace files, record logs). */
  close(): void;
  /** What a checkpoint keeps of the stack: each extension's name, options and state. */
  save(): SavedExtension[];
  /** Put saved state back (after wrap, before the program runs again). */
  restore(saved: readonly SavedExtension[]): void;
}

/** Buffered file output: a record log of a busy program is many small lines. */
const FLUSH_AT = 64 * 1024;

function fileSink(path: string): TextSink {
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (e) {
    throw new ExtensionError(`cannot write ${path}: ${(e as Error).message}`);
  }
  let pending: string[] = [];
  let size = 0;
  const flush = () => {
    if (pending.length === 0) return;
    writeSync(fd, pending.join(''));
    pending = [];
    size = 0;
  };
  let closed = false;
  return {
    write(text) {
      if (closed) return;
      pending.push(text);
      size += text.length;
      if (size >= FLUSH_AT) flush();
    },
    close() {
      if (closed) return;
      flush();
      closeSync(fd);
      closed = true;
    },
  };
}

/**
 * Through the same coalescer as the program's own stdout and stderr (host/node/output-buffer.ts),
 * so trace lines stay in order with what the program writes.
 */
const stderrSink: TextSink = {
  write: (text) => {
    const bytes = new TextEncoder().encode(text);
    if (typeof output.write(2, bytes) === 'number') return;
    // stderr is full (EAGAIN): write it out synchronously rather than lose trace lines.
    output.flushAll();
    try {
      writeSync(2, bytes);
    } catch {
      // stderr is gone: nothing to trace to.
    }
  },
};

/** The ExtensionHost of the node runtime: files relative to `cwd`, stderr by default. */
export function nodeExtensionHost(cwd = process.cwd()): ExtensionHost & { closeAll(): void } {
  const opened: TextSink[] = [];
  return {
    output(file) {
      if (file === undefined || file === '' || file === '-') return stderrSink;
      const sink = fileSink(resolve(cwd, file));
      opened.push(sink);
      return sink;
    },
    readText(file) {
      try {
        return readFileSync(resolve(cwd, file), 'utf8');
      } catch (e) {
        throw new ExtensionError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
      }
    },
    closeAll() {
      for (const s of opened.splice(0)) s.close?.();
    },
  };
}

function looksLikePath(name: string): boolean {
  return name.startsWith('./') || name.startsWith('../') || name.startsWith('/') || /\.(m|c)?[jt]s$/.test(name);
}

/** A name with a URL scheme (data:, http:, https:, file:, node:...): never imported. */
const URL_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/**
 * The factory a name stands for: built-in, module file or package. A URL is refused: a
 * `data:` or remote specifier is code from wherever the name came from, not from this host.
 */
export async function resolveExtension(name: string, cwd = process.cwd()): Promise<ExtensionFactory> {
  const builtin = BUILTIN_EXTENSIONS[name];
  if (builtin) return builtin;
  if (URL_SCHEME.test(name)) throw new ExtensionError(`extension "${name}" is a URL: name a built-in, a module path or an installed package`);
  let specifier: string;
  if (looksLikePath(name)) specifier = pathToFileURL(resolve(cwd, name)).href;
  else {
    try {
      specifier = pathToFileURL(createRequire(join(cwd, 'package.json')).resolve(name)).href;
    } catch {
      specifier = name; // an ESM-only package, or one installed beside drawbridge
    }
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(specifier)) as Record<string, unknown>;
  } catch (e) {
    const known = Object.keys(BUILTIN_EXTENSIONS).join(', ');
    throw new ExtensionError(
      `cannot load extension "${name}" (built-in ones: ${known}; or a module path or package name): ${(e as Error).message.split('\n')[0]}`,
    );
  }
  const factory = mod.default ?? mod.createExtension;
  if (typeof factory !== 'function') {
    throw new ExtensionError(`extension "${name}" exports no factory: export default (lower, options, host) => Dk`);
  }
  return factory as ExtensionFactory;
}

/** Resolves every extension now (so a bad name fails before the program starts). */
export async function loadExtensions(requests: readonly ExtensionRequest[], options: { cwd?: string; host?: ExtensionHost } = {}): Promise<ExtensionStack> {
  const cwd = options.cwd ?? process.cwd();
  const nodeHost = options.host ? null : nodeExtensionHost(cwd);
  const host = options.host ?? nodeHost!;
  const factories = await Promise.all(requests.map((r) => resolveExtension(r.name, cwd)));
  let instances: { name: string; instance: ExtensionInstance }[] = [];
  return {
    get instances() {
      return instances;
    },
    wrap(monitored: Dk): Dk {
      let dk = ownMethods(monitored);
      const made: { name: string; instance: ExtensionInstance }[] = [];
      for (let i = requests.length - 1; i >= 0; i--) {
        const instance = asInstance(factories[i]!(dk, requests[i]!.options, host));
        if (!instance.dk || typeof instance.dk.streamOpen !== 'function') {
          throw new ExtensionError(`extension "${requests[i]!.name}" returned no Dk`);
        }
        made.unshift({ name: requests[i]!.name, instance });
        dk = instance.dk;
      }
      instances = made;
      return dk;
    },
    close() {
      for (const { instance } of instances) instance.close?.();
      nodeHost?.closeAll();
    },
    save() {
      return instances.map(({ instance }, i) => ({ name: requests[i]!.name, options: { ...requests[i]!.options }, state: instance.state?.save() ?? null }));
    },
    restore(saved) {
      instances.forEach(({ instance }, i) => {
        if (saved[i] && saved[i]!.state !== null) instance.state?.restore(saved[i]!.state);
      });
    },
  };
}

/**
 * The Dk an extension stacks on, with a method of its own for every primitive: extensions walk
 * Object.keys(lower) (docs/extensions.md), while the monitor's Dk keeps its methods on a shared
 * prototype (one per picoprocess would cost every start a closure per primitive).
 */
function ownMethods(lower: Dk): Dk {
  const out: Record<string, unknown> = {};
  for (const spec of PRIMITIVES) out[spec.method] = (lower[spec.method] as (...a: unknown[]) => unknown).bind(lower);
  return out as unknown as Dk;
}
