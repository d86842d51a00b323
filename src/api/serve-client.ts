// A client of a running `drawbridge serve`, for the public API: the control API's routes
// (docs/serve.md) as typed methods, over src/server/client.ts, the client the CLI's ps, spawn,
// kill, logs, checkpoint and restore use. Checkpoints are sealed with the host key on the way
// out and their seal checked on the way in, as `drawbridge checkpoint --host` and
// `drawbridge restore --host` do, so a file one writes the other reads.

import { resolve } from 'node:path';
import type { Connection } from '../server/connection-file.ts';
import { call, connectionFor, type CallOptions } from '../server/client.ts';
import type { ProcessInfo } from '../server/supervisor.ts';
import { ensureKey, keyPath, seal } from '../checkpoint/seal.ts';
import { writeFileAtomic } from '../checkpoint/snapshot.ts';
import { openSealedBytes, readSnapshotBytes } from '../checkpoint/snapshot-file.ts';
import { publicErrors } from './errors.ts';

/** Where the daemon is. Without any, the one `drawbridge ps` finds: `$DRAWBRIDGE_URL` or `$DRAWBRIDGE_SOCKET` with `$DRAWBRIDGE_TOKEN`, else the connection file `drawbridge serve` wrote. */
export interface ServeClientOptions {
  /** The daemon's URL (`http://127.0.0.1:7070`); give `token` with it. */
  url?: string;
  /** The daemon's unix socket; give `token` with it. */
  socket?: string;
  /** The daemon's bearer token. */
  token?: string;
  /** A daemon's name (`drawbridge serve --name NAME`) or its connection file (`*.json`), as `--host WHERE`. */
  daemon?: string;
}

/** A picoprocess of the daemon, as `drawbridge ps --json` shows it. */
export interface ServeProcessInfo {
  /** Its id in the daemon (what kill, logs and checkpoint take). */
  id: number;
  /** The module's name. */
  name: string;
  /** argv, argv[0] first. */
  args: string[];
  /** `'starting'`, `'running'`, `'exited'` or `'checkpointed'`. */
  state: 'starting' | 'running' | 'exited' | 'checkpointed';
  /** Its exit code once it ended (null while it runs). */
  exitCode: number | null;
  /** A trap's or a stop's one-line message. */
  error: string | null;
  /** Why it ended, in one line (`exited 0`, `killed`, `trap: ...`); null while it runs. */
  reason: string | null;
  /** A trap's WebAssembly frames, innermost first. */
  backtrace?: string[];
  /** When it started (ISO 8601). */
  startedAt: string;
  /** When it ended (ISO 8601), null while it runs. */
  endedAt: string | null;
  /** CPU time used, in milliseconds. */
  cpuMs: number;
  /** Bytes of linear memory it has. */
  memoryBytes: number;
  /** Bytes written to stdout so far. */
  stdoutBytes: number;
  /** Bytes written to stderr so far. */
  stderrBytes: number;
  /** Whether it can be checkpointed (and moved). */
  capturable: boolean;
  /** What its checkpoint is: a memory snapshot, a durable log, or none. */
  capture: 'snapshot' | 'log' | null;
  /** Its limits (bytes, milliseconds, counts). */
  limits: { memory: number; handles: number; children: number; cpuTimeMs: number; bytesWritten: number };
  /** The daemon's worker thread it runs on. */
  worker?: number;
  /** In a cluster: the host it runs on. */
  host?: string;
}

/** What {@link ServeClient.spawn} takes: the module and what it is granted (nothing by default). */
export interface ServeSpawnOptions {
  /** The module's path on the daemon's machine (a relative path is taken from this process's current directory). */
  module: string;
  /** Arguments after argv[0]. */
  args?: readonly string[];
  /** A manifest: its TOML text, or the same data as an object. */
  manifest?: string | Record<string, unknown>;
  /** Directories to mount: `"HOST::GUEST"` or `"DIR"`, as `drawbridge spawn --dir` (host paths made absolute here). */
  dirs?: readonly string[];
  /** Environment variables the guest sees. */
  env?: Readonly<Record<string, string>>;
  /** Text for its stdin (more can be written with {@link ServeClient.writeStdin}). */
  stdin?: string;
  /** End its stdin after `stdin`. */
  closeStdin?: boolean;
  /** Log mode: its durable log is its checkpoint (docs/durable.md). */
  durable?: boolean;
}

/** A picoprocess the daemon started, with the daemon's warning when it runs other than asked (cannot be checkpointed, its manifest's args won). */
export interface ServeSpawned extends ServeProcessInfo {
  /** One line, when the daemon had something to say about the start. */
  warning?: string;
}

// The public description of a picoprocess must stay what the daemon sends.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const sameInfo: Same<Omit<ServeProcessInfo, 'host'>, ProcessInfo> = true;
void sameInfo;

/** Which output stream. */
export type OutputStream = 'stdout' | 'stderr';

/**
 * A client of a running `drawbridge serve` daemon: spawn, list, wait for, kill, read the logs of,
 * write to, checkpoint and restore its picoprocesses. Each method rejects with a
 * {@link ServeError} (its HTTP status, or 0 when the daemon cannot be reached).
 *
 * @example
 * ```ts
 * const daemon = new ServeClient();            // the daemon `drawbridge serve` started here
 * const p = await daemon.spawn({ module: 'hello.wasm', args: ['you'] });
 * await daemon.wait(p.id);
 * console.log(new TextDecoder().decode(await daemon.logs(p.id)));
 * ```
 */
export class ServeClient {
  readonly #options: ServeClientOptions;
  #connection: Connection | null = null;

  /** @param options - where the daemon is (default: found as `drawbridge ps` finds it) */
  constructor(options: ServeClientOptions = {}) {
    this.#options = { ...options };
  }

  /** Start a picoprocess in the daemon. */
  spawn(options: ServeSpawnOptions): Promise<ServeSpawned> {
    const body: Record<string, unknown> = {
      module: resolve(options.module),
      args: [...(options.args ?? [])],
      // The daemon resolves nothing relative to its own directory: absolute host paths, as spawn sends.
      dirs: (options.dirs ?? []).map((d) => {
        const sep = d.indexOf('::');
        return sep >= 0 ? `${resolve(d.slice(0, sep))}::${d.slice(sep + 2)}` : `${resolve(d)}::${d.startsWith('/') ? d : '/' + d}`;
      }),
      env: { ...(options.env ?? {}) },
    };
    if (options.manifest !== undefined) body.manifest = options.manifest;
    if (options.stdin !== undefined) body.stdin = options.stdin;
    if (options.closeStdin) body.closeStdin = true;
    if (options.durable) body.durable = true;
    return this.#call('POST', '/v1/processes', { body }).then((a: { process: ServeProcessInfo; warning?: string }) =>
      a.warning === undefined ? a.process : { ...a.process, warning: a.warning },
    );
  }

  /** The daemon's picoprocesses (running, and those that ended recently). */
  async list(): Promise<ServeProcessInfo[]> {
    return ((await this.#call('GET', '/v1/processes')) as { processes: ServeProcessInfo[] }).processes;
  }

  /** One picoprocess, as it is now. */
  async get(id: number): Promise<ServeProcessInfo> {
    return ((await this.#call('GET', `/v1/processes/${idOf(id)}`)) as { process: ServeProcessInfo }).process;
  }

  /** Resolves when the picoprocess has ended, with how. */
  async wait(id: number): Promise<ServeProcessInfo> {
    return ((await this.#call('GET', `/v1/processes/${idOf(id)}/wait`)) as { process: ServeProcessInfo }).process;
  }

  /** Stop a picoprocess (status 137). */
  async kill(id: number): Promise<ServeProcessInfo> {
    return ((await this.#call('POST', `/v1/processes/${idOf(id)}/kill`)) as { process: ServeProcessInfo }).process;
  }

  /** Forget a picoprocess that ended (its output goes with it). */
  async remove(id: number): Promise<void> {
    await this.#call('DELETE', `/v1/processes/${idOf(id)}`);
  }

  /** What the daemon holds of its output so far (its last bytes when there was much). */
  async logs(id: number, stream: OutputStream = 'stdout'): Promise<Uint8Array> {
    return (await this.#call('GET', `/v1/processes/${idOf(id)}/${streamOf(stream)}`)) as Uint8Array;
  }

  /** Its output as it comes, from what the daemon holds: `onData` gets each chunk; resolves when the picoprocess has ended and all was given. */
  async follow(id: number, onData: (chunk: Uint8Array) => void, stream: OutputStream = 'stdout'): Promise<void> {
    await this.#call('GET', `/v1/processes/${idOf(id)}/${streamOf(stream)}?follow=1`, { onData });
  }

  /** Write to its stdin (`close`: then end it); resolves with the bytes taken. The daemon refuses more than 1 MiB waiting unread (status 429). */
  async writeStdin(id: number, data: Uint8Array | string, close = false): Promise<number> {
    const raw = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    return ((await this.#call('POST', `/v1/processes/${idOf(id)}/stdin${close ? '?close=1' : ''}`, { raw })) as { accepted: number }).accepted;
  }

  /**
   * Checkpoint a picoprocess: its snapshot (or log checkpoint, in log mode) sealed with this host's
   * key, as `drawbridge checkpoint --host` writes it. Without `leaveRunning` it then stops.
   */
  async checkpoint(id: number, options: { leaveRunning?: boolean; keyFile?: string; file?: string } = {}): Promise<Uint8Array> {
    const plain = (await this.#call('POST', `/v1/processes/${idOf(id)}/checkpoint${options.leaveRunning ? '?leave_running=1' : ''}`)) as Uint8Array;
    return publicErrors(async () => {
      const sealed = seal(plain, ensureKey(keyPath(options.keyFile)).key);
      if (options.file !== undefined) writeFileAtomic(resolve(options.file), sealed);
      return sealed;
    });
  }

  /**
   * Continue a checkpoint as a new picoprocess of the daemon (with the daemon's default grants,
   * none), as `drawbridge restore --host`: its bytes or a file, its seal checked here with this
   * host's key (or `keyFiles`) unless `trustUnsealed`.
   */
  async restore(
    snapshot: Uint8Array | string,
    options: { keyFiles?: readonly string[]; trustUnsealed?: boolean; worker?: number } = {},
  ): Promise<ServeProcessInfo> {
    const plain = await publicErrors(async () => {
      const name = typeof snapshot === 'string' ? snapshot : 'snapshot';
      const bytes = typeof snapshot === 'string' ? readSnapshotBytes(snapshot) : snapshot;
      return openSealedBytes(bytes, name, { keyFiles: options.keyFiles, trustUnsealed: options.trustUnsealed }).bytes;
    });
    const query = options.worker === undefined ? '' : `?worker=${idOf(options.worker)}`;
    return ((await this.#call('POST', `/v1/restore${query}`, { raw: plain })) as { process: ServeProcessInfo }).process;
  }

  #call(method: string, path: string, options: CallOptions = {}): Promise<any> {
    return publicErrors(async () => call((this.#connection ??= this.#connect()), method, path, options));
  }

  #connect(): Connection {
    const o = this.#options;
    if (o.token !== undefined && (o.url !== undefined || o.socket !== undefined)) return { url: o.url, socket: o.socket, token: o.token };
    if (o.url !== undefined || o.socket !== undefined) return { ...connectionFor(o.url ?? `unix:${o.socket}`) };
    return connectionFor(o.daemon);
  }
}

function idOf(id: number): number {
  if (!Number.isSafeInteger(id) || id <= 0) throw new RangeError(`not a picoprocess id: ${id}`);
  return id;
}

function streamOf(s: OutputStream): OutputStream {
  if (s !== 'stdout' && s !== 'stderr') throw new RangeError(`expected 'stdout' or 'stderr', got ${String(s)}`);
  return s;
}
