// fd_readdir: `.` and `..` first, then the entries, each with its cookie (its index + 1),
// packed into the guest buffer and truncated at its end exactly as wasmtime does, so that
// wasi-libc's readdir (which retries with a bigger buffer) sees the same bytes.

import { isDkError } from '../../abi/errors.ts';
import { Errno, Filetype } from '../core/constants.ts';
import { errnoOf } from '../core/errno.ts';
import { encodeUtf8 } from '../core/memory.ts';
import { filetypeOf } from '../core/fds.ts';
import type { WasiState } from '../core/state.ts';

const DIRENT_SIZE = 24;

export function dirCalls(os: WasiState) {
  const dk = os.dk;
  const mem = os.mem;
  return {
    fd_readdir(fd: number, buf: number, bufLen: number, cookie: bigint, bufusedPtr: number): number {
      const d = os.fds.get(fd);
      if (!d || d.kind !== 'directory') return Errno.BADF;
      const self = dk.streamAttributesQueryByHandle(d.handle);
      if (isDkError(self)) return errnoOf(self);
      const children = dk.streamEnumerateChildren(d.handle);
      if (isDkError(children)) return errnoOf(children);
      const entries: { ino: bigint; type: number; name: Uint8Array }[] = [
        { ino: self.ino, type: Filetype.DIRECTORY, name: encodeUtf8('.') },
        // wasmtime reports the directory's own inode for `..` too.
        { ino: self.ino, type: Filetype.DIRECTORY, name: encodeUtf8('..') },
      ];
      for (const c of children) {
        entries.push({ ino: c.ino, type: filetypeOf({ kind: c.kind } as never), name: encodeUtf8(c.name) });
      }
      if (cookie > BigInt(entries.length)) cookie = BigInt(entries.length);
      mem.refresh();
      const out = mem.bytes(buf, bufLen);
      const header = new Uint8Array(DIRENT_SIZE);
      const hv = new DataView(header.buffer);
      let at = 0;
      for (let i = Number(cookie); i < entries.length; i++) {
        const e = entries[i]!;
        hv.setBigUint64(0, BigInt(i + 1), true);
        hv.setBigUint64(8, e.ino, true);
        hv.setUint32(16, e.name.length, true);
        hv.setUint8(20, e.type);
        const h = Math.min(DIRENT_SIZE, bufLen - at);
        out.set(header.subarray(0, h), at);
        at += h;
        if (at === bufLen) break;
        const n = Math.min(e.name.length, bufLen - at);
        out.set(e.name.subarray(0, n), at);
        at += n;
        if (at === bufLen) break;
      }
      mem.setU32(bufusedPtr, at);
      return Errno.SUCCESS;
    },
  };
}
