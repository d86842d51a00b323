// The browser host (src/browser/, docs/browser.md) in a real Chromium: the bundle of
// scripts/build-browser.ts, served by a static HTTP server on 127.0.0.1, runs a C guest with the
// output, files and exit status Node gives it; a snapshot taken on Node restores in the page and
// one taken in the page restores under `drawbridge restore` (one format); a snapshot asking for a
// mount the page does not grant is refused in one line. And, without a browser: the bundle takes
// no Node module, and the build fails on one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
// The page's module, typed by its declarations (the page imports it by URL).
import type * as Api from '../../src/browser/drawbridge.d.ts';
import { bundleForBrowser } from '../../scripts/build-browser.ts';
import { chromiumMissing, launchChromium } from '../support/browser.ts';
import { binaryenMissing } from '../support/toolchain.ts';
import { prepareModule } from '../../src/runtime/prepare.ts';
import { compileModule } from '../../src/runtime/module-cache.ts';
import { startCommand } from '../../src/runtime/picoprocess.ts';
import { createNodeHost } from '../../src/host/node/index.ts';
import { emptyManifest } from '../../src/monitor/manifest/manifest.ts';
import { StdinFeed } from '../../src/server/stdin-feed.ts';
import { decodeSnapshot, encodeSnapshot, PAGE_SIZE } from '../../src/checkpoint/snapshot.ts';
import { startDaemon } from '../../src/server/daemon.ts';
import { call } from '../../src/server/client.ts';
import type { ProcessInfo } from '../../src/server/supervisor.ts';

const BIN = 'bin/drawbridge.js';
const GUEST = readFileSync('build/guests/browser/lines.wasm');
const missing = chromiumMissing() || binaryenMissing();
const browserTest = (name: string, fn: () => Promise<void>) => (missing ? test(name, { skip: missing }, () => {}) : test(name, fn));

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.html': 'text/html', '.wasm': 'application/wasm', '.map': 'application/json' };

/** A static server of the files of `dir` by name (no folders, no other path), on 127.0.0.1. */
async function serve(dir: string): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1));
    if (!/^[\w.-]+$/.test(name)) return void res.writeHead(404).end();
    let body: Buffer;
    try {
      body = readFileSync(join(dir, name));
    } catch {
      return void res.writeHead(404).end();
    }
    res.writeHead(200, { 'content-type': TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return { server, base: `http://127.0.0.1:${address.port}` };
}

interface Site {
  dir: string;
  page: Page;
  close(): Promise<void>;
}

/** The bundle, the guest (as built and prepared) and an empty page, opened in Chromium. */
/** The browser build, bundled once for the whole file (each site serves a copy in a folder of its own). */
let bundled: Promise<string> | null = null;
function bundle(): Promise<string> {
  return (bundled ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'db-browser-bundle-'));
    await bundleForBrowser('src/browser/index.ts', dir, 'drawbridge');
    return dir;
  })());
}

async function site(): Promise<Site> {
  const dir = mkdtempSync(join(tmpdir(), 'db-browser-'));
  const built = await bundle();
  for (const f of readdirSync(built)) copyFileSync(join(built, f), join(dir, f));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>drawbridge test</title>');
  writeFileSync(join(dir, 'lines.wasm'), GUEST);
  writeFileSync(join(dir, 'lines.prepared.wasm'), await prepareModule(GUEST));
  const { server, base } = await serve(dir);
  const browser = await launchChromium();
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/index.html`);
  return {
    dir,
    page,
    async close() {
      await browser.close();
      server.close();
      assert.deepEqual(errors, [], 'the page threw');
    },
  };
}

/** `fn` with a site of its own, closed after it (the page must not have thrown). */
async function withSite(fn: (s: Site) => Promise<void>): Promise<void> {
  const s = await site();
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

/** The guest run to its end on Node with `stdin`: its output (the reference the page must match). */
async function onNode(args: string[], stdin: string, dir: string): Promise<{ out: string; code: number }> {
  const module = await compileModule(GUEST);
  let out = '';
  const running = await startCommand({
    host: createNodeHost(),
    module,
    args: ['lines.wasm', ...args],
    manifest: { ...emptyManifest(), env: { GREETING: 'hi' }, mounts: [{ host: dir, guest: '/data', mode: 'rw' }] },
    stdin: new TextEncoder().encode(stdin),
    stdout: (b) => (out += new TextDecoder().decode(b)),
  });
  const { exitCode } = await running.done;
  return { out, code: exitCode };
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

test('the browser bundle imports no Node module, and a Node module sneaking in fails its build', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-browser-bundle-'));
  await bundleForBrowser('src/browser/index.ts', dir, 'drawbridge');
  const js = readFileSync(join(dir, 'drawbridge.js'), 'utf8');
  assert.doesNotMatch(js, /\bfrom\s*["'](node:)?(fs|path|os|crypto|zlib|module|worker_threads|child_process|async_hooks|net|util|events)["']/);
  assert.doesNotMatch(js, /["']node:[a-z_/]+["']/);
  assert.doesNotMatch(js, /\brequire\(/);
  assert.match(js, /WebAssembly\.Suspending/);
  const probe = join(dir, 'probe.ts');
  writeFileSync(probe, "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n");
  await assert.rejects(bundleForBrowser(probe, dir, 'probe'), /probe\.ts imports node:fs, a Node module: the browser build takes none/);
  writeFileSync(probe, "import { join } from 'path';\nexport const x = join;\n");
  await assert.rejects(bundleForBrowser(probe, dir, 'probe'), /probe\.ts imports path, a Node module/);
});

browserTest('the page runs a C guest: arguments, environment, files, stdin (a string or a callback), as Node runs it', () =>
  withSite(async (s) => {
    const nodeDir = mkdtempSync(join(tmpdir(), 'db-browser-ref-'));
    const reference = await onNode(['a b', 'c'], 'one\ntwo\n', nodeDir);
    assert.match(
      reference.out,
      /^argv\[0\]=lines\.wasm\nargv\[1\]=a b\nargv\[2\]=c\ngreeting=hi\nfiles=yes\nready\n1: one hash=[0-9a-f]{16}\n2: two hash=[0-9a-f]{16}\nbye after 2 lines\n$/,
    );
    const fromString = await s.page.evaluate(async () => {
      const d = (await import(String('/drawbridge.js'))) as typeof Api;
      let out = '';
      const r = await d.run({
        module: '/lines.wasm',
        args: ['a b', 'c'],
        env: { GREETING: 'hi' },
        mounts: ['/data'],
        files: { data: { 'old.txt': 'kept' } },
        stdin: 'one\ntwo\n',
        stdout: (t: string) => (out += t),
      });
      const data = r.files.data as Record<string, Uint8Array>;
      return { out, code: r.exitCode, seen: new TextDecoder().decode(data['seen.txt']), old: new TextDecoder().decode(data['old.txt']) };
    });
    assert.equal(fromString.out, reference.out);
    assert.equal(fromString.code, reference.code);
    assert.equal(fromString.seen, readFileSync(join(nodeDir, 'seen.txt'), 'utf8'));
    assert.equal(fromString.old, 'kept');
    // A callback asked each time the guest wants input; without the mount, /data is not there.
    const fromCallback = await s.page.evaluate(async () => {
      const d = (await import(String('/drawbridge.js'))) as typeof Api;
      const lines = ['one\n', 'two\n'];
      let out = '';
      const r = await d.run({
        module: '/lines.wasm',
        args: ['a b', 'c'],
        env: { GREETING: 'hi' },
        files: { data: {} },
        stdin: async () => lines.shift() ?? null,
        stdout: (t: string) => (out += t),
      });
      return { out, code: r.exitCode };
    });
    assert.equal(fromCallback.out, reference.out.replace('files=yes', 'files=no'));
    assert.equal(fromCallback.code, 0);
    // Waiting for a line that never comes, it is killed: status 137.
    const killed = await s.page.evaluate(async () => {
      const d = (await import(String('/drawbridge.js'))) as typeof Api;
      let out = '';
      let ready: () => void = () => {};
      const waiting = new Promise<void>((resolve) => (ready = resolve));
      const r = await d.start({
        module: '/lines.wasm',
        stdout: (t) => {
          out += t;
          if (out.includes('ready')) ready();
        },
      });
      await waiting;
      r.kill();
      return await r.done;
    });
    assert.deepEqual(killed, { exitCode: 137, error: 'killed' });
  }),
);

browserTest('files kept in IndexedDB: saved when a run ends, loaded by the next run instead of the initial files', () =>
  withSite(async (s) => {
    const seen = await s.page.evaluate(async () => {
      const d = (await import(String('/drawbridge.js'))) as typeof Api;
      const store = d.indexedDbFileStore('browser-host-test');
      await store.clear();
      const once = (line: string) => d.run({ module: '/lines.wasm', mounts: ['/data'], files: { data: {} }, fileStore: store, stdin: line });
      await once('first\n');
      await once('second\n');
      const kept = (await store.load()) as { data: Record<string, Uint8Array> } | null;
      return kept ? new TextDecoder().decode(kept.data['seen.txt']) : 'nothing kept';
    });
    // Each run numbers its lines from 1; the second appended to the file the first left.
    assert.equal(seen, '1 first\n1 second\n');
  }),
);

browserTest(
  'a frame-buffer guest: frames reach onFrame, a mouse drag sent by input() is drawn, and the drawing survives a checkpoint and restore (examples/paint.wasm, prepared)',
  () =>
    withSite(async (s) => {
      writeFileSync(join(s.dir, 'paint.wasm'), await prepareModule(readFileSync('examples/paint.wasm')));
      const drawn = await s.page.evaluate(async () => {
        const d = (await import(String('/drawbridge.js'))) as typeof Api;
        let frame: Api.Frame | null = null;
        let changed: () => void = () => {};
        const rgb = (x: number, y: number) => Array.from(frame!.pixels.subarray((y * frame!.width + x) * 4, (y * frame!.width + x) * 4 + 3));
        /** Frames come as the guest draws them: wait for the next one until `ok` holds. */
        const until = async (ok: () => boolean) => {
          while (!frame || !ok()) await new Promise<void>((resolve) => (changed = resolve));
        };
        const r = await d.start({
          module: '/paint.wasm',
          onFrame: (f) => {
            frame = f;
            changed();
          },
        });
        await until(() => rgb(100, 100).join() === '255,255,255');
        const before = rgb(100, 100);
        r.input({ type: 2, code: 50, value: 100 });
        r.input({ type: 3, code: 1, value: 1 });
        r.input({ type: 2, code: 150, value: 100 });
        r.input({ type: 3, code: 1, value: 0 });
        await until(() => rgb(100, 100).join() !== '255,255,255');
        const after = rgb(100, 100);
        const untouched = rgb(100, 200);
        // Checkpointed and restored, it shows the whole drawing again at its next update (a dab at 200, 200).
        const snapshot = await r.checkpoint();
        frame = null;
        const q = await d.restore({
          snapshot,
          trustUnsealed: true,
          onFrame: (f) => {
            frame = f;
            changed();
          },
        });
        q.input({ type: 2, code: 200, value: 200 });
        q.input({ type: 3, code: 1, value: 1 });
        q.input({ type: 3, code: 1, value: 0 });
        await until(() => rgb(200, 200).join() !== '255,255,255');
        const kept = rgb(100, 100);
        q.input({ type: 1, code: 'q'.charCodeAt(0), value: 1 });
        const status = await q.done;
        return { before, after, untouched, kept, status, size: [frame!.width, frame!.height] };
      });
      assert.deepEqual(drawn, {
        before: [255, 255, 255],
        after: [0, 0, 0],
        untouched: [255, 255, 255],
        kept: [0, 0, 0],
        status: { exitCode: 0 },
        size: [320, 240],
      });
    }),
);

/** The prepared guest started on Node, fed "one", checkpointed while it waits for its next line. */
async function nodeSnapshot(dir: string): Promise<Uint8Array> {
  const prepared = await prepareModule(GUEST);
  const module = await compileModule(prepared);
  const feed = new StdinFeed();
  let out = '';
  let answered: () => void = () => {};
  const firstLine = new Promise<void>((resolve) => (answered = resolve));
  const running = await startCommand({
    host: createNodeHost(),
    module,
    args: ['lines.wasm', 'x'],
    manifest: { ...emptyManifest(), mounts: [{ host: dir, guest: '/data', mode: 'rw' }] },
    capture: { moduleBytes: prepared, moduleName: 'lines.wasm' },
    stdioStreams: [feed],
    stdout: (b) => {
      out += new TextDecoder().decode(b);
      if (out.includes('1: one')) answered();
    },
  });
  feed.feed(new TextEncoder().encode('one\n'));
  await firstLine;
  const snapshot = await running.checkpoint!(false);
  assert.equal((await running.done).checkpointed, true);
  return snapshot;
}

browserTest('a snapshot taken on Node restores in the page: the next line is answered with its count, hash and file offset intact', () =>
  withSite(async (s) => {
    const nodeDir = mkdtempSync(join(tmpdir(), 'db-browser-node-'));
    const snapshot = await nodeSnapshot(nodeDir);
    const reference = await onNode(['x'], 'one\ntwo\n', mkdtempSync(join(tmpdir(), 'db-browser-ref-')));
    const restored = await s.page.evaluate(
      async ({ snap, seen }) => {
        const d = (await import(String('/drawbridge.js'))) as typeof Api;
        const bytes = Uint8Array.from(atob(snap), (c) => c.charCodeAt(0));
        let out = '';
        const r = await d.restore({
          snapshot: bytes,
          trustUnsealed: true,
          mounts: ['/data'],
          files: { data: { 'seen.txt': seen } },
          stdin: 'two\n',
          stdout: (t: string) => (out += t),
        });
        const status = await r.done;
        const data = r.files().data as Record<string, Uint8Array>;
        return { out, code: status.exitCode, seen: new TextDecoder().decode(data['seen.txt']) };
      },
      { snap: b64(snapshot), seen: readFileSync(join(nodeDir, 'seen.txt'), 'utf8') },
    );
    // What it prints after the restore is what an uninterrupted run prints after its first line.
    assert.equal(restored.out, reference.out.slice(reference.out.indexOf('2: two')));
    assert.equal(restored.code, 0);
    assert.equal(restored.seen, '1 one\n2 two\n');
  }),
);

browserTest('a sealed snapshot of drawbridge checkpoint restores in the page, fetched by URL, only with trustUnsealed (the page holds no key)', () =>
  withSite(async (s) => {
    const dir = mkdtempSync(join(tmpdir(), 'db-browser-cli-'));
    const env = { ...process.env, DRAWBRIDGE_KEY: join(dir, 'host.key') };
    const child = spawn(process.execPath, [BIN, 'run', '--dir', `${dir}::/data`, 'build/guests/browser/lines.wasm', 'x'], { env });
    let out = '';
    child.stdout.setEncoding('utf8');
    const printed = (text: string) =>
      new Promise<void>((resolve) => (out.includes(text) ? resolve() : child.stdout.on('data', () => out.includes(text) && resolve())));
    child.stdout.on('data', (d: string) => (out += d));
    await printed('ready\n');
    child.stdin.write('one\n');
    await printed('1: one');
    const ck = spawnSync(process.execPath, [BIN, 'checkpoint', String(child.pid), '-o', join(s.dir, 'cli.snap')], { encoding: 'utf8', env });
    assert.equal(ck.status, 0, ck.stderr);
    assert.equal(await new Promise((resolve) => child.on('close', resolve)), 0);
    const reference = await onNode(['x'], 'one\ntwo\n', mkdtempSync(join(tmpdir(), 'db-browser-ref-')));
    const seen = readFileSync(join(dir, 'seen.txt'), 'utf8');
    const restored = await s.page.evaluate(async (seen) => {
      const d = (await import(String('/drawbridge.js'))) as typeof Api;
      const refused = await d.restore({ snapshot: '/cli.snap', mounts: ['/data'], files: { data: { 'seen.txt': seen } } }).then(
        () => 'restored',
        (e: Error) => e.message,
      );
      let out = '';
      const r = await d.restore({
        snapshot: '/cli.snap',
        trustUnsealed: true,
        mounts: ['/data'],
        files: { data: { 'seen.txt': seen } },
        stdin: 'two\n',
        stdout: (t) => (out += t),
      });
      const status = await r.done;
      return { refused, out, code: status.exitCode };
    }, seen);
    assert.match(
      restored.refused,
      /^cli\.snap is sealed with a host key \(id [0-9a-f]{16}\), which the browser host does not hold to check it: restore it only if you trust its source, with trustUnsealed: true$/,
    );
    assert.equal(restored.out, reference.out.slice(reference.out.indexOf('2: two')));
    assert.equal(restored.code, 0);
  }),
);

browserTest(
  "drawbridge serve and the page hand a picoprocess to each other: its checkpoint restores in the page, the page's restores under serve",
  async () => {
    const s = await site();
    const d = await startDaemon({ connectionFile: null, token: 'browser-test-token' });
    const c = d.connection;
    try {
      /** Stdout of serve's picoprocess `id`, read again until it holds `text`. */
      const outputUntil = async (id: number, text: string): Promise<string> => {
        for (;;) {
          const out = Buffer.from((await call(c, 'GET', `/v1/processes/${id}/stdout`)) as Uint8Array).toString();
          if (out.includes(text)) return out;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      const reference = await onNode(['x'], 'one\ntwo\n', mkdtempSync(join(tmpdir(), 'db-browser-ref-')));
      const second = reference.out.slice(reference.out.indexOf('2: two'));
      // serve to page.
      const { process: p } = (await call(c, 'POST', '/v1/processes', {
        body: { module: join(process.cwd(), 'build/guests/browser/lines.wasm'), args: ['x'], stdin: 'one\n' },
      })) as {
        process: ProcessInfo;
      };
      assert.equal(p.capturable, true);
      await outputUntil(p.id, '1: one');
      const fromServe = (await call(c, 'POST', `/v1/processes/${p.id}/checkpoint`)) as Uint8Array;
      const inPage = await s.page.evaluate(async (snap) => {
        const d = (await import(String('/drawbridge.js'))) as typeof Api;
        let out = '';
        const r = await d.restore({
          snapshot: Uint8Array.from(atob(snap), (ch) => ch.charCodeAt(0)),
          trustUnsealed: true,
          stdin: 'two\n',
          stdout: (t) => (out += t),
        });
        return { status: await r.done, out };
      }, b64(fromServe));
      assert.deepEqual(inPage, { status: { exitCode: 0 }, out: second });
      // Page to serve.
      const fromPage = await s.page.evaluate(async () => {
        const d = (await import(String('/drawbridge.js'))) as typeof Api;
        let out = '';
        let answered: () => void = () => {};
        const first = new Promise<void>((resolve) => (answered = resolve));
        const r = await d.start({
          module: '/lines.prepared.wasm',
          name: 'lines.wasm',
          args: ['x'],
          stdout: (t) => {
            out += t;
            if (out.includes('1: one')) answered();
          },
        });
        r.writeStdin('one\n');
        await first;
        let bin = '';
        for (const b of await r.checkpoint()) bin += String.fromCharCode(b);
        return btoa(bin);
      });
      const { process: q } = (await call(c, 'POST', '/v1/restore', { raw: Buffer.from(fromPage, 'base64') })) as { process: ProcessInfo };
      await call(c, 'POST', `/v1/processes/${q.id}/stdin`, { raw: new TextEncoder().encode('two\n') });
      // Its stdin stays open: the second line's answer is all it prints.
      const answer = second.slice(0, second.indexOf('\n') + 1);
      assert.equal(await outputUntil(q.id, answer), answer);
    } finally {
      await d.close();
      await s.close();
    }
  },
);

browserTest(
  'a snapshot asking for a mount the page does not grant is refused in one line, as are an unsealed one without trustUnsealed, one carrying another module than it names and one bigger than memoryLimit',
  () =>
    withSite(async (s) => {
      const snapshot = await nodeSnapshot(mkdtempSync(join(tmpdir(), 'db-browser-node-')));
      // The same snapshot carrying another module than the one its META names (every checksum right).
      const { meta, module, pages } = decodeSnapshot(snapshot);
      const memory = new Uint8Array(meta.memory.pages * PAGE_SIZE);
      for (const [index, page] of pages) memory.set(page, index * PAGE_SIZE);
      const other = module!.slice();
      other[other.length - 1]! ^= 1;
      const { memory: _memory, ...rest } = meta;
      const altered = encodeSnapshot(rest, memory, other);
      const refusals = await s.page.evaluate(
        async ({ snap, alteredSnap }) => {
          const d = (await import(String('/drawbridge.js'))) as typeof Api;
          const bytes = Uint8Array.from(atob(snap), (c) => c.charCodeAt(0));
          const why = (p: Promise<unknown>) =>
            p.then(
              () => 'restored',
              (e: Error) => `${e.name}|${e.message}`,
            );
          return {
            noMount: await why(d.restore({ snapshot: bytes, trustUnsealed: true, files: { data: {} } })),
            readOnly: await why(d.restore({ snapshot: bytes, trustUnsealed: true, mounts: [{ guest: '/data', mode: 'ro' }], files: { data: {} } })),
            untrusted: await why(d.restore({ snapshot: bytes, mounts: ['/data'], files: { data: {} } })),
            tooBig: await why(d.restore({ snapshot: bytes, trustUnsealed: true, mounts: ['/data'], files: { data: {} }, memoryLimit: 65536 })),
            startTooBig: await why(d.start({ module: '/lines.wasm', memoryLimit: 65536 })),
            altered: await why(
              d.restore({ snapshot: Uint8Array.from(atob(alteredSnap), (c) => c.charCodeAt(0)), trustUnsealed: true, mounts: ['/data'], files: { data: {} } }),
            ),
          };
        },
        { snap: b64(snapshot), alteredSnap: b64(altered) },
      );
      assert.equal(refusals.noMount, 'Error|snapshot: the snapshot asks for mount /data (rw), not granted: give --dir HOST::/data or a manifest');
      assert.match(refusals.readOnly, /^Error\|snapshot: the snapshot asks for mount \/data \(rw\), granted read-only/);
      assert.match(
        refusals.altered,
        /^Error\|snapshot: the module carried has sha256 [0-9a-f]{64}, not the [0-9a-f]{64} its metadata names: the file was altered$/,
      );
      // The page's memoryLimit holds on a restore, as on a start.
      assert.match(refusals.tooBig, /^Error\|snapshot holds [\d.]+ MiB of memory, more than memoryLimit allows \(0\.0625 MiB\)$/);
      assert.match(refusals.startTooBig, /^Error\|the module starts with \d+ pages \([\d.]+ MiB\) of memory, more than limits\.memory allows \(1 pages\)$/);
      assert.equal(
        refusals.untrusted,
        'Error|snapshot is not sealed: anyone could have written it; restore it only if you trust its source, with trustUnsealed: true',
      );
    }),
);

browserTest("a snapshot taken in the page restores under drawbridge restore and continues; with leaveRunning the page's program goes on", () =>
  withSite(async (s) => {
    const taken = await s.page.evaluate(async () => {
      const d = (await import(String('/drawbridge.js'))) as typeof Api;
      let out = '';
      let answered: () => void = () => {};
      const first = new Promise<void>((resolve) => (answered = resolve));
      const r = await d.start({
        module: '/lines.prepared.wasm',
        name: 'lines.wasm',
        args: ['x'],
        mounts: ['/data'],
        files: { data: {} },
        stdout: (t: string) => {
          out += t;
          if (out.includes('1: one')) answered();
        },
      });
      r.writeStdin('one\n');
      await first;
      const snap = await r.checkpoint();
      const status = await r.done;
      const data = r.files().data as Record<string, Uint8Array>;
      let bin = '';
      for (const b of snap) bin += String.fromCharCode(b);
      return { out, capturable: r.capturable, checkpointed: status.checkpointed, snap: btoa(bin), seen: new TextDecoder().decode(data['seen.txt']) };
    });
    assert.equal(taken.capturable, true);
    assert.equal(taken.checkpointed, true);
    assert.match(taken.out, /\nready\n1: one hash=[0-9a-f]{16}\n$/);
    const dir = mkdtempSync(join(tmpdir(), 'db-browser-to-node-'));
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'seen.txt'), taken.seen);
    const file = join(dir, 'page.snap');
    writeFileSync(file, Buffer.from(taken.snap, 'base64'));
    const child = spawn(process.execPath, [BIN, 'restore', '--trust-unsealed', '--dir', `${join(dir, 'data')}::/data`, file], {
      env: { ...process.env, DRAWBRIDGE_KEY: join(dir, 'host.key') },
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdin.end('two\n');
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0, err);
    const reference = await onNode(['x'], 'one\ntwo\n', mkdtempSync(join(tmpdir(), 'db-browser-ref-')));
    assert.equal(out, reference.out.slice(reference.out.indexOf('2: two')));
    assert.equal(readFileSync(join(dir, 'data', 'seen.txt'), 'utf8'), '1 one\n2 two\n');
    // With leaveRunning the program goes on in the page, undisturbed, to the uninterrupted run's end.
    const live = await s.page.evaluate(async () => {
      const d = (await import(String('/drawbridge.js'))) as typeof Api;
      let out = '';
      let answered: () => void = () => {};
      const first = new Promise<void>((resolve) => (answered = resolve));
      const r = await d.start({
        module: '/lines.prepared.wasm',
        name: 'lines.wasm',
        args: ['x'],
        env: { GREETING: 'hi' },
        mounts: ['/data'],
        files: { data: {} },
        stdout: (t: string) => {
          out += t;
          if (out.includes('1: one')) answered();
        },
      });
      r.writeStdin('one\n');
      await first;
      const snap = await r.checkpoint({ leaveRunning: true });
      r.writeStdin('two\n');
      r.endStdin();
      return { status: await r.done, out, size: snap.length };
    });
    assert.deepEqual(live.status, { exitCode: 0 });
    assert.equal(live.out, reference.out);
    assert.ok(live.size > 65536);
  }),
);

/** The page's document, as the functions run in the page use it (this file is type-checked without the DOM). */
declare const document: { querySelector(selector: string): { textContent: string | null } | null };

/** A static server of some files of the repository (by path), the browser bundle from `bundle`. */
async function serveRepository(bundle: string): Promise<{ server: Server; base: string }> {
  const allowed = ['examples/', 'node_modules/@xterm/xterm/'];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1));
    const file =
      path === 'dist/browser/drawbridge.js' ? join(bundle, 'drawbridge.js') : allowed.some((a) => path.startsWith(a)) && !path.includes('..') ? path : null;
    let body: Buffer | null = null;
    try {
      body = file ? readFileSync(file) : null;
    } catch {
      body = null;
    }
    if (!body) return void res.writeHead(404).end();
    const ext = path.slice(path.lastIndexOf('.'));
    res.writeHead(200, { 'content-type': { '.mjs': 'text/javascript', '.css': 'text/css', ...TYPES }[ext] ?? 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

browserTest('examples/web: the greeter in a terminal, checkpointed to a download and restored from it; Life on the canvas', async () => {
  const bundle = mkdtempSync(join(tmpdir(), 'db-browser-example-'));
  await bundleForBrowser('src/browser/index.ts', bundle, 'drawbridge');
  const { server, base } = await serveRepository(bundle);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ acceptDownloads: true });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/examples/web/index.html`);
    const shows = (text: string) => page.waitForFunction((t) => document.querySelector('.xterm-rows')?.textContent?.includes(t), text);
    await page.click('#start');
    await shows('What is your name?');
    await page.click('#terminal');
    await page.keyboard.type('Ada');
    await page.keyboard.press('Enter');
    await shows('Hello, Ada! (greeting 1 of this run, 1 in all)');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#checkpoint')]);
    const file = join(bundle, 'greeter.snap');
    await download.saveAs(file);
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('checkpointed'));
    await page.setInputFiles('#restore', file);
    await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'restored greeter.snap');
    await page.click('#terminal');
    await page.keyboard.type('Bob');
    await page.keyboard.press('Enter');
    await shows('Hello, Bob! (greeting 2 of this run, 2 in all)');
    // The frame buffer: Life's cells drawn on the canvas.
    await page.click('#fb-start');
    await page.waitForFunction(() => {
      const c = document.querySelector('#fb') as unknown as {
        getContext(k: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
        width: number;
        height: number;
      };
      const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let lit = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i + 1]! > 150 && data[i]! < 150) lit++;
      return lit > 100;
    });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    server.close();
  }
});
