// sock_accept, sock_recv, sock_send, sock_shutdown, and the socket state the `drawbridge`
// import module's socket/bind/listen/connect share (libos/drawbridge/net.ts).
//
// A socket is an ordinary descriptor of kind 'stream' (so fd_read, fd_write, poll_oneoff and
// fd_close work on it as on a pipe) with filetype SOCKET_STREAM or SOCKET_DGRAM, plus a
// SocketInfo (core/socket.ts) kept beside it in WasiState.sockets. Listening sockets come
// pre-opened (`drawbridge run --listen ADDR:PORT`, descriptor 3 onwards after the pre-opened
// directories, like wasmtime's --tcplisten) or from bind+listen. As in wasmtime, a
// descriptor that is no socket answers ENOTSOCK, an unknown one EBADF.
//
// Waiting: accept, recv and send on a blocking descriptor wait on the stream's readiness
// event and issue the call again (restartable, core/wait.ts); on a non-blocking one they
// answer EAGAIN (through os.wouldBlock: a guest spinning on it still lets the event loop
// turn). A blocking accept waits for the listen to settle (the listener's WRITE readiness),
// then for a pending connection (its READ readiness): WRITE stays set once the listen has
// settled, so waiting on it for a connection would never let the host take one.

import { Access, OpenOption, StreamSide, type Handle } from '../../abi/dk.ts';
import { DkError, isDkError } from '../../abi/errors.ts';
import { Errno, Fdflags, Filetype, Sdflags } from '../core/constants.ts';
import { errnoOf } from '../core/errno.ts';
import type { Description } from '../core/fds.ts';
import type { SocketInfo } from '../core/socket.ts';
import type { WasiState } from '../core/state.ts';
import { RETRY } from '../core/wait.ts';

export function socketDescription(handle: Handle, type: 'stream' | 'dgram', nonblocking: boolean): Description {
  return {
    kind: 'stream',
    handle,
    guestPath: '',
    preopen: null,
    filetype: type === 'stream' ? Filetype.SOCKET_STREAM : Filetype.SOCKET_DGRAM,
    position: 0,
    append: false,
    nonblocking,
    readable: true,
    writable: true,
  };
}

/**
 * The URI a listening socket accepts on, once its listen has settled: a string, RETRY (not
 * settled: wait on the server's WRITE readiness) or an errno (the listen failed).
 */
export function acceptUriOf(os: WasiState, desc: Description, info: SocketInfo): string | number {
  if (info.acceptUri !== null) return info.acceptUri;
  const a = os.dk.streamAttributesQueryByHandle(desc.handle);
  if (isDkError(a)) return errnoOf(a);
  if (a.localUri === undefined) return RETRY;
  info.acceptUri = a.localUri;
  return a.localUri;
}

/** The descriptor and socket state of fd, or an errno (EBADF, ENOTSOCK). */
export function socketOf(os: WasiState, fd: number): { desc: Description; info: SocketInfo } | number {
  const desc = os.fds.get(fd);
  if (!desc) return Errno.BADF;
  const info = os.sockets.get(desc);
  return info === undefined ? Errno.NOTSOCK : { desc, info };
}

export function sockCalls(os: WasiState) {
  const dk = os.dk;
  const mem = os.mem;

  function tryAccept(desc: Description, info: SocketInfo, flags: number, fdPtr: number): number {
    const uri = acceptUriOf(os, desc, info);
    if (uri === RETRY) return os.nonblocking(desc) ? Errno.AGAIN : RETRY;
    if (typeof uri === 'number') return uri;
    const h = dk.streamOpen(uri, Access.READ | Access.WRITE, 0, OpenOption.ACCEPT);
    if (h === DkError.WOULD_BLOCK) return os.nonblocking(desc) ? Errno.AGAIN : RETRY;
    if (isDkError(h)) return errnoOf(h);
    const nd = socketDescription(h, 'stream', (flags & Fdflags.NONBLOCK) !== 0);
    const fd = os.fds.add(nd);
    os.sockets.set(nd, { type: 'stream', family: info.family, state: 'connected', bound: null, acceptUri: null });
    mem.refresh();
    mem.setU32(fdPtr, fd);
    return Errno.SUCCESS;
  }

  /** Whether the listen has settled: SUCCESS, RETRY (not yet) or the errno it failed with. */
  function settled(desc: Description, info: SocketInfo): number {
    const uri = acceptUriOf(os, desc, info);
    return typeof uri === 'string' ? Errno.SUCCESS : uri;
  }

  function tryRecv(desc: Description, ri: number, riLen: number, roLenPtr: number, roFlagsPtr: number): number {
    mem.refresh();
    for (let i = 0; i < riLen; i++) {
      const ptr = mem.u32(ri + 8 * i);
      const len = mem.u32(ri + 8 * i + 4);
      if (len === 0) continue;
      const n = dk.streamRead(desc.handle, -1, mem.bytes(ptr, len));
      if (n === DkError.WOULD_BLOCK) return os.nonblocking(desc) ? Errno.AGAIN : RETRY;
      if (isDkError(n)) return errnoOf(n);
      mem.refresh();
      mem.setU32(roLenPtr, n);
      mem.setU16(roFlagsPtr, 0);
      return Errno.SUCCESS;
    }
    mem.setU32(roLenPtr, 0);
    mem.setU16(roFlagsPtr, 0);
    return Errno.SUCCESS;
  }

  function trySend(desc: Description, si: number, siLen: number, soLenPtr: number): number {
    mem.refresh();
    // One write per call: the first non-empty iovec (a short write is what send() may do).
    for (let i = 0; i < siLen; i++) {
      const ptr = mem.u32(si + 8 * i);
      const len = mem.u32(si + 8 * i + 4);
      if (len === 0) continue;
      const n = dk.streamWrite(desc.handle, -1, mem.bytes(ptr, len));
      if (n === DkError.WOULD_BLOCK) return os.nonblocking(desc) ? Errno.AGAIN : RETRY;
      if (isDkError(n)) return errnoOf(n);
      mem.refresh();
      mem.setU32(soLenPtr, n);
      return Errno.SUCCESS;
    }
    mem.setU32(soLenPtr, 0);
    return Errno.SUCCESS;
  }

  return {
    sock_accept(fd: number, flags: number, fdPtr: number): number | Promise<number> {
      const s = socketOf(os, fd);
      if (typeof s === 'number') return s;
      if ((flags & ~Fdflags.NONBLOCK) !== 0) return Errno.INVAL;
      const { desc, info } = s;
      if (info.type !== 'stream') return Errno.NOTSUP; // a bound UDP socket has nothing to accept
      if (info.state !== 'listening') return Errno.INVAL;
      const attempt = (): number => tryAccept(desc, info, flags, fdPtr);
      const r = attempt();
      if (r === Errno.AGAIN) return os.wouldBlock(r, attempt);
      if (r !== RETRY) return r;
      if (info.acceptUri !== null) return os.waitAndRetry(desc.handle, StreamSide.READ, attempt);
      // The listen has not settled: wait for it (WRITE), then for a connection (READ).
      return os
        .waitAndRetry(desc.handle, StreamSide.WRITE, () => settled(desc, info))
        .then((s) => {
          if (s !== Errno.SUCCESS) return s;
          const again = attempt();
          return again !== RETRY ? again : os.waitAndRetry(desc.handle, StreamSide.READ, attempt);
        });
    },

    sock_recv(fd: number, ri: number, riLen: number, riFlags: number, roLenPtr: number, roFlagsPtr: number): number | Promise<number> {
      const s = socketOf(os, fd);
      if (typeof s === 'number') return s;
      if (riFlags !== 0) return Errno.NOTSUP; // RECV_PEEK, RECV_WAITALL: not offered
      const { desc, info } = s;
      // A bound UDP socket receives too (recv() is recvfrom() without the address).
      if (info.state !== 'connected' && !(info.type === 'dgram' && info.state === 'listening')) return Errno.NOTCONN;
      const r = tryRecv(desc, ri, riLen, roLenPtr, roFlagsPtr);
      if (r === Errno.AGAIN) return os.wouldBlock(r, () => tryRecv(desc, ri, riLen, roLenPtr, roFlagsPtr));
      if (r !== RETRY) return r;
      return os.waitAndRetry(desc.handle, StreamSide.READ, () => tryRecv(desc, ri, riLen, roLenPtr, roFlagsPtr));
    },

    sock_send(fd: number, si: number, siLen: number, siFlags: number, soLenPtr: number): number | Promise<number> {
      const s = socketOf(os, fd);
      if (typeof s === 'number') return s;
      if (siFlags !== 0) return Errno.NOTSUP;
      const { desc, info } = s;
      if (info.type === 'dgram' && info.state === 'listening') return Errno.DESTADDRREQ; // bound, unconnected: sendto()
      if (info.state !== 'connected') return Errno.NOTCONN;
      const r = trySend(desc, si, siLen, soLenPtr);
      if (r === Errno.AGAIN) return os.wouldBlock(r, () => trySend(desc, si, siLen, soLenPtr));
      if (r !== RETRY) return r;
      return os.waitAndRetry(desc.handle, StreamSide.WRITE, () => trySend(desc, si, siLen, soLenPtr));
    },

    sock_shutdown(fd: number, how: number): number {
      const s = socketOf(os, fd);
      if (typeof s === 'number') return s;
      if (how === 0 || (how & ~(Sdflags.RD | Sdflags.WR)) !== 0) return Errno.INVAL;
      if (s.info.state !== 'connected') return Errno.NOTCONN;
      const side = how === Sdflags.RD ? StreamSide.READ : how === Sdflags.WR ? StreamSide.WRITE : StreamSide.BOTH;
      const r = dk.streamDelete(s.desc.handle, side);
      return isDkError(r) ? errnoOf(r) : Errno.SUCCESS;
    },
  };
}
