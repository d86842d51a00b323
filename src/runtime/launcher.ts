// The ProcessLauncher behind DkProcessCreate: starts a child picoprocess from a module URI.
//
//   parent guest --drawbridge.process_spawn--> libos --DkProcessCreate--> monitor (maps the
//   guest path through the parent's mounts, counts limits.children) --> host --> this launcher
//
// What a child gets (docs/processes.md, "What a child inherits"):
// - Its manifest is the parent's manifest with limits.children = 0 (no grandchildren) and with
//   args and env replaced by what the spawn call gave. So a child sees at most the mounts and
//   network grants of its parent, each limit applies to it afresh, and it cannot spawn.
// - Its environment is exactly the envp of the spawn call (never the parent's implicitly). The
//   library OS passes it in DkProcessCreate's args after the ENV_MARKER entry, which contains a
//   NUL byte and so can never be a C argument.
// - Its stdio is the three streams the parent handed over (request.stdio), null: where none.
// - It runs on the parent's host, on the same event loop, wrapped by the same extensions.
// - It is prepared like any picoprocess (prepare.ts, 'auto'), compiled under its limits.memory
//   and governed by its own limits.cpu_time (picoprocess.ts, startCommand); on a shared thread
//   (PicoprocessOptions.sharedThread) one that cannot be preempted is refused (126).
//
// Exit codes the parent sees (DkProcessGetExitCode): the child's own; 137 (128 + SIGKILL)
// when killed; 126 when the module could not be started after DkProcessCreate returned
// (instantiation failed, no _start). Anything that can be found out synchronously (no such
// file, not Wasm, invalid module) is DkProcessCreate's error instead.

import { Access, OpenOption, type Dk, type DkResult } from '../abi/dk.ts';
import { DkError, isDkError } from '../abi/errors.ts';
import { PRIMITIVES } from '../abi/spec.ts';
import { CANNOT_EXECUTE_EXIT_CODE, KILLED_EXIT_CODE } from '../abi/exit-status.ts';
import type { Picoprocess, ProcessLauncher } from '../host/kernel/host.ts';
import { KObject, drop, retain } from '../host/kernel/kobject.ts';
import { ProcExit } from '../libos/index.ts';
import type { Manifest } from '../monitor/manifest/manifest.ts';
import { contentHash } from './module-cache.ts';
import { compileImage, isPreemptible, prepareImage, snapshotImage, startOptions } from './load.ts';
import { tuneV8ForManyMemories } from './v8-tuning.ts';
import { takeFork } from '../checkpoint/fork.ts';
import type { ExitStatus, PicoprocessOptions, Running } from './picoprocess-types.ts';

/** In DkProcessCreate's args: the entries after this one are the child's NAME=VALUE environment. */
export const ENV_MARKER = '\0env';

type StartCommand = (options: PicoprocessOptions) => Promise<Running>;

/** Split DkProcessCreate's args into argv and the environment (see ENV_MARKER). */
export function splitChildArgs(args: readonly string[]): { argv: string[]; env: Record<string, string> } {
  const at = args.indexOf(ENV_MARKER);
  const argv = at < 0 ? [...args] : args.slice(0, at);
  const env: Record<string, string> = {};
  if (at >= 0) {
    for (const entry of args.slice(at + 1)) {
      const eq = entry.indexOf('=');
      // Entries without '=' or with NUL are not variables; a C environ could not hold them.
      if (eq <= 0 || entry.includes('\0')) continue;
      env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
  }
  return { argv, env };
}

/** The manifest of a child of a picoprocess with manifest `parent` (the rule above). */
export function childManifest(parent: Manifest, env: Record<string, string>): Manifest {
  return {
    ...parent,
    mounts: parent.mounts.map((m) => ({ ...m })),
    env: { ...env },
    args: null,
    network: { connect: [...parent.network.connect], listen: [...parent.network.listen] },
    limits: { ...parent.limits, children: 0 },
  };
}

/** Modules already validated, by content hash: a pipeline spawning one module often pays once. */
const validated = new Set<string>();

/**
 * Read the module at a host URI through the parent's host Dk (below the monitor, which has
 * already mapped and checked the guest path): works on every host, the in-memory one included.
 */
function readImage(dk: Dk, uri: string): DkResult<Uint8Array> {
  // The monitor resolved every link of the guest path: following none here keeps a link
  // swapped in since then from leading outside the mounts.
  const h = dk.streamOpen(uri, Access.READ, 0, OpenOption.NO_FOLLOW);
  if (isDkError(h)) return h;
  const image = dk.streamMapPeBinary(h);
  dk.objectClose(h);
  if (isDkError(image)) return image === DkError.WRONG_HANDLE_TYPE ? DkError.IS_A_DIRECTORY : image;
  const key = contentHash(image);
  if (!validated.has(key)) {
    if (!WebAssembly.validate(image)) return DkError.INVALID_ARGUMENT;
    validated.add(key);
  }
  return image;
}

/**
 * A Dk layer for a child that makes a kill take effect: once the child is killed, every call
 * answers EXITED, and this layer turns that answer into an unwind of the guest (ProcExit), so
 * a killed child stops at its next call instead of carrying on with errors. Its methods are on
 * one prototype, made once: a child (a fork) costs this layer one small object.
 */
class StopWhenKilled {
  readonly lower: Dk;
  readonly state: { killed: boolean };
  constructor(lower: Dk, state: { killed: boolean }) {
    this.lower = lower;
    this.state = state;
  }
}
const killedExit = (): never => {
  throw new ProcExit(KILLED_EXIT_CODE);
};
{
  type Self = { lower: Record<string, (...a: unknown[]) => unknown>; state: { killed: boolean } };
  const proto = StopWhenKilled.prototype as unknown as Record<string, unknown>;
  for (const spec of PRIMITIVES) {
    const method = spec.method;
    proto[method] = spec.blocking
      ? function (this: Self, ...a: unknown[]) {
          return (this.lower[method]!(...a) as Promise<unknown>).then((r) => (r === DkError.EXITED && this.state.killed ? killedExit() : r));
        }
      : function (this: Self, ...a: unknown[]) {
          const r = this.lower[method]!(...a);
          return r === DkError.EXITED && this.state.killed ? killedExit() : r;
        };
  }
  // The data path without the rest-argument array (a hot path: `node bench/run.ts pipe`).
  proto.streamRead = function (this: StopWhenKilled, h: number, offset: number, buffer: Uint8Array) {
    const r = this.lower.streamRead(h, offset, buffer);
    return r === DkError.EXITED && this.state.killed ? killedExit() : r;
  };
  proto.streamWrite = function (this: StopWhenKilled, h: number, offset: number, data: Uint8Array) {
    const r = this.lower.streamWrite(h, offset, data);
    return r === DkError.EXITED && this.state.killed ? killedExit() : r;
  };
}
function stopWhenKilled(lower: Dk, state: { killed: boolean }): Dk {
  return new StopWhenKilled(lower, state) as unknown as Dk;
}

/**
 * The launcher for children of the picoprocess described by `parent` (its options as given to
 * startCommand). `start` is startCommand, passed in to keep the module graph acyclic.
 */
export function createChildLauncher(parent: PicoprocessOptions, start: StartCommand): ProcessLauncher {
  return (request) => {
    if (request.uri.startsWith('fork:')) {
      // A fork child: the parent's snapshot (fork.ts), restored with the parent's grants less children.
      const snapshot = takeFork(request.uri, request.parent.id);
      if (!snapshot) return DkError.NOT_FOUND;
      // Every child is a new Wasm memory: V8's GC is told to count them as such (v8-tuning.ts).
      tuneV8ForManyMemories();
      return superviseChild(request, async (wrapDk) => {
        const image = snapshotImage(snapshot.module!, snapshot.meta);
        // The parent's own compiled module when the snapshot carries its bytes (always, for a
        // fork): compiling again would first hash the module, a large share of a fork's cost
        // (docs/snapshot.md, "fork").
        const compiled =
          snapshot.module === parent.capture?.moduleBytes
            ? { image, module: parent.module, tierUp: false }
            : await compileImage(image, { memoryLimit: parent.manifest.limits.memory });
        return start({
          ...childBase(parent, request, childManifest(parent.manifest, snapshot.meta.env), wrapDk),
          ...startOptions(compiled, { restore: snapshot, forkChild: true }),
          args: snapshot.meta.args,
        });
      });
    }
    const { argv, env } = splitChildArgs(request.args);
    const image = readImage(request.parent.dk, request.uri);
    if (isDkError(image)) return image;
    return superviseChild(request, async (wrapDk) => {
      // Prepared like any picoprocess (the tick counter: preempted, its CPU quota checked as it
      // computes), under the parent's limits; one that cannot be preempted is refused where it
      // would share its thread with others (a host service's worker).
      const loaded = await prepareImage(image, request.uri, 'auto');
      if (parent.sharedThread && !isPreemptible(loaded)) throw new Error(`${request.uri}: a child that cannot be preempted would hold a shared thread`);
      const manifest = childManifest(parent.manifest, env);
      return start({
        ...childBase(parent, request, manifest, wrapDk),
        ...startOptions(await compileImage(loaded, { memoryLimit: manifest.limits.memory })),
        args: argv.length > 0 ? argv : [request.uri.slice(request.uri.indexOf(':') + 1)],
      });
    });
  };
}

type LaunchRequest = Parameters<ProcessLauncher>[0];

/** What every child gets from its parent: the host, stdio streams, extensions (and the kill switch). */
function childBase(parent: PicoprocessOptions, request: LaunchRequest, manifest: Manifest, wrapDk: (dk: Dk) => Dk) {
  return {
    host: parent.host,
    manifest,
    stdin: 'null' as const,
    stdout: 'null' as const,
    stderr: 'null' as const,
    stdioStreams: request.stdio,
    wrapDk: (dk: Dk) => wrapDk(parent.wrapDk ? parent.wrapDk(dk) : dk),
    sharedThread: parent.sharedThread,
  };
}

/**
 * Start a child with `begin` and follow it: its exit code for DkProcessGetExitCode, and kill.
 * The child's DkProcess takes its own references on its stdio streams when it is made, after
 * an asynchronous compile; until then this holds them, or the parent closing its handles right
 * after DkProcessCreate would shut a pipe end nobody has yet.
 */
function superviseChild(request: LaunchRequest, begin: (wrapDk: (dk: Dk) => Dk) => Promise<Running>): ReturnType<ProcessLauncher> {
  const held = request.stdio.filter((s): s is KObject => s instanceof KObject);
  for (const s of held) retain(s);
  const state = { killed: false };
  let child: Picoprocess | null = null;
  const run = async (): Promise<number> => {
    let running: Running;
    try {
      if (state.killed) return KILLED_EXIT_CODE;
      running = await begin((dk) => stopWhenKilled(dk, state));
    } catch {
      // Not a command (no _start, no memory), or its imports could not be bound.
      return CANNOT_EXECUTE_EXIT_CODE;
    } finally {
      for (const s of held) drop(s);
    }
    child = running.process;
    if (state.killed) child.kill(KILLED_EXIT_CODE);
    let status: ExitStatus;
    try {
      status = await running.done;
    } catch {
      status = { exitCode: CANNOT_EXECUTE_EXIT_CODE };
    }
    if (state.killed) return KILLED_EXIT_CODE;
    // A negative code would read as a DkError in DkProcessGetExitCode.
    return status.exitCode >= 0 ? status.exitCode : CANNOT_EXECUTE_EXIT_CODE;
  };
  return {
    exited: run(),
    kill: () => {
      if (state.killed) return;
      state.killed = true;
      (child as Picoprocess | null)?.kill(KILLED_EXIT_CODE);
    },
  };
}
