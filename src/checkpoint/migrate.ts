// Migration between hosts: a snapshot sent over TCP (TLS beyond loopback), with only the pages
// (and the module) the target does not already hold. Pages are content-addressed by their
// SHA-256, which the source computes as it offers them (a snapshot file only carries CRC-32s,
// snapshot.ts), so a target that received a similar picoprocess before (the same program, a
// fork, an earlier checkpoint) is sent only what differs. SHA-256 here, not a CRC: the
// target's store is shared by every migration it receives, and a page must not be mistaken
// for another.
//
// A target runs what it is sent, so it takes nothing from a peer that has not shown the
// token (src/server/token.ts, as `drawbridge serve` does), and it reads every peer-controlled
// byte under a bound (MigrationLimits): the first line is small until the token is checked.
// The source connects and is accepted before it checkpoints: a target that is down, refuses
// or shows another certificate than the pinned one leaves the program running at the source.
//
// Protocol, one connection per migration, newline-terminated JSON then raw bytes:
//   source -> target  {"op":"hello","token":TOKEN}
//   target -> source  {"ok":true} (or {"ok":false,"error"} and it closes)
//   ... the source checkpoints the program ...
//   source -> target  {"op":"offer","meta":SnapshotMeta,"pageHashes":{page index: sha256}}
//   target -> source  {"needModule":bool,"needPages":[page index...]}
//   source -> target  {"module":BYTES,"pages":COUNT} then the module bytes, then COUNT times
//                     (u32 page index, 65536 bytes)
//   target -> source  {"ok":true} once it holds a complete, verified snapshot (or {"ok":false,"error"})
// A picoprocess in log mode sends its log checkpoint instead of a snapshot's offer (migrate-log.ts).

import { createServer as createTcpServer, connect as connectTcp, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, connect as connectTls, type TLSSocket } from 'node:tls';
import { tokenMatcher } from '../server/token.ts';
import { FrameReader, MigrationError, line } from './migrate-wire.ts';
import { normalizePin } from './migrate-tls.ts';
import type { LogCheckpoint } from './log-checkpoint.ts';
import { receiveLogOffer, sendLogCheckpoint, type LogMigrationStats } from './migrate-log.ts';
import { PAGE_SIZE, decodeSnapshot, sha256, type Snapshot, type SnapshotMeta } from './snapshot.ts';

export { MigrationError } from './migrate-wire.ts';

/** The SHA-256 of each page of a snapshot, by page index. */
export function pageHashes(snapshot: Snapshot): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [p, page] of snapshot.pages) out[p] = sha256(page);
  return out;
}

const HASH = /^[0-9a-f]{64}$/;
const MiB = 1024 * 1024;

/** What a target accepts from one connection; past any bound it closes it, with one line logged. */
export interface MigrationLimits {
  /** The first line, before the token is checked. */
  helloLine: number;
  /** The offer line (the snapshot's metadata and one hash per page). */
  offerLine: number;
  moduleBytes: number;
  /** A log checkpoint's log (log mode). */
  logBytes: number;
  /** Pages an offer may list (65536: the most a 32-bit memory has). */
  pages: number;
  /** Bytes the peer may send on the connection in all. */
  totalBytes: number;
  /** Time for the TLS handshake and the hello together. */
  helloMs: number;
  /** Time for the offer once accepted (the source checkpoints meanwhile). */
  offerMs: number;
  /** Longest wait for more bytes after that. */
  idleMs: number;
  /** Connections at once. */
  connections: number;
}

export const MIGRATION_LIMITS: MigrationLimits = {
  helloLine: 4096,
  offerLine: 64 * MiB,
  moduleBytes: 512 * MiB,
  logBytes: 1024 * MiB,
  pages: 65536,
  totalBytes: 4096 * MiB + 512 * MiB + 64 * MiB,
  helloMs: 10_000,
  offerMs: 120_000,
  idleMs: 30_000,
  connections: 16,
};

/** Bytes dropped after a refusal (so the peer reads why) before the connection is cut. */
const DISCARD_BYTES = MiB;

/** Pages and modules a target holds, by hash. */
export class PageStore {
  private readonly pages = new Map<string, Uint8Array>();
  private readonly modules = new Map<string, Uint8Array>();
  hasPage(hash: string): boolean {
    return this.pages.has(hash);
  }
  page(hash: string): Uint8Array | undefined {
    return this.pages.get(hash);
  }
  addPage(hash: string, bytes: Uint8Array): void {
    this.pages.set(hash, bytes);
  }
  module(hash: string): Uint8Array | undefined {
    return this.modules.get(hash);
  }
  addModule(hash: string, bytes: Uint8Array): void {
    this.modules.set(hash, bytes);
  }
  get pageCount(): number {
    return this.pages.size;
  }
}

export interface MigrationStats {
  sentPages: number;
  totalPages: number;
  moduleSent: boolean;
}

export interface ReceiveOptions {
  host: string;
  port: number;
  /** The token a source must present. */
  token: string;
  /** Listen with TLS (PEM key and certificate: migrate-tls.ts). */
  tls?: { key: string; cert: string };
  store: PageStore;
  limits?: Partial<MigrationLimits>;
  /** One line for each connection refused or cut off (without a trailing newline). */
  log: (line: string) => void;
  /** Each complete snapshot. */
  onSnapshot: (s: Snapshot, stats: MigrationStats) => void;
  /** Each complete log checkpoint (a picoprocess in log mode); without it, one is refused. */
  onLogCheckpoint?: (c: LogCheckpoint, stats: LogMigrationStats) => void;
}

/** A refusal before the token was accepted (logged as "refused"). */
class Refusal extends MigrationError {}

/** Target side: accept migrations from token holders; each complete snapshot goes to `onSnapshot`. */
export function receiveMigrations(options: ReceiveOptions): Promise<Server> {
  const limits = { ...MIGRATION_LIMITS, ...options.limits };
  const tokenMatches = tokenMatcher(options.token);
  const { store, log } = options;

  const serve = (socket: Socket): void => {
    const peer = `${socket.remoteFamily === 'IPv6' ? `[${socket.remoteAddress}]` : socket.remoteAddress}:${socket.remotePort}`;
    const r = new FrameReader(socket, limits.helloLine + 2, limits.helloMs);
    const helloTimer = setTimeout(() => r.fail(new Refusal(`no token (no hello within ${limits.helloMs / 1000} s)`)), limits.helloMs);
    socket.on('error', () => {});
    const close = (reply: object) => {
      r.discard(DISCARD_BYTES);
      socket.end(line(reply));
      const cut = setTimeout(() => socket.destroy(), 2000);
      socket.once('close', () => clearTimeout(cut));
    };
    (async () => {
      const hello = await r.json<{ op?: unknown; token?: unknown } | null>(limits.helloLine, 'the first line').catch((e: MigrationError) => {
        throw new Refusal(`no token (${e.message})`);
      });
      if (hello?.op !== 'hello' || typeof hello.token !== 'string') throw new Refusal('no token (the first line is not a hello)');
      if (!tokenMatches(hello.token)) throw new Refusal('wrong token');
      clearTimeout(helloTimer);
      socket.write(line({ ok: true }));
      r.limit = limits.totalBytes;
      r.idleMs = limits.offerMs;
      const offer = await r.json<{ op?: unknown; meta?: SnapshotMeta; pageHashes?: unknown }>(limits.offerLine, 'the offer');
      r.idleMs = limits.idleMs;
      if (offer.op === 'offer-log') {
        if (!options.onLogCheckpoint) throw new MigrationError('this receiver does not take programs in log mode');
        const got = await receiveLogOffer(r, socket, offer, store, limits);
        socket.end(line({ ok: true }));
        options.onLogCheckpoint(got.checkpoint, got.stats);
        return;
      }
      const meta = offer.meta;
      if (offer.op !== 'offer' || meta?.format !== 'drawbridge-snapshot') throw new MigrationError('not a drawbridge migration');
      const mod = meta.module;
      if (typeof mod?.sha256 !== 'string' || !HASH.test(mod.sha256)) throw new MigrationError('the offer has no module hash');
      if (!Number.isSafeInteger(mod.size) || mod.size <= 0 || mod.size > limits.moduleBytes) {
        throw new MigrationError(`the module's size is not between 1 and ${limits.moduleBytes} bytes`);
      }
      const hashes = offer.pageHashes;
      const entries = typeof hashes === 'object' && hashes !== null ? Object.entries(hashes as Record<string, unknown>) : [];
      if (entries.length > limits.pages) throw new MigrationError(`the offer lists more than ${limits.pages} pages`);
      const byIndex = new Map<number, string>();
      for (const [p, h] of entries) {
        const idx = Number(p);
        if (!/^\d+$/.test(p) || !(idx < meta.memory?.pages) || typeof h !== 'string' || !HASH.test(h)) break;
        byIndex.set(idx, h);
      }
      if (byIndex.size !== entries.length || entries.length !== meta.memory?.nonZeroPages) {
        throw new MigrationError('the offer does not list a hash for each page');
      }
      const needModule = !store.module(mod.sha256);
      const needPages = [...byIndex].filter(([, h]) => !store.hasPage(h)).map(([p]) => p);
      socket.write(line({ needModule, needPages }));
      const head = await r.json<{ module?: unknown; pages?: unknown }>(limits.helloLine, 'the transfer header');
      if (head.module !== (needModule ? mod.size : 0) || head.pages !== needPages.length) {
        throw new MigrationError('the transfer header does not match what was asked for');
      }
      if (needModule) {
        const module = await r.bytes(mod.size);
        if (sha256(module) !== mod.sha256) throw new MigrationError('the module sent does not match its hash');
        store.addModule(mod.sha256, module);
      }
      const missing = new Set(needPages);
      for (let i = 0; i < needPages.length; i++) {
        const idx = (await r.bytes(4)).readUInt32LE(0);
        if (!missing.delete(idx)) throw new MigrationError(`page ${idx} was not asked for`);
        const page = await r.bytes(PAGE_SIZE);
        const h = sha256(page);
        if (byIndex.get(idx) !== h) throw new MigrationError(`page ${idx} does not match its hash`);
        store.addPage(h, page);
      }
      const pages = new Map<number, Uint8Array>();
      for (const [p, h] of byIndex) {
        const page = store.page(h);
        if (!page) throw new MigrationError(`page ${p} is missing`);
        pages.set(p, page);
      }
      const module = store.module(mod.sha256);
      if (!module) throw new MigrationError('the module is missing');
      socket.end(line({ ok: true }));
      options.onSnapshot({ meta, module, pages }, { sentPages: needPages.length, totalPages: byIndex.size, moduleSent: needModule });
    })().catch((e: unknown) => {
      clearTimeout(helloTimer);
      const message = e instanceof MigrationError ? e.message : `internal error: ${(e as Error).message}`;
      log(`${e instanceof Refusal ? 'refused' : 'closed'} ${peer}: ${message}`);
      close({ ok: false, error: message });
    });
  };

  const server = options.tls
    ? createTlsServer({ key: options.tls.key, cert: options.tls.cert, minVersion: 'TLSv1.3', handshakeTimeout: limits.helloMs }, serve)
    : createTcpServer(serve);
  server.maxConnections = limits.connections;
  server.on('tlsClientError', (e: Error, socket: TLSSocket) => log(`refused ${socket.remoteAddress}:${socket.remotePort}: TLS failed: ${e.message}`));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve(server));
  });
}

export interface MigrationTarget {
  host: string;
  port: number;
  token: string;
  /** The SHA-256 fingerprint of the target's TLS certificate: connect with TLS and accept only it. */
  pin?: string;
  /** Time to connect and be accepted, in ms. */
  connectMs?: number;
}

/** A connection to a target that accepted the token: send one snapshot, or close it. */
export interface MigrationLink {
  send(snapshotBytes: Uint8Array): Promise<MigrationStats>;
  /** Send a log checkpoint (a picoprocess in log mode) instead. */
  sendLog(checkpointBytes: Uint8Array): Promise<LogMigrationStats>;
  close(): void;
}

/** Where the source waits for the target's answers (it hashes every page it is sent). */
const ANSWER_MS = 120_000;
/** The target's answers: the pages it needs (at most 65536 indices), or one status. */
const NEED_LINE = 2 * MiB;
const STATUS_LINE = 64 * 1024;

/** Source side: connect, check the pinned certificate (with TLS), present the token. */
export async function connectMigration(target: MigrationTarget): Promise<MigrationLink> {
  const { host, port } = target;
  const pin = target.pin === undefined ? null : normalizePin(target.pin);
  if (target.pin !== undefined && pin === null) throw new MigrationError(`--pin ${target.pin}: expected a SHA-256 fingerprint (64 hex digits)`);
  const ms = target.connectMs ?? 10_000;
  const socket: Socket = pin ? connectTls({ host, port, rejectUnauthorized: false, minVersion: 'TLSv1.3' }) : connectTcp(port, host);
  socket.on('error', () => {});
  const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${ms / 1000} s`)), ms);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once(pin ? 'secureConnect' : 'connect', resolve);
      socket.once('error', (e) => reject(new MigrationError(`cannot connect to ${host}:${port}: ${e.message}`)));
      socket.once('close', () => reject(new MigrationError(`cannot connect to ${host}:${port}: the connection closed`)));
    });
    if (pin) {
      const shown = (socket as TLSSocket).getPeerX509Certificate()?.fingerprint256 ?? 'none';
      if (normalizePin(shown) !== pin) throw new MigrationError(`${host}:${port} shows a TLS certificate (sha256 ${shown}) that does not match --pin`);
    }
    // The target says little: its answers, each bounded, and nothing more.
    const r = new FrameReader(socket, NEED_LINE + 3 * STATUS_LINE, ms);
    socket.write(line({ op: 'hello', token: target.token }));
    const hello = await r.json<{ ok?: unknown; error?: unknown }>(STATUS_LINE, "the target's answer").catch((e: MigrationError) => {
      throw new MigrationError(`${host}:${port} did not accept the connection (${e.message})${pin ? '' : '; if it listens with TLS, give --pin'}`);
    });
    if (hello.ok !== true) throw new MigrationError(`${host}:${port} refused the migration: ${String(hello.error)}`);
    clearTimeout(timer);
    return { send: (bytes) => sendSnapshot(socket, r, bytes), sendLog: (bytes) => sendLogCheckpoint(socket, r, bytes), close: () => socket.destroy() };
  } catch (e) {
    clearTimeout(timer);
    socket.destroy();
    throw e;
  }
}

async function sendSnapshot(socket: Socket, r: FrameReader, snapshotBytes: Uint8Array): Promise<MigrationStats> {
  try {
    const snap = decodeSnapshot(snapshotBytes);
    r.idleMs = ANSWER_MS;
    socket.write(line({ op: 'offer', meta: snap.meta, pageHashes: pageHashes(snap) }));
    const need = await r.json<{ needModule?: unknown; needPages?: unknown; ok?: false; error?: string }>(NEED_LINE, "the target's answer");
    if (need.ok === false) throw new MigrationError(`the target refused: ${need.error}`);
    const pages = Array.isArray(need.needPages) ? (need.needPages as unknown[]) : null;
    if (!pages || new Set(pages).size !== pages.length || pages.some((p) => typeof p !== 'number' || !snap.pages.has(p))) {
      throw new MigrationError('the target asked for pages the snapshot does not hold');
    }
    const module = need.needModule === true ? snap.module : null;
    if (need.needModule === true && !module) throw new MigrationError('the target needs the module, which the snapshot does not carry');
    socket.write(line({ module: module?.length ?? 0, pages: pages.length }));
    if (module) socket.write(module);
    for (const p of pages as number[]) {
      const idx = new Uint8Array(4);
      new DataView(idx.buffer).setUint32(0, p, true);
      socket.write(idx);
      socket.write(snap.pages.get(p)!);
    }
    const done = await r.json<{ ok?: unknown; error?: unknown }>(STATUS_LINE, "the target's answer");
    if (done.ok !== true) throw new MigrationError(`the target refused: ${String(done.error)}`);
    return { sentPages: pages.length, totalPages: snap.pages.size, moduleSent: module !== null };
  } finally {
    socket.end();
  }
}
