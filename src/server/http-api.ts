// The control API of `drawbridge serve`: HTTP/1.1 + JSON over loopback TCP or a unix socket,
// every request authenticated with `Authorization: Bearer TOKEN` (docs/serve.md lists the
// routes), or with the session cookie of the web console served at `/` (console/: its files,
// its login, the CSRF rules, its event stream, its frame-buffer view). The token (or a session
// bought with it) is the whole of the access control: whoever holds it may run programs
// with any grant on this host, as the user the daemon runs as. So the daemon listens only on
// loopback addresses or a unix socket (made 0600), and compares tokens in constant time.
//
// Request bodies are bounded (JSON: 1 MiB; stdin chunks: 1 MiB; snapshots: 1 GiB); a larger one is
// answered 413, its rest read and thrown away (up to 64 MiB more) so the answer arrives. Errors are
// JSON { "error": "one line" } with a status code that says whose fault it was.

import { tokenMatcher } from './token.ts';
import { Access } from './console/access.ts';
import { EventHub, type EventsOptions } from './console/events.ts';
import { FrameRoutes } from './console/frame-routes.ts';
import { SessionTable } from './console/sessions.ts';
import { serveConsoleFile } from './console/static-files.ts';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { withCliGrants, type Manifest } from '../monitor/manifest/manifest.ts';
import { buildManifest, parseManifest } from '../monitor/manifest/parse.ts';
import { ModuleError } from '../runtime/module-cache.ts';
import { MemoryLimitError } from '../runtime/quotas.ts';
import { SnapshotError } from '../checkpoint/snapshot.ts';
import { GuestError } from '../libos/index.ts';
import type { WarmUpResult } from './pool/warm-up.ts';
import type { Pool } from './pool/pool.ts';
import { SupervisorError, type ProcessInfo } from './supervisor.ts';
import type { ClusterMember, ForwardedAnswer } from './cluster/cluster.ts';
import type { Failover } from './cluster/failover.ts';

const JSON_LIMIT = 1024 * 1024;
const STDIN_LIMIT = 1024 * 1024;
const SNAPSHOT_LIMIT = 1024 ** 3;
/** Most picoprocesses one POST /v1/processes may start (`count`). */
const BATCH_LIMIT = 10000;

/** POST /v1/processes */
export interface SpawnBody {
  /** Absolute path of the module on the daemon's machine. */
  module: string;
  args?: string[];
  /** Manifest text (TOML) or data (the TOML's shape); default: nothing granted, default limits. */
  manifest?: string | Record<string, unknown>;
  /** Added grants, as `drawbridge run` spells them: "HOST[::GUEST]" with an absolute HOST. */
  dirs?: string[];
  env?: Record<string, string>;
  /** Text for stdin; with closeStdin the guest then reads end of input. */
  stdin?: string;
  closeStdin?: boolean;
  /** Start this many alike (a batch; default 1): the answer lists them all. */
  count?: number;
  /** Log mode (docs/durable.md): a durable log in the daemon's folder is its capture; as the manifest's [continuity] mode = "log". */
  durable?: boolean;
  /** In a cluster (docs/cluster.md): run it on this host. */
  host?: string;
  /** In a cluster: run it on a live host whose labels hold all of these (the least loaded). */
  labels?: Record<string, string>;
}

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** What is read and thrown away after a body passes its limit, so the 413 reaches the client before the connection closes (not a reset). */
const DISCARD_LIMIT = 64 * 1024 * 1024;

function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (over) {
        // Past the discard bound the rest is not worth reading: close.
        if (size > limit + DISCARD_LIMIT) req.destroy();
        return;
      }
      if (size > limit) {
        over = true;
        chunks.length = 0;
        reject(new HttpError(413, `request body over ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

function parseJson(bytes: Uint8Array): Record<string, unknown> {
  const text = new TextDecoder().decode(bytes);
  if (text.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'the body is not JSON');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, 'the body must be a JSON object');
  return v as Record<string, unknown>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body) + '\n';
  // A 413 leaves the rest of the body unread (readBody discards it): the connection closes after.
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) };
  if (status === 413) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(text);
}

/** The answer to a spawn started here. */
function sendSpawned(res: ServerResponse, body: SpawnBody, started: { infos: ProcessInfo[]; warning?: string }, cluster: ClusterMember | null): void {
  const shown = withHost(started.infos, cluster);
  const answer: Record<string, unknown> = body.count === undefined ? { process: shown[0] } : { process: shown[0], processes: shown };
  // The module runs, but a preparation cap stopped its preparation: it cannot be checkpointed.
  if (started.warning) answer.warning = started.warning;
  send(res, 201, answer);
}

/** An answer another host gave, passed on as it came. */
function relay(res: ServerResponse, a: ForwardedAnswer): void {
  const body = Buffer.from(a.body, 'base64');
  res.writeHead(a.status, { ...a.headers, 'content-length': body.length });
  res.end(body);
}

/** Infos with the host they run on, in a cluster. */
function withHost(infos: ProcessInfo[], cluster: ClusterMember | null): (ProcessInfo & { host?: string })[] {
  return cluster ? infos.map((i) => ({ ...i, host: cluster.name })) : infos;
}

/** Most output of each stream a move between hosts carries (what the rings hold is less). */
const OUTPUT_CARRIED = 64 * 1024 * 1024;

/**
 * Move picoprocess `id` to host `to` of the cluster: checkpointed here (it stops), restored
 * there with the same id and its output so far (the same offsets), its owner record then
 * theirs. Refused there: it goes on here, and the error says so.
 */
async function moveToHost(pool: Pool, cluster: ClusterMember, failover: Failover | null, id: number, to: string): Promise<ProcessInfo> {
  if (to === cluster.name) throw new HttpError(409, `picoprocess ${id} is on ${to} already`);
  if (!(await cluster.liveHosts()).some((h) => h.name === to)) throw new HttpError(404, `no live host ${to} in the cluster`);
  const durable = failover?.isDurable(id) === true;
  // Stored no more from here (its record stays: the target keeps it from now on).
  if (durable) await failover!.untrack(id, true);
  const checkpoint = await pool.checkpoint(id, false);
  const out = pool.output(id, 'stdout').read(0);
  const err = pool.output(id, 'stderr').read(0);
  const query = `id=${id}&stdout_from=${out.from}&stdout_len=${out.bytes.length}&stderr_from=${err.from}&stderr_len=${err.bytes.length}${durable ? '&durable=1' : ''}`;
  const body = Buffer.concat([out.bytes, err.bytes, cluster.sealForPeers(checkpoint)]).toString('base64');
  const a = await cluster.forward(to, { method: 'POST', path: `/v1/arrive?${query}`, body });
  pool.remove(id);
  const answer = JSON.parse(Buffer.from(a.body, 'base64').toString('utf8')) as { process?: ProcessInfo; error?: string };
  if (a.status === 201 && answer.process) return answer.process;
  await pool.restore(checkpoint, undefined, { id, stdout: out, stderr: err });
  if (durable) await failover!.track(id);
  throw new HttpError(a.status >= 500 ? 502 : 409, `host ${to} did not take picoprocess ${id} (${answer.error ?? `status ${a.status}`}); it goes on here`);
}

/** A move's body (moveToHost): stdout, stderr, then the checkpoint, split by the lengths its query gives. */
function arrivalOf(
  url: URL,
  body: Uint8Array,
): { id: number; stdout: { from: number; bytes: Uint8Array }; stderr: { from: number; bytes: Uint8Array }; checkpoint: Uint8Array } {
  const n = (k: string): number => {
    const v = Number(url.searchParams.get(k));
    if (!Number.isSafeInteger(v) || v < 0) throw new HttpError(400, `${k} must be a whole number`);
    return v;
  };
  const id = n('id');
  const [outLen, errLen] = [n('stdout_len'), n('stderr_len')];
  if (id <= 0 || outLen > OUTPUT_CARRIED || errLen > OUTPUT_CARRIED || outLen + errLen > body.length) throw new HttpError(400, 'the move does not add up');
  return {
    id,
    stdout: { from: n('stdout_from'), bytes: body.subarray(0, outLen) },
    stderr: { from: n('stderr_from'), bytes: body.subarray(outLen, outLen + errLen) },
    checkpoint: body.subarray(outLen + errLen),
  };
}

/** How often the output of a picoprocess on another host is asked for while it is followed. */
const FOLLOW_POLL_MS = 100;

/**
 * Follow the output of a picoprocess another host runs: its owner is asked for what came after
 * the last byte sent, every FOLLOW_POLL_MS while nothing new comes, until the picoprocess has
 * ended (then once more, for what it wrote last) or the client has gone.
 */
async function followRemote(res: ServerResponse, cluster: ClusterMember, owner: string, id: number, which: 'stdout' | 'stderr', from: number): Promise<void> {
  let offset = from;
  let gone = false;
  res.on('close', () => (gone = true));
  const read = async (): Promise<number | ForwardedAnswer> => {
    const a = await cluster.forward(owner, { method: 'GET', path: `/v1/processes/${id}/${which}?from=${offset}` });
    if (a.status !== 200) return a;
    const bytes = Buffer.from(a.body, 'base64');
    if (!res.headersSent)
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'x-drawbridge-from': a.headers['x-drawbridge-from'] ?? String(offset),
        'x-drawbridge-dropped': a.headers['x-drawbridge-dropped'] ?? '0',
      });
    // The owner's ring starts where the offsets say (after a failover: where its snapshot was).
    const at = Number(a.headers['x-drawbridge-from'] ?? offset);
    const fresh = bytes.subarray(Math.max(0, offset - at));
    offset = Math.max(offset, at + bytes.length);
    if (fresh.length > 0) res.write(fresh);
    return fresh.length;
  };
  while (!gone) {
    const got = await read();
    if (typeof got !== 'number') {
      // Its owner is gone: a durable one is continued by another host (failover.ts); follow it there.
      const next = got.status >= 502 ? await newOwner(cluster, id, owner) : null;
      if (next) {
        owner = next;
        continue;
      }
      if (!res.headersSent) return relay(res, got);
      break;
    }
    if (got > 0) continue;
    const a = await cluster.forward(owner, { method: 'GET', path: `/v1/processes/${id}` });
    const state = a.status === 200 ? (JSON.parse(Buffer.from(a.body, 'base64').toString('utf8')) as { process?: ProcessInfo }).process?.state : undefined;
    if (a.status >= 502) continue; // read() finds out whether it moved
    if (state !== 'starting' && state !== 'running') {
      await read();
      break;
    }
    await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
  }
  res.end();
}

/** How long a follow waits for another host to take over a picoprocess whose owner is gone. */
const TAKEOVER_WAIT_MS = 20_000;

/** The host that runs `id` once it is no longer `was` (a failover), or null after TAKEOVER_WAIT_MS. */
async function newOwner(cluster: ClusterMember, id: number, was: string): Promise<string | null> {
  const deadline = Date.now() + TAKEOVER_WAIT_MS;
  while (Date.now() < deadline) {
    const owner = await cluster.ownerOf(id).catch(() => null);
    if (owner && owner !== was) return owner;
    await new Promise((r) => setTimeout(r, 250));
  }
  return null;
}

/** Every live host's picoprocesses, with their host; a host that does not answer is named in its place ({ host, unreachable }). */
async function clusterList(cluster: ClusterMember, local: () => Promise<unknown[]>): Promise<unknown[]> {
  const hosts = await cluster.liveHosts();
  const lists = await Promise.all(
    hosts.map(async (h) => {
      if (h.name === cluster.name) return local();
      const a = await cluster.forward(h.name, { method: 'GET', path: '/v1/processes' });
      const parsed = JSON.parse(Buffer.from(a.body, 'base64').toString('utf8')) as { processes?: unknown[]; error?: string };
      if (a.status !== 200 || !Array.isArray(parsed.processes)) return [{ host: h.name, unreachable: parsed.error ?? `status ${a.status}` }];
      return parsed.processes;
    }),
  );
  return lists.flat();
}

/** ?worker=K: a pool worker's index; absent: the pool chooses. */
function workerParam(url: URL): number | undefined {
  const w = url.searchParams.get('worker');
  if (w === null || w === '') return undefined;
  if (!/^\d+$/.test(w)) throw new HttpError(400, 'worker must be a worker index (GET /v1/workers lists them)');
  return Number(w);
}

function stringArray(v: unknown, what: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new HttpError(400, `${what} must be an array of strings`);
  return v as string[];
}

export interface ApiOptions {
  pool: Pool;
  token: string;
  /** This host's place in a cluster (docs/cluster.md), once it has joined. */
  cluster?: () => ClusterMember | null;
  /** Its durable picoprocesses (cluster/failover.ts), once it has joined. */
  failover?: () => Failover | null;
  /** What the daemon's warm-up did (warm-up.ts), for /v1/health. */
  warmUp?: WarmUpResult;
  /** One line per request once it is answered (requestLine); none without it. */
  log?: (line: string) => void;
  /** The web console's sessions (default: a table with the defaults of sessions.ts). */
  sessions?: SessionTable;
  /** The web console's event stream (GET /v1/events). */
  events?: EventsOptions;
}

/**
 * The request log's line: when, method, path (with its query: offsets, worker numbers; the
 * token travels only in a header, never logged), status, time to the end of the answer (a
 * followed stream: until it closed).
 */
export function requestLine(req: IncomingMessage, res: ServerResponse, startedMs: number, endedMs: number): string {
  const status = res.writableFinished ? res.statusCode : `${res.headersSent ? res.statusCode : '-'} (cut off)`;
  // Bounded: a client may send a long path; control characters would forge lines.
  const target = (req.url ?? '/').slice(0, 200).replace(/[\x00-\x1f\x7f]/g, '?');
  const ms = endedMs - startedMs;
  return `${new Date().toISOString()} ${req.method ?? '-'} ${target} ${status} ${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

export function createApiServer(options: ApiOptions): Server {
  const { pool } = options;
  const access = new Access(tokenMatcher(options.token), options.sessions ?? new SessionTable());
  const events = new EventHub(pool, () => options.cluster?.() ?? null, options.events);
  const frames = new FrameRoutes(pool);

  const manifestOf = (body: SpawnBody): Manifest => {
    let manifest = pool.defaultManifest();
    if (typeof body.manifest === 'string' || (body.manifest && typeof body.manifest === 'object')) {
      const r = typeof body.manifest === 'string' ? parseManifest(body.manifest, 'manifest') : buildManifest(body.manifest);
      if (!r.ok) throw new HttpError(400, `manifest: ${r.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
      manifest = r.manifest;
      // Limits the manifest does not set are the daemon's, not the library's defaults.
      const given = typeof body.manifest === 'string' ? null : (body.manifest.limits as Record<string, unknown> | undefined);
      if (given === undefined) manifest.limits = { ...pool.defaultManifest().limits };
    } else if (body.manifest !== undefined) throw new HttpError(400, 'manifest must be TOML text or an object');
    const dirs = stringArray(body.dirs, 'dirs');
    for (const d of dirs) {
      const host = d.includes('::') ? d.slice(0, d.indexOf('::')) : d;
      if (!isAbsolute(host)) throw new HttpError(400, `dirs: ${d}: the host side must be an absolute path`);
    }
    const env = body.env ?? {};
    if (typeof env !== 'object' || Object.values(env).some((v) => typeof v !== 'string')) throw new HttpError(400, 'env must be an object of strings');
    const r = withCliGrants(manifest, { dirs, env: Object.entries(env).map(([k, v]) => `${k}=${v}`) }, { cwd: '/', hostEnv: {} });
    if (!r.ok) throw new HttpError(400, r.errors.map((e) => `${e.path}: ${e.message}`).join('; '));
    return r.manifest;
  };

  /** Start what `body` asks for here (`given`: its manifest, when the caller has read it already). */
  const spawn = async (body: SpawnBody, given?: Manifest): Promise<{ infos: ProcessInfo[]; warning?: string }> => {
    const failover = options.failover?.() ?? null;
    if (typeof body.module !== 'string' || !isAbsolute(body.module)) throw new HttpError(400, 'module must be an absolute path on the daemon machine');
    const count = body.count ?? 1;
    if (!Number.isSafeInteger(count) || count < 1 || count > BATCH_LIMIT) throw new HttpError(400, `count must be 1 to ${BATCH_LIMIT}`);
    const manifest = given ?? manifestOf(body);
    if (body.durable !== undefined && typeof body.durable !== 'boolean') throw new HttpError(400, 'durable must be true or false');
    let bytes: Uint8Array;
    try {
      bytes = await readFile(body.module);
    } catch (e) {
      throw new HttpError(400, `${body.module}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    const module = await pool.load(bytes, body.module);
    const stdin = typeof body.stdin === 'string' ? new TextEncoder().encode(body.stdin) : undefined;
    const args = stringArray(body.args, 'args');
    // In a cluster a durable picoprocess is kept by its checkpoints, which another host
    // continues if this one dies (failover.ts): snapshots of a prepared module; a module not
    // prepared runs in log mode, and its log checkpoints are kept.
    const kept = failover !== null && (body.durable === true || (body.durable === undefined && manifest.continuity?.durable === true));
    const durable = kept ? !module.prepared : body.durable;
    // A batch is started all at once: the workers start theirs in parallel.
    const started = await Promise.allSettled(
      Array.from({ length: count }, () => pool.spawn({ module, args, manifest, stdin, closeStdin: body.closeStdin === true, durable })),
    );
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) {
      // All or nothing: the ones that did start are stopped again.
      await Promise.all(started.map((r) => (r.status === 'fulfilled' ? pool.kill(r.value.id).then((x) => pool.remove(x.id)) : null)));
      throw failed.reason;
    }
    const infos = started.map((r) => (r as PromiseFulfilledResult<ProcessInfo>).value);
    if (kept) for (const i of infos) await failover.track(i.id);
    const warnings: string[] = [];
    // The manifest's args are the whole command line the program sees (as `drawbridge run` says too).
    if (manifest.args && args.length > 0) warnings.push(`the manifest's args replace the ${args.length} argument(s) given, which are not passed`);
    // The module runs, but a preparation cap stopped its preparation: it cannot be checkpointed.
    if (module.capped) warnings.push(module.capped);
    return warnings.length ? { infos, warning: warnings.join('; ') } : { infos };
  };

  const stream = (req: IncomingMessage, res: ServerResponse, id: number, which: 'stdout' | 'stderr', url: URL): void => {
    const ring = pool.output(id, which);
    const from = Number(url.searchParams.get('from') ?? 0);
    if (!Number.isSafeInteger(from) || from < 0) throw new HttpError(400, 'from must be a byte offset');
    const follow = url.searchParams.get('follow') === '1';
    const held = ring.read(from);
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'x-drawbridge-from': String(held.from),
      'x-drawbridge-dropped': String(held.dropped),
    });
    res.write(held.bytes);
    if (!follow) {
      res.end();
      return;
    }
    const stop = ring.follow((chunk) => {
      if (chunk === null) res.end();
      else res.write(chunk);
    });
    res.on('close', stop);
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://drawbridge');
    const parts = url.pathname.split('/').filter(Boolean);
    const method = req.method ?? 'GET';
    if (parts[0] !== 'v1') throw new HttpError(404, 'no such route (the API lives under /v1)');
    const cluster = options.cluster?.() ?? null;
    if (parts.length === 2 && parts[1] === 'health' && method === 'GET') {
      return send(res, 200, { ok: true, processes: pool.size, pid: process.pid, workers: pool.workerCount, warmUp: options.warmUp ?? null });
    }
    if (parts.length === 2 && parts[1] === 'events' && method === 'GET') return events.subscribe(req, res);
    if (parts.length === 2 && parts[1] === 'workers' && method === 'GET') {
      return send(res, 200, { workers: pool.workers() });
    }
    if (parts.length === 2 && parts[1] === 'arrive' && method === 'POST') {
      // A picoprocess another host of the cluster moves here (moveToHost): same id, its output so far.
      if (!cluster) throw new HttpError(404, 'this daemon is not in a cluster');
      const body = await readBody(req, SNAPSHOT_LIMIT + 2 * OUTPUT_CARRIED);
      const arrival = arrivalOf(url, body);
      const info = await pool.restore(cluster.openFromPeer(arrival.checkpoint, `picoprocess ${arrival.id}'s checkpoint`), undefined, arrival);
      await cluster.own([info.id]);
      if (url.searchParams.get('durable') === '1') await options.failover?.()?.track(info.id);
      return send(res, 201, { process: withHost([info], cluster)[0] });
    }
    if (parts.length === 2 && parts[1] === 'restore' && method === 'POST') {
      const info = await pool.restore(await readBody(req, SNAPSHOT_LIMIT), workerParam(url));
      return send(res, 201, { process: info });
    }
    if (parts.length === 2 && parts[1] === 'hosts' && method === 'GET') {
      if (!cluster) throw new HttpError(404, 'this daemon is not in a cluster (drawbridge serve --cluster nats://HOST:PORT)');
      return send(res, 200, { hosts: await cluster.liveHosts() });
    }
    if (parts[1] !== 'processes') throw new HttpError(404, 'no such route');
    if (parts.length === 2) {
      if (method === 'GET') {
        if (url.searchParams.get('cluster') !== '1') return send(res, 200, { processes: withHost(await pool.list(), cluster) });
        if (!cluster) throw new HttpError(400, 'cluster=1: this daemon is not in a cluster');
        return send(res, 200, { processes: await clusterList(cluster, async () => withHost(await pool.list(), cluster)) });
      }
      if (method === 'POST') {
        const text = await readBody(req, JSON_LIMIT);
        const body = parseJson(text) as unknown as SpawnBody;
        if (body.host !== undefined || body.labels !== undefined) {
          if (!cluster) throw new HttpError(400, 'host and labels place a picoprocess in a cluster; this daemon is not in one');
          if (body.host !== undefined && typeof body.host !== 'string') throw new HttpError(400, 'host must be a host name');
          if (
            body.labels !== undefined &&
            (typeof body.labels !== 'object' || body.labels === null || Object.values(body.labels).some((v) => typeof v !== 'string'))
          )
            throw new HttpError(400, 'labels must be an object of strings');
        }
        if (cluster) {
          // Placed on the least loaded live host (or the one named): another host runs the same route.
          const chosen = body.host === undefined;
          // The spawn's labels, else its manifest's [placement] labels.
          const manifest = chosen && body.labels === undefined ? manifestOf(body) : undefined;
          const labels = body.labels ?? manifest?.placement?.labels;
          const target = body.host ?? (await cluster.place(labels))?.name;
          if (!target) throw new HttpError(503, `no live host of the cluster has the labels ${JSON.stringify(labels ?? {})}`);
          try {
            if (target !== cluster.name) {
              const placed = { ...body, host: target };
              const body64 = Buffer.from(JSON.stringify(placed)).toString('base64');
              return relay(res, await cluster.forward(target, { method: 'POST', path: '/v1/processes', body: body64 }));
            }
            const local = await spawn(body, manifest);
            await cluster.own(local.infos.map((i) => i.id));
            return sendSpawned(res, body, local, cluster);
          } finally {
            if (chosen) cluster.placed(target);
          }
        }
        return sendSpawned(res, body, await spawn(body), null);
      }
      throw new HttpError(405, `${method} is not allowed here`);
    }
    const id = Number(parts[2]);
    if (!Number.isSafeInteger(id) || id <= 0) throw new HttpError(404, `no picoprocess ${parts[2]}`);
    if (cluster && !pool.has(id)) {
      // Another host's picoprocess: the same request, made there.
      const owner = await cluster.ownerOf(id);
      if (owner && owner !== cluster.name) {
        const action = parts[3];
        if (action === 'fb') throw new HttpError(409, `picoprocess ${id} runs on host ${owner}: its frame buffer is shown by that host's console`);
        if (parts.length === 4 && (action === 'stdout' || action === 'stderr') && url.searchParams.get('follow') === '1') {
          const from = Number(url.searchParams.get('from') ?? 0);
          if (!Number.isSafeInteger(from) || from < 0) throw new HttpError(400, 'from must be a byte offset');
          return followRemote(res, cluster, owner, id, action, from);
        }
        const body = method === 'GET' || method === 'DELETE' ? null : await readBody(req, STDIN_LIMIT);
        return relay(
          res,
          await cluster.forward(owner, { method, path: url.pathname + url.search, body: body?.length ? Buffer.from(body).toString('base64') : '' }),
        );
      }
    }
    pool.get(id); // 404 for an unknown id, whatever the route
    const action = parts[3];
    const frameRoute = action === 'fb' ? frames.handle(req, res, id, parts.slice(4), method) : null;
    if (frameRoute) return frameRoute;
    if (parts.length === 3) {
      if (method === 'GET') return send(res, 200, { process: await pool.fresh(id) });
      if (method === 'DELETE') {
        pool.remove(id);
        if (cluster) await cluster.disown(id);
        await options.failover?.()?.untrack(id);
        return send(res, 200, { removed: id });
      }
    } else if (parts.length === 4) {
      if (action === 'kill' && method === 'POST') return send(res, 200, { process: await pool.kill(id) });
      if (action === 'wait' && method === 'GET') return send(res, 200, { process: await pool.wait(id) });
      if ((action === 'stdout' || action === 'stderr') && method === 'GET') return stream(req, res, id, action, url);
      if (action === 'stdin' && method === 'POST') {
        const bytes = await readBody(req, STDIN_LIMIT);
        const accepted = await pool.feedStdin(id, bytes, url.searchParams.get('close') === '1');
        return send(res, 200, { accepted });
      }
      if (action === 'move' && method === 'POST' && url.searchParams.has('host')) {
        if (!cluster) throw new HttpError(400, 'host: this daemon is not in a cluster');
        return send(res, 200, { process: await moveToHost(pool, cluster, options.failover?.() ?? null, id, url.searchParams.get('host') ?? '') });
      }
      if (action === 'move' && method === 'POST') return send(res, 200, { process: await pool.move(id, workerParam(url)) });
      if (action === 'checkpoint' && method === 'POST') {
        const snapshot = await pool.checkpoint(id, url.searchParams.get('leave_running') === '1');
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': snapshot.length });
        res.end(snapshot);
        return;
      }
    }
    throw new HttpError(404, 'no such route');
  };

  const { log } = options;
  const server = createServer((req, res) => {
    if (log) {
      const t0 = performance.now();
      res.once('close', () => log(requestLine(req, res, t0, performance.now())));
    }
    // The console's page and its login need no credential of their own.
    const pathname = new URL(req.url ?? '/', 'http://drawbridge').pathname;
    if (serveConsoleFile(req, res, pathname) || access.handle(req, res, pathname)) return;
    const verdict = access.judge(req);
    if (!verdict.ok) {
      req.resume();
      return send(res, verdict.status, { error: verdict.error });
    }
    if (verdict.by === 'session') access.holdWhileLive(verdict.session, res);
    route(req, res).catch((e: unknown) => {
      const status =
        e instanceof HttpError || e instanceof SupervisorError
          ? e.status
          : e instanceof ModuleError || e instanceof MemoryLimitError || e instanceof SnapshotError || e instanceof GuestError
            ? 400
            : 500;
      const message = e instanceof Error ? e.message : String(e);
      if (res.headersSent) res.destroy();
      else send(res, status, { error: message });
    });
  });
  server.on('close', () => {
    events.close();
    access.close();
  });
  return server;
}
