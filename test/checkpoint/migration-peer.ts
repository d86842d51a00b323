// A hand-written migration peer for the tests: it speaks the wire protocol of
// src/checkpoint/migrate.ts byte by byte (not through its code), so a test can push what an
// attacker would push: no hello, a wrong token, an endless line. Every wait is bounded.
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { decodeSnapshot } from '../../src/checkpoint/snapshot.ts';

export interface PeerResult {
  /** Every line the receiver wrote, in order. */
  lines: string[];
  /** How the connection ended: 'end' (the receiver closed it) or an error code. */
  ended: string;
}

/** Open a connection, run `talk` on it, and collect the receiver's lines until it closes (at most `ms`). */
export function withPeer(port: number, talk: (socket: Socket, next: () => Promise<string | null>) => Promise<void>, ms = 30_000): Promise<PeerResult> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const lines: string[] = [];
    const waiting: ((l: string | null) => void)[] = [];
    let buf = '';
    let closed = false;
    let ended = 'end';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the receiver did not close the connection within ${ms} ms; it wrote: ${lines.join(' | ')}`));
    }, ms);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const l = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(l);
        waiting.shift()?.(l);
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => (ended = e.code ?? e.message));
    socket.on('close', () => {
      closed = true;
      clearTimeout(timer);
      for (const w of waiting.splice(0)) w(null);
      resolve({ lines, ended });
    });
    let read = 0;
    const next = (): Promise<string | null> => {
      if (read < lines.length) return Promise.resolve(lines[read++]!);
      if (closed) return Promise.resolve(null);
      return new Promise((r) => waiting.push((l) => (read++, r(l))));
    };
    socket.on('connect', () => {
      talk(socket, next).catch(() => socket.destroy());
    });
  });
}

/**
 * Push a whole snapshot file's program the way the protocol carries it, after `hello` (a
 * line, or nothing for a peer that skips it): offer, then the module and pages asked for.
 */
export function pushSnapshot(port: number, snapshotBytes: Uint8Array, hello: object | null): Promise<PeerResult> {
  const snap = decodeSnapshot(snapshotBytes);
  const pageHashes: Record<string, string> = {};
  for (const [p, page] of snap.pages) pageHashes[p] = createHash('sha256').update(page).digest('hex');
  return withPeer(port, async (socket, next) => {
    if (hello) {
      socket.write(JSON.stringify(hello) + '\n');
      const answer = await next();
      if (answer === null || !JSON.parse(answer).ok) return;
    }
    socket.write(JSON.stringify({ op: 'offer', meta: snap.meta, pageHashes }) + '\n');
    const needLine = await next();
    if (needLine === null) return;
    const need = JSON.parse(needLine) as { needModule?: boolean; needPages?: number[] };
    if (!need.needPages) return;
    const module = need.needModule ? snap.module! : new Uint8Array(0);
    socket.write(JSON.stringify({ module: module.length, pages: need.needPages.length }) + '\n');
    socket.write(module);
    for (const p of need.needPages) {
      const idx = Buffer.alloc(4);
      idx.writeUInt32LE(p);
      socket.write(idx);
      socket.write(snap.pages.get(p)!);
    }
    await next();
    socket.end();
  });
}
