// Random sequences of Dk calls with random arguments, through the security monitor, on a host:
// the engine of the Dk-boundary fuzzing (test/monitor/dk-fuzz.test.ts runs a bounded smoke of
// it in `npm test`; `npm run fuzz` runs it for as long as it is told). Calls and their argument
// types come from the ABI table (src/abi/spec.ts), so a new primitive is fuzzed without a line
// here. After each sequence it checks what the monitor promises:
//  - no exception escapes a primitive, and the host never throws under the monitor (its
//    internal-error count stays 0);
//  - no handle leaks: once the caller closes every handle it was given, the picoprocess holds
//    as many as before the sequence;
//  - no access beyond the grants: a secret outside the mounts never appears in any buffer the
//    host filled, and nothing outside the mounts (or in the read-only mount) is created,
//    changed or removed.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Access, Clock, Create, OpenOption, PixelFormat, Prot, QueryOption, StreamSide, type Dk } from '../../src/abi/dk.ts';
import { isDkError } from '../../src/abi/errors.ts';
import { PRIMITIVES, type ArgSpec, type PrimitiveSpec } from '../../src/abi/spec.ts';
import type { KernelHost } from '../../src/host/kernel/kernel.ts';
import { createMemoryHost } from '../../src/host/memory/index.ts';
import { createNodeHost } from '../../src/host/node/index.ts';
import { buildManifest } from '../../src/monitor/manifest/parse.ts';
import { createMonitor, monitorUsage, policyFromManifest } from '../../src/monitor/monitor.ts';

/** What no buffer the host fills may ever contain: it lives outside every mount. */
export const SECRET = 'SECRET-7f3a91-outside-the-mounts';

/**
 * Primitives the fuzzer leaves out, and why: each needs a guest behind the picoprocess (an
 * upcall to run a thread in, a launcher to start a child) or ends the picoprocess for good.
 */
const LEFT_OUT = new Set(['threadCreate', 'threadExit', 'processExit', 'processCreate']);
const CALLS = PRIMITIVES.filter((p) => !LEFT_OUT.has(p.method));

/** One call: the primitive and, per argument, a choice the runner turns into a value. */
export interface FuzzCall {
  method: string;
  args: unknown[];
}

const INTS = [0, 1, 2, 3, 7, 16, 4096, 65535, 65536, -1, -2, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53, -(2 ** 31), 0.5, NaN, Infinity];
const GUEST_PATHS = [
  '/data',
  '/data/a.txt',
  '/data/sub',
  '/data/sub/b.txt',
  '/data/new',
  '/data/link-out',
  '/data/link-in',
  '/data/..',
  '/data/../outside/secret',
  '/ro',
  '/ro/r.txt',
  '/ro/new',
  '/',
  '/outside/secret',
  '/etc/passwd',
  '',
  '.',
  'data/a.txt',
  '/data/a.txt/',
  '/data//a.txt',
  '/data/./sub/../a.txt',
  '/data/\u0000x',
];
const OTHER_URIS = [
  'null:',
  'stdin:',
  'stdout:',
  'stderr:',
  'pipe:',
  'pipe.server:fz',
  'pipe.client:fz',
  'reset:',
  'dev:fb',
  'dev:input',
  'inherit:0',
  'tcp:127.0.0.1:1',
  'tcp.server:127.0.0.1:0',
  'udp:127.0.0.1:9',
  'dns:localhost',
  'http.server:127.0.0.1:0',
  'nope:x',
  ':',
  '',
  'file:',
  'dir:',
];

const FLAGS: Record<string, Record<string, number>> = { Access, Create, OpenOption, QueryOption, StreamSide, Prot, Clock, PixelFormat };

const uriArb = fc.oneof(
  fc.tuple(fc.constantFrom('file:', 'dir:'), fc.constantFrom(...GUEST_PATHS)).map(([s, p]) => s + p),
  fc.constantFrom(...OTHER_URIS),
  fc.string({ maxLength: 24 }),
);
const intArb = fc.oneof(fc.constantFrom(...INTS), fc.integer({ min: -8, max: 70000 }));
const bigintArb = fc.oneof(fc.constantFrom(0n, 1n, -1n, 1000n, 2n ** 63n, -(2n ** 63n)), fc.bigInt({ min: -10n, max: 10n ** 6n }));
/** A handle: one the sequence got (by index into its list) or a number nobody got. */
const handleArb = fc.oneof(
  fc.nat(40).map((i) => ({ got: i })),
  fc.constantFrom(0, -1, 1, 2, 3, 999, 2 ** 31).map((n) => ({ raw: n })),
);
const recordArb = fc.record(
  { mode: fc.integer({ min: -1, max: 0o7777 }), atimeNs: bigintArb, mtimeNs: bigintArb, nonblocking: fc.boolean(), append: fc.boolean() },
  { requiredKeys: [] },
);

function argArb(arg: ArgSpec, blocking: boolean): fc.Arbitrary<unknown> {
  switch (arg.type) {
    case 'handle':
      return handleArb;
    case 'handles':
      return fc.array(handleArb, { maxLength: 4 });
    case 'int':
      return intArb;
    case 'bigint':
      // A call that waits must not wait long: a delay of at most a microsecond.
      return blocking ? fc.constantFrom(0n, 1n, 1000n, -1n) : bigintArb;
    case 'bigint?':
      // Waits must not wait: no timeout would block on an object nobody signals.
      return fc.constantFrom(0n, 1n, -1n);
    case 'bool':
      return fc.boolean();
    case 'string':
      return arg.name === 'text' ? fc.string({ maxLength: 40 }) : uriArb;
    case 'strings':
      return fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 });
    case 'bytes-in':
      return fc.uint8Array({ maxLength: 64 });
    case 'bytes-out':
      return fc.integer({ min: 0, max: 4096 }).map((n) => ({ out: n }));
    case 'record':
      return recordArb;
    default: {
      // flags:NAME: a set of the defined bits most of the time, any bits some of the time.
      const bits = Object.values(FLAGS[arg.type.slice('flags:'.length)] ?? {});
      const defined = fc.subarray(bits).map((set) => set.reduce((a, b) => a | b, 0));
      return fc.oneof(
        { weight: 8, arbitrary: defined },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
        { weight: 1, arbitrary: fc.constantFrom(-1, 2 ** 31) },
      );
    }
  }
}

/** Arguments that make calls reach the host more often than uniform flags would. */
const LIKELY: Record<string, Record<string, fc.Arbitrary<unknown>>> = {
  streamOpen: {
    access: fc.constantFrom(Access.READ, Access.WRITE, Access.READ | Access.WRITE, Access.WRITE | Access.APPEND, 0),
    create: fc.constantFrom(0, 0, Create.CREATE, Create.CREATE | Create.TRUNCATE, Create.CREATE | Create.EXCLUSIVE),
    options: fc.constantFrom(0, 0, 0, OpenOption.DIRECTORY, OpenOption.NO_FOLLOW, OpenOption.PATH_ONLY),
  },
  streamAttributesQuery: { options: fc.constantFrom(0, QueryOption.NO_FOLLOW) },
};
/** How often each primitive is drawn: opens (which make the handles the rest use) most. */
const WEIGHT: Record<string, number> = {
  streamOpen: 12,
  streamRead: 4,
  streamWrite: 4,
  streamEnumerateChildren: 3,
  streamRename: 3,
  streamLinkCreate: 3,
  streamDelete: 3,
};

const callArb: fc.Arbitrary<FuzzCall> = fc.oneof(
  ...CALLS.map((p: PrimitiveSpec) => ({
    weight: WEIGHT[p.method] ?? 1,
    arbitrary: fc
      .tuple(
        ...p.args.map((a) =>
          LIKELY[p.method]?.[a.name] ? fc.oneof({ weight: 4, arbitrary: LIKELY[p.method]![a.name]! }, argArb(a, p.blocking)) : argArb(a, p.blocking),
        ),
      )
      .map((args) => ({ method: p.method, args }) as FuzzCall),
  })),
);
export const sequenceArb = fc.array(callArb, { minLength: 1, maxLength: 40 });

/** A host with a tree to fuzz in: /data (rw) and /ro (ro) mounted, an outside folder beside them. */
export interface FuzzWorld {
  name: string;
  host: KernelHost;
  root: string;
  /** The picoprocess of the embedder, unmonitored: sets the tree up and looks at it. */
  admin: Dk;
  /** A listing of everything outside /data: path -> contents (or "dir"/"link"). */
  outsideState(): Map<string, string>;
  dispose(): void;
}

const R = Access.READ;
const W = Access.WRITE;

export function createWorld(name: 'node' | 'memory'): FuzzWorld {
  const host = name === 'node' ? createNodeHost() : createMemoryHost();
  const admin = host.createProcess().dk;
  const root = name === 'node' ? mkdtempSync(join(tmpdir(), 'drawbridge-fuzz-')) : '/w';
  const mkdir = (p: string) => {
    if (name === 'node') mkdirSync(p, { recursive: true });
    else admin.streamOpen(`dir:${p}`, R, Create.CREATE, 0);
  };
  const write = (p: string, text: string) => {
    if (name === 'node') return writeFileSync(p, text);
    const h = admin.streamOpen(`file:${p}`, W, Create.CREATE | Create.TRUNCATE, 0) as number;
    admin.streamWrite(h, 0, new TextEncoder().encode(text));
    admin.objectClose(h);
  };
  const link = (p: string, target: string) => {
    if (name === 'node') symlinkSync(target, p);
    else admin.streamLinkCreate(`file:${p}`, target, true);
  };
  if (name === 'memory') {
    mkdir('/w');
    mkdir('/etc');
    write('/etc/passwd', SECRET);
  }
  for (const d of ['data', 'data/sub', 'ro', 'outside']) mkdir(`${root}/${d}`);
  write(`${root}/data/a.txt`, 'hello');
  write(`${root}/data/sub/b.txt`, 'b');
  write(`${root}/ro/r.txt`, 'read only');
  write(`${root}/outside/secret`, SECRET);
  link(`${root}/data/link-out`, '../outside/secret');
  link(`${root}/data/link-in`, 'a.txt');
  const outsideState = (): Map<string, string> => {
    const state = new Map<string, string>();
    const walk = (dir: string) => {
      for (const entry of listDir(dir)) {
        const path = `${dir}/${entry}`;
        const kind = statKind(path);
        state.set(path, kind === 'file' ? readText(path) : kind);
        if (kind === 'dir') walk(path);
      }
    };
    const listDir = (dir: string): string[] => {
      if (name === 'node') return readdirSync(dir).sort();
      const h = admin.streamOpen(`dir:${dir}`, R, 0, OpenOption.DIRECTORY);
      if (isDkError(h)) return [];
      const entries = admin.streamEnumerateChildren(h);
      admin.objectClose(h);
      return isDkError(entries) ? [] : entries.map((e) => e.name).sort();
    };
    const statKind = (path: string): string => {
      if (name === 'node') {
        const s = statSync(path, { throwIfNoEntry: false });
        return s === undefined ? 'link' : s.isDirectory() ? 'dir' : 'file';
      }
      const a = admin.streamAttributesQuery(`file:${path}`, 0);
      return isDkError(a) ? 'link' : a.kind === 'directory' ? 'dir' : 'file';
    };
    const readText = (path: string): string => {
      if (name === 'node') return readFileSync(path, 'latin1');
      const h = admin.streamOpen(`file:${path}`, R, 0, 0);
      if (isDkError(h)) return '?';
      const buf = new Uint8Array(1 << 16);
      const n = admin.streamRead(h, 0, buf);
      admin.objectClose(h);
      return isDkError(n) ? '?' : new TextDecoder('latin1').decode(buf.subarray(0, n));
    };
    // Everything but the read-write mount: the outside folder, the read-only mount, and the
    // root's own entries (a file created beside the mounts would show there).
    for (const entry of listDir(root)) {
      if (entry === 'data') continue;
      const path = `${root}/${entry}`;
      const kind = statKind(path);
      state.set(path, kind === 'file' ? readText(path) : kind);
      if (kind === 'dir') walk(path);
    }
    if (name === 'memory') state.set('/etc/passwd', readText('/etc/passwd'));
    return state;
  };
  return {
    name,
    host,
    root,
    admin,
    outsideState,
    dispose: () => {
      if (name === 'node' && existsSync(root)) rmSync(root, { recursive: true, force: true });
    },
  };
}

function policyFor(root: string) {
  const r = buildManifest({
    mounts: [
      { host: `${root}/data`, guest: '/data', mode: 'rw' },
      { host: `${root}/ro`, guest: '/ro', mode: 'ro' },
    ],
    limits: { handles: 64, children: 0, memory: '4MiB', bytes_written: '1MiB' },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return policyFromManifest(r.manifest);
}

const SECRET_BYTES = new TextEncoder().encode(SECRET);
function containsSecret(bytes: Uint8Array): boolean {
  outer: for (let i = 0; i + SECRET_BYTES.length <= bytes.length; i++) {
    for (let j = 0; j < SECRET_BYTES.length; j++) if (bytes[i + j] !== SECRET_BYTES[j]) continue outer;
    return true;
  }
  return false;
}

/** What a sequence broke, or null when every promise held. */
export async function runSequence(world: FuzzWorld, calls: readonly FuzzCall[], stats?: Map<string, number>): Promise<string | null> {
  const proc = world.host.createProcess();
  proc.attachMemory(new WebAssembly.Memory({ initial: 1, maximum: 64 }));
  const dk = createMonitor(proc.dk, policyFor(world.root));
  const handleCount = (): number => {
    const n = (proc as unknown as { handleCount?: unknown }).handleCount;
    if (typeof n !== 'number') throw new Error('the host does not report its handle count');
    return n;
  };
  const baseline = handleCount();
  const got: number[] = [];
  const refs = new Map<number, number>();
  const value = (spec: ArgSpec, choice: unknown): unknown => {
    if (spec.type === 'handle') return handleValue(choice);
    if (spec.type === 'handles') return (choice as unknown[]).map(handleValue);
    if (spec.type === 'bytes-out') return new Uint8Array((choice as { out: number }).out);
    return choice;
  };
  const handleValue = (choice: unknown): number => {
    const c = choice as { got?: number; raw?: number };
    if (c.got !== undefined) return got.length ? got[c.got % got.length]! : 0;
    return c.raw!;
  };
  for (const call of calls) {
    const spec = PRIMITIVES.find((p) => p.method === call.method)!;
    const args = spec.args.map((a, i) => value(a, call.args[i]));
    let result: unknown;
    try {
      result = (dk as any)[call.method](...args);
      if (spec.blocking) result = await result;
    } catch (e) {
      return `${call.method}(${describe(args)}) threw: ${(e as Error)?.stack ?? e}`;
    }
    if (stats) {
      const key = `${call.method} ${typeof result === 'number' && isDkError(result) ? 'error' : 'ok'}`;
      stats.set(key, (stats.get(key) ?? 0) + 1);
    }
    if (result instanceof Uint8Array && containsSecret(result)) return `${call.method}(${describe(args)}) returned the secret`;
    for (let i = 0; i < spec.args.length; i++) {
      if (spec.args[i]!.type === 'bytes-out' && containsSecret(args[i] as Uint8Array)) return `${call.method}(${describe(args)}) read the secret`;
    }
    if (typeof result === 'number' && !isDkError(result)) {
      if (spec.result === 'handle') {
        got.push(result);
        refs.set(result, (refs.get(result) ?? 0) + 1);
      } else if (call.method === 'objectReference' && refs.has(args[0] as number)) {
        refs.set(args[0] as number, refs.get(args[0] as number)! + 1);
      } else if (call.method === 'objectClose' && refs.has(args[0] as number)) {
        const left = refs.get(args[0] as number)! - 1;
        if (left === 0) refs.delete(args[0] as number);
        else refs.set(args[0] as number, left);
      }
    }
  }
  const usage = monitorUsage(dk)!;
  if (usage.internalErrors > 0) return `the host threw under the monitor ${usage.internalErrors} time(s)`;
  for (const [h, n] of refs) for (let i = 0; i < n; i++) dk.objectClose(h);
  // Mappings hold nothing the handle count sees; pipes a server listens on are handles.
  if (handleCount() !== baseline) return `handles leaked: ${handleCount()} held after closing all, ${baseline} before`;
  proc.kill(0);
  return null;
}

function describe(args: unknown[]): string {
  return args
    .map((a) => (a instanceof Uint8Array ? `bytes(${a.length})` : typeof a === 'bigint' ? `${a}n` : JSON.stringify(a)))
    .join(', ')
    .slice(0, 300);
}

/**
 * Runs sequences, each on a fresh tree of the host, until `runs` are done or `seconds` pass; the
 * first failure is thrown, shrunk, with the seed and path fast-check gives to replay it.
 */
export async function fuzzDk(host: 'node' | 'memory', opts: { seed: number; runs: number; seconds: number }): Promise<number> {
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(sequenceArb, async (calls) => {
      runs++;
      // A fresh tree per run, so that a failure shrinks to the calls that caused it.
      const world = createWorld(host);
      try {
        const before = world.outsideState();
        const broken = await runSequence(world, calls);
        if (broken) throw new Error(broken);
        const after = world.outsideState();
        for (const [path, state] of before) if (after.get(path) !== state) throw new Error(`outside the mounts, ${path.slice(world.root.length)} changed`);
        for (const path of after.keys()) if (!before.has(path)) throw new Error(`outside the mounts, ${path.slice(world.root.length)} appeared`);
      } finally {
        world.dispose();
      }
    }),
    { seed: opts.seed, numRuns: opts.runs, interruptAfterTimeLimit: opts.seconds * 1000, markInterruptAsFailure: false, includeErrorInReport: true },
  );
  return runs;
}
