// Migration between hosts: a snapshot sent over TCP, with only the pages (and the module)
// the target does not already hold. Pages are content-addressed by their SHA-256, which the
// source computes as it offers them (a snapshot file only carries CRC-32s, snapshot.ts), so a
// target that received a similar picoprocess before (the same program, a fork, an earlier
// checkpoint) is sent only what differs. SHA-256 here, not a CRC: the target's store is
// shared by every migration it receives, and a page must not be mistaken for another.
//
// Protocol, one TCP connection per migration, newline-terminated JSON then raw bytes:
//   source -> target  {"op":"offer","meta":SnapshotMeta,"pageHashes":{page index: sha256}}
//   target -> source  {"needModule":bool,"needPages":[page index...]}
//   source -> target  {"module":BYTES,"pages":COUNT} then the module bytes, then COUNT times
//                     (u32 page index, 65536 bytes)
//   target -> source  {"ok":true} once it holds a complete, verified snapshot (or {"ok":false,"error"})

import { createServer, connect, type Server, type Socket } from 'node:net';
import { PAGE_SIZE, decodeSnapshot, sha256, type Snapshot, type SnapshotMeta } from './snapshot.ts';

/** The SHA-256 of each page of a snapshot, by page index. */
export function pageHashes(snapshot: Snapshot): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [p, page] of snapshot.pages) out[p] = sha256(page);
  return out;
}

const HASH = /^[0-9a-f]{64}$/;

export class MigrationError extends Error {}

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

/** Reads newline-terminated JSON and exact byte counts from a socket. */
class FrameReader {
  private buf = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  private ended = false;
  constructor(socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => {
      this.ended = true;
      this.wake();
    });
  }
  private wake(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.();
  }
  private async more(): Promise<void> {
    if (this.ended) throw new MigrationError('the connection closed early');
    await new Promise<void>((r) => (this.waiting = r));
  }
  async json<T>(): Promise<T> {
    for (;;) {
      const nl = this.buf.indexOf(10);
      if (nl >= 0) {
        const line = this.buf.subarray(0, nl).toString('utf8');
        this.buf = this.buf.subarray(nl + 1);
        return JSON.parse(line) as T;
      }
      await this.more();
    }
  }
  async bytes(n: number): Promise<Uint8Array> {
    while (this.buf.length < n) await this.more();
    const out = Uint8Array.prototype.slice.call(this.buf, 0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}

const line = (o: unknown): string => JSON.stringify(o) + '\n';

/** Target side: accept migrations; each complete snapshot goes to `onSnapshot`. */
export function receiveMigrations(
  host: string,
  port: number,
  store: PageStore,
  onSnapshot: (s: Snapshot, stats: { sentPages: number; totalPages: number; moduleSent: boolean }) => void,
): Promise<Server> {
  const server = createServer((socket) => {
    const r = new FrameReader(socket);
    (async () => {
      const offer = await r.json<{ op: string; meta: SnapshotMeta; pageHashes: Record<string, string> }>();
      if (offer.op !== 'offer' || offer.meta?.format !== 'drawbridge-snapshot') throw new MigrationError('not a drawbridge migration');
      const meta = offer.meta;
      const hashes = offer.pageHashes;
      const entries = typeof hashes === 'object' && hashes !== null ? Object.entries(hashes) : [];
      if (
        entries.length !== meta.memory?.nonZeroPages ||
        entries.some(([p, h]) => !(Number(p) >= 0 && Number(p) < meta.memory.pages) || typeof h !== 'string' || !HASH.test(h))
      ) {
        throw new MigrationError('the offer does not list a hash for each page');
      }
      const needModule = !store.module(meta.module.sha256);
      const needPages = entries.filter(([, h]) => !store.hasPage(h)).map(([p]) => Number(p));
      socket.write(line({ needModule, needPages }));
      const head = await r.json<{ module: number; pages: number }>();
      if (head.module > 0) {
        const module = await r.bytes(head.module);
        if (sha256(module) !== meta.module.sha256) throw new MigrationError('the module sent does not match its hash');
        store.addModule(meta.module.sha256, module);
      }
      for (let i = 0; i < head.pages; i++) {
        const idx = new DataView((await r.bytes(4)).buffer).getUint32(0, true);
        const page = await r.bytes(PAGE_SIZE);
        const h = sha256(page);
        if (hashes[idx] !== h) throw new MigrationError(`page ${idx} does not match its hash`);
        store.addPage(h, page);
      }
      const pages = new Map<number, Uint8Array>();
      for (const [p, h] of entries) {
        const page = store.page(h);
        if (!page) throw new MigrationError(`page ${p} is missing`);
        pages.set(Number(p), page);
      }
      const module = store.module(meta.module.sha256);
      if (!module) throw new MigrationError('the module is missing');
      socket.end(line({ ok: true }));
      onSnapshot({ meta, module, pages }, { sentPages: head.pages, totalPages: entries.length, moduleSent: head.module > 0 });
    })().catch((e: unknown) => socket.end(line({ ok: false, error: (e as Error).message })));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/** Source side: send a snapshot; resolves with what had to be sent. */
export async function sendMigration(
  snapshotBytes: Uint8Array,
  host: string,
  port: number,
): Promise<{ sentPages: number; totalPages: number; moduleSent: boolean }> {
  const snap = decodeSnapshot(snapshotBytes);
  const socket = connect(port, host);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', (e) => reject(new MigrationError(`cannot connect to ${host}:${port}: ${e.message}`)));
  });
  const r = new FrameReader(socket);
  socket.write(line({ op: 'offer', meta: snap.meta, pageHashes: pageHashes(snap) }));
  const need = await r.json<{ needModule?: boolean; needPages?: number[]; ok?: false; error?: string }>();
  if (need.ok === false) throw new MigrationError(`the target refused: ${need.error}`);
  const module = need.needModule ? snap.module : null;
  if (need.needModule && !module) throw new MigrationError('the target needs the module, which the snapshot does not carry');
  const pages = need.needPages ?? [];
  socket.write(line({ module: module?.length ?? 0, pages: pages.length }));
  if (module) socket.write(module);
  for (const p of pages) {
    const idx = new Uint8Array(4);
    new DataView(idx.buffer).setUint32(0, p, true);
    socket.write(idx);
    socket.write(snap.pages.get(p)!);
  }
  const done = await r.json<{ ok: boolean; error?: string }>();
  socket.end();
  if (!done.ok) throw new MigrationError(`the target refused: ${done.error}`);
  return { sentPages: pages.length, totalPages: snap.pages.size, moduleSent: module !== null };
}
