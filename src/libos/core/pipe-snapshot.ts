// Pipes in checkpoints (docs/snapshot.md, "Pipes").
//
// A pipe can follow a checkpoint when every end of it that is still open is a descriptor of
// the picoprocess itself: a pipe it made with drawbridge_pipe and kept both ends of, or one
// whose other end was closed. Its buffered bytes are read without being consumed (DkStreamRead
// at an offset peeks on a pipe) and saved with each end; a restore makes a new pipe, writes
// the bytes back and shuts the same halves. An end also held by another picoprocess (a child's
// stdio, a fork child), or whose other end is, cannot follow: the child is not in the
// snapshot. Such a checkpoint is refused with a reason naming the descriptor.
//
// Only the Dk ABI is used: pipe attributes (ino: which pipe, size: bytes waiting, readable /
// writable: this end's halves, peerReadable / peerWritable: the other end's, shared: held
// outside this picoprocess).

import { Access, StreamSide, type Dk, type Handle, type StreamAttributes } from '../../abi/dk.ts';
import { isDkError } from '../../abi/errors.ts';

/** What a checkpoint keeps of one end of a pipe. */
export interface SavedPipeEnd {
  /** Ends with the same number are the two ends of one pipe (numbered per snapshot). */
  pair: number;
  /** Bytes written by the other end that this end has not read yet, base64. */
  data: string;
  /** Whether this end's reading and writing halves are open. */
  readOpen: boolean;
  writeOpen: boolean;
}

const RW = Access.READ | Access.WRITE;

/**
 * Save the pipe ends among `ends` (descriptor number and handle). Returns, by descriptor, what
 * to keep, or a one-line reason why the checkpoint cannot carry one of them.
 */
export function savePipes(dk: Dk, ends: readonly { fd: number; handle: Handle }[]): Map<number, SavedPipeEnd> | string {
  const out = new Map<number, SavedPipeEnd>();
  const byPipe = new Map<bigint, { fd: number; attrs: StreamAttributes }[]>();
  for (const { fd, handle } of ends) {
    const a = dk.streamAttributesQueryByHandle(handle);
    if (isDkError(a) || a.kind !== 'pipe') return `descriptor ${fd} is a stream a checkpoint cannot carry`;
    if (a.shared === true) {
      return `descriptor ${fd} is a pipe also held by a child picoprocess, which is not in the checkpoint; wait for the child (or close the descriptor) first`;
    }
    const list = byPipe.get(a.ino) ?? [];
    list.push({ fd, attrs: a });
    byPipe.set(a.ino, list);
  }
  let pair = 0;
  for (const list of byPipe.values()) {
    if (list.length > 2) return `descriptor ${list[2]!.fd} names a pipe end held twice, which a checkpoint cannot carry`;
    pair++;
    for (const { fd, attrs } of list) {
      // The other end still reads or writes, and it is not one of ours: a child holds it.
      if (list.length === 1 && (attrs.peerReadable === true || attrs.peerWritable === true)) {
        return `descriptor ${fd} is a pipe whose other end is held by a child picoprocess, which is not in the checkpoint; wait for the child (or close the descriptor) first`;
      }
      const handle = ends.find((e) => e.fd === fd)!.handle;
      const data = peekAll(dk, handle, attrs.size);
      if (typeof data === 'string') return `descriptor ${fd}: ${data}`;
      out.set(fd, { pair, data: toBase64(data), readOpen: attrs.readable, writeOpen: attrs.writable });
    }
  }
  return out;
}

/** The bytes buffered for a pipe end, without consuming them. */
function peekAll(dk: Dk, handle: Handle, size: number): Uint8Array | string {
  const buf = new Uint8Array(size);
  let got = 0;
  while (got < size) {
    const n = dk.streamRead(handle, got, buf.subarray(got));
    if (isDkError(n)) return `its buffered bytes cannot be read (${n})`;
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/**
 * Make the pipes of a snapshot again: one new pipe per pair, the buffered bytes written back,
 * the same halves shut. Returns the handle for each descriptor, or a message.
 */
export function restorePipes(dk: Dk, saved: readonly { fd: number; pipe: SavedPipeEnd }[]): Map<number, Handle> | string {
  const handles = new Map<number, Handle>();
  const pairs = new Map<number, { fd: number; pipe: SavedPipeEnd }[]>();
  for (const s of saved) {
    const list = pairs.get(s.pipe.pair) ?? [];
    list.push(s);
    pairs.set(s.pipe.pair, list);
  }
  for (const list of pairs.values()) {
    const a = dk.streamOpen('pipe:', RW, 0, 0);
    if (isDkError(a)) return `cannot make a pipe (${a})`;
    const attrs = dk.streamAttributesQueryByHandle(a);
    const b = isDkError(attrs) || attrs.peerUri === undefined ? -1 : dk.streamOpen(attrs.peerUri, RW, 0, 0);
    if (isDkError(b) || b < 0) {
      dk.objectClose(a);
      return `cannot open the other end of a pipe (${b})`;
    }
    const ends = [a, b];
    // Each end's waiting bytes are written by the other end, before any half is shut.
    for (let i = 0; i < list.length; i++) {
      const bytes = fromBase64(list[i]!.pipe.data);
      if (bytes.length === 0) continue;
      const n = dk.streamWrite(ends[1 - i]!, -1, bytes);
      if (n !== bytes.length) return `cannot put back the ${bytes.length} bytes of descriptor ${list[i]!.fd}'s pipe (${n})`;
    }
    for (let i = 0; i < list.length; i++) {
      const { fd, pipe } = list[i]!;
      if (!pipe.readOpen) dk.streamDelete(ends[i]!, StreamSide.READ);
      if (!pipe.writeOpen) dk.streamDelete(ends[i]!, StreamSide.WRITE);
      handles.set(fd, ends[i]!);
    }
    // A lone end: its other end had been closed; close the new one too (end of file, EPIPE).
    if (list.length === 1) dk.objectClose(b);
  }
  return handles;
}

function toBase64(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

function fromBase64(text: string): Uint8Array {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}
