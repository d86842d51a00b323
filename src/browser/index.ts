// drawbridge in the browser: the public API of dist/browser/drawbridge.js (declared in
// drawbridge.d.ts, which this file is checked against). A composition root like runtime/ on
// Node: the kernel, library OS, monitor and capture on the browser platform (platform.ts), the
// in-memory file system given as a tree of files (optionally kept in IndexedDB), suspension by
// JSPI. Snapshots are the same files as on Node (docs/browser.md).

import { HostKernel } from '../host/kernel/kernel.ts';
import { LoopbackNetwork } from '../host/memory/net/driver.ts';
import { SnapshotError } from '../checkpoint/snapshot-format.ts';
import type * as Api from './drawbridge.d.ts';
import { BrowserPlatform } from './platform.ts';
import { manifestOf } from './grants.ts';
import { readTree, writeTree, type FileTree } from './files.ts';
import { indexedDbFileStore } from './file-store.ts';
import { PageStdin } from './stdin.ts';
import { isPrepared, startPicoprocess } from './picoprocess.ts';
import { sha256Hex } from './capture-platform.ts';
import { openSnapshot } from './open-snapshot.ts';
import { compileUnderLimit } from './compile.ts';

export { SnapshotError, indexedDbFileStore };

type Source = Api.Source;

/** Bytes of a module or snapshot given as bytes or fetched from a URL. */
async function bytesOf(source: Source, what: string): Promise<{ bytes: Uint8Array; name: string }> {
  if (source instanceof Uint8Array) return { bytes: source, name: what };
  if (source instanceof ArrayBuffer) return { bytes: new Uint8Array(source), name: what };
  const url = source instanceof URL ? source : new URL(source, (globalThis as { location?: { href: string } }).location?.href);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url.href}: ${response.status} ${response.statusText}: cannot load the ${what}`);
  return { bytes: new Uint8Array(await response.arrayBuffer()), name: url.pathname.split('/').pop() || what };
}

/** An output callback as the kernel takes it: bytes, decoded as UTF-8 across chunks for the page. */
function sink(fn: Api.OutputCallback | undefined): 'null' | ((bytes: Uint8Array) => void) {
  if (!fn) return 'null';
  const decoder = new TextDecoder();
  return (bytes) => fn(decoder.decode(bytes, { stream: true }), bytes);
}

/** A host of its own for one picoprocess: its file system filled from the options (or the store). */
async function hostFor(options: Api.HostOptions): Promise<{ host: HostKernel; platform: BrowserPlatform }> {
  const platform = new BrowserPlatform();
  const stored = options.fileStore ? await options.fileStore.load() : null;
  const tree: FileTree | undefined = stored ?? options.files;
  if (tree) writeTree(platform.fs, tree);
  const host = new HostKernel('browser', platform, new LoopbackNetwork());
  const onFrame = options.onFrame;
  if (onFrame) host.onFrameBufferUpdate((u) => onFrame({ width: u.width, height: u.height, pixels: u.pixels, x: u.x, y: u.y, w: u.w, h: u.h }));
  return { host, platform };
}

function running(
  picoprocess: Awaited<ReturnType<typeof startPicoprocess>>,
  platform: BrowserPlatform,
  stdin: PageStdin,
  options: Api.HostOptions,
): Api.Running {
  const files = () => readTree(platform.fs);
  const save = async () => {
    if (!options.fileStore) throw new Error('no fileStore was given: nothing to save to');
    await options.fileStore.save(files());
  };
  const done = picoprocess.done.then(async (status) => {
    if (options.fileStore && options.saveFilesAtExit !== false) await save();
    return status;
  });
  return {
    done,
    capturable: picoprocess.capturable,
    checkpoint: (o) => picoprocess.checkpoint(o?.leaveRunning ?? false),
    writeStdin: (input) => stdin.feed(input),
    endStdin: () => stdin.end(),
    kill: () => picoprocess.kill(),
    input: (event) => picoprocess.input(event),
    files,
    saveFiles: save,
  };
}

export const start: typeof Api.start = async (options) => {
  const { bytes, name } = await bytesOf(options.module, 'module');
  const manifest = manifestOf(options);
  const module = await compileUnderLimit(bytes, manifest.limits.memory);
  // A prepared module's SHA-256 goes into its snapshots; WebCrypto gives it only asynchronously.
  const sha256 = isPrepared(module) ? await sha256Hex(bytes) : '';
  const { host, platform } = await hostFor(options);
  const stdin = new PageStdin(options.stdin);
  const args = [options.name ?? name, ...(options.args ?? [])];
  const p = await startPicoprocess({ host, module, bytes, sha256, name, args, manifest, stdin, stdout: sink(options.stdout), stderr: sink(options.stderr) });
  return running(p, platform, stdin, options);
};

export const run: typeof Api.run = async (options) => {
  const r = await start(options);
  const status = await r.done;
  return { ...status, files: r.files() };
};

export const restore: typeof Api.restore = async (options) => {
  const { bytes, name } = await bytesOf(options.snapshot, 'snapshot');
  const opened = await openSnapshot(bytes, name, manifestOf(options), options.trustUnsealed === true);
  const module = await compileUnderLimit(opened.module, opened.manifest.limits.memory);
  if (!isPrepared(module)) throw new SnapshotError(`${name}: its module is not prepared, so it cannot have been captured`);
  const { host, platform } = await hostFor(options);
  const stdin = new PageStdin(options.stdin);
  const meta = opened.snapshot.meta;
  const p = await startPicoprocess({
    host,
    module,
    bytes: opened.module,
    sha256: opened.sha256,
    name: meta.module.name,
    args: meta.args,
    manifest: opened.manifest,
    stdin,
    stdout: sink(options.stdout),
    stderr: sink(options.stderr),
    restore: opened.snapshot,
  });
  return running(p, platform, stdin, options);
};
