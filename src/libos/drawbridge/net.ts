// The `drawbridge` import module's network calls: what WASI preview 1 lacks to make sockets.
// include/drawbridge/net.h declares them for C and wraps them as socket(), bind(), listen(),
// connect(), getaddrinfo(), getsockname(), getpeername(). Every call returns a WASI errno.
//
//   socket(domain, type, fd_out)             AF_INET/AF_INET6 (1/2), SOCK_STREAM/SOCK_DGRAM (6/5,
//                                            may carry SOCK_NONBLOCK 0x4000)
//   bind(fd, sockaddr, len)                  TCP: records the address; the host binds at listen().
//                                            UDP: opens udp.bind:ADDR:PORT and waits until bound
//   recvfrom(fd, buf, len, flags, sockaddr, len_inout, n_out)
//                                            one datagram (or bytes) and where it came from
//   sendto(fd, buf, len, flags, sockaddr, len, n_out)
//                                            one datagram to sockaddr (an unbound UDP socket is
//                                            bound to the any-address, port 0, first)
//   listen(fd, backlog)                      opens tcp.server:ADDR:PORT; waits until it is bound
//   connect(fd, sockaddr, len)               opens tcp:/udp:ADDR:PORT; waits until connected
//                                            (non-blocking: EINPROGRESS, then EALREADY/EISCONN)
//   getaddrinfo(name, name_len, out, max, count_out)
//                                            resolves through dns:; writes up to max records of
//                                            20 bytes: u16 family (1 or 2), u16 0, 16 address bytes
//   getsockname / getpeername(fd, sockaddr, len_inout)
//
// sockaddr layouts are wasi-libc's: sockaddr_in {u16 family; u16 port (big-endian); u8 addr[4]}
// (16 bytes), sockaddr_in6 {u16 family; u16 port; u32 flowinfo; u8 addr[16]; u32 scope} (32).
// A connect's address is checked by the monitor against the connect grants (EPERM when
// refused); a listen's against the listen grants; a UDP bind's against the listen grants and
// each sendto's destination against the connect grants.
//
// On a non-blocking socket a call that would wait answers EAGAIN (EALREADY for a connect in
// progress) through os.wouldBlock: a guest spinning on it still lets the event loop turn.
//
// A bound UDP socket is in state 'listening' (sock.ts) with its bound URI in acceptUri, so a
// checkpoint re-binds it as it re-binds a TCP listener.

import { Access, Create, StreamSide } from '../../abi/dk.ts';
import { DkError, isDkError } from '../../abi/errors.ts';
import { parseIp } from '../../abi/ip.ts';
import { Errno } from '../core/constants.ts';
import { errnoOf } from '../core/errno.ts';
import type { Description } from '../core/fds.ts';
import type { SocketInfo } from '../core/socket.ts';
import type { WasiState } from '../core/state.ts';
import { RETRY } from '../core/wait.ts';
import { acceptUriOf, socketDescription, socketOf } from '../wasi/sock.ts';
import type { SyscallFn } from '../syscall.ts';

const AF_INET = 1;
const AF_INET6 = 2;
const SOCK_DGRAM = 5;
const SOCK_STREAM = 6;
const SOCK_NONBLOCK = 0x4000;
const SOCK_CLOEXEC = 0x2000;
export const SOCKADDR_IN_SIZE = 16;
export const SOCKADDR_IN6_SIZE = 32;
export const ADDRINFO_RECORD_SIZE = 20;
const NAME_MAX = 253;
/** Largest UDP payload (IPv4): a bigger sendto is EMSGSIZE. */
const UDP_PAYLOAD_MAX = 65507;

/** "1.2.3.4:80" / "[0:0:0:0:0:0:0:1]:80" from a guest sockaddr, or an errno. */
function readSockaddr(os: WasiState, ptr: number, len: number, family: 4 | 6): string | number {
  os.mem.refresh();
  const b = os.mem.bytes(ptr, len);
  if (len < 2) return Errno.INVAL;
  const af = b[0]! | (b[1]! << 8);
  if (af !== (family === 4 ? AF_INET : AF_INET6)) return Errno.AFNOSUPPORT;
  if (len < (family === 4 ? 8 : 24)) return Errno.INVAL;
  const port = (b[2]! << 8) | b[3]!;
  if (family === 4) return `${b[4]}.${b[5]}.${b[6]}.${b[7]}:${port}`;
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(((b[8 + 2 * i]! << 8) | b[9 + 2 * i]!).toString(16));
  return `[${groups.join(':')}]:${port}`;
}

/** "scheme:HOST:PORT" -> host and port. */
function splitUri(uri: string): { host: string; port: number } | null {
  const rest = uri.slice(uri.indexOf(':') + 1);
  const i = rest.lastIndexOf(':');
  if (i <= 0) return null;
  return { host: rest.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(rest.slice(i + 1)) };
}

/** Write a sockaddr for host:port at ptr (at most *lenPtr bytes, as POSIX truncates); sets *lenPtr. */
function writeSockaddr(os: WasiState, ptr: number, lenPtr: number, host: string, port: number, family: 4 | 6): number {
  const addr = parseIp(host)?.bytes ?? new Uint8Array(family === 4 ? 4 : 16);
  const v6 = addr.length === 16;
  const rec = new Uint8Array(v6 ? SOCKADDR_IN6_SIZE : SOCKADDR_IN_SIZE);
  rec[0] = v6 ? AF_INET6 : AF_INET;
  rec[2] = port >> 8;
  rec[3] = port & 0xff;
  rec.set(addr, v6 ? 8 : 4);
  os.mem.refresh();
  const room = os.mem.u32(lenPtr);
  os.mem.write(ptr, rec.subarray(0, Math.min(room, rec.length)));
  os.mem.setU32(lenPtr, rec.length);
  return Errno.SUCCESS;
}

export function netCalls(os: WasiState): Record<string, SyscallFn> {
  const dk = os.dk;
  const mem = os.mem;

  /** Drop a handle that did not become a working socket; the descriptor goes back to `state`. */
  function undo(desc: Description, info: SocketInfo, state: SocketInfo['state']): void {
    if (desc.handle) os.closeHandle(desc.handle);
    desc.handle = 0;
    info.state = state;
    info.acceptUri = null;
  }

  /** Connected yet? An empty write answers 0 once connected, the error if it failed. */
  function probeConnect(desc: Description, info: SocketInfo): number {
    const r = dk.streamWrite(desc.handle, -1, new Uint8Array(0));
    if (r === DkError.WOULD_BLOCK) return os.nonblocking(desc) ? Errno.ALREADY : RETRY;
    if (isDkError(r)) {
      undo(desc, info, 'fresh');
      return errnoOf(r);
    }
    info.state = 'connected';
    return Errno.SUCCESS;
  }

  function probeListen(desc: Description, info: SocketInfo): number {
    const uri = acceptUriOf(os, desc, info);
    if (uri === RETRY) return RETRY;
    if (typeof uri === 'number') {
      undo(desc, info, 'bound');
      return uri;
    }
    return Errno.SUCCESS;
  }

  /** Bound yet? An empty write answers 0 once bound, the error if the bind failed. */
  function probeBind(desc: Description, info: SocketInfo): number {
    const r = dk.streamWrite(desc.handle, -1, new Uint8Array(0));
    if (r === DkError.WOULD_BLOCK) return RETRY;
    if (isDkError(r)) {
      undo(desc, info, 'fresh');
      info.bound = null;
      return errnoOf(r);
    }
    const a = dk.streamAttributesQueryByHandle(desc.handle);
    info.acceptUri = !isDkError(a) && a.localUri !== undefined ? a.localUri : `udp.bind:${info.bound}`;
    return Errno.SUCCESS;
  }

  /** UDP bind: the host binds now (a bound socket receives); waits until it has. */
  function bindDatagram(desc: Description, info: SocketInfo, where: string): number | Promise<number> {
    if (info.state === 'fresh') {
      const h = dk.streamOpen(`udp.bind:${where}`, Access.READ | Access.WRITE, Create.CREATE, 0);
      if (isDkError(h)) return errnoOf(h);
      desc.handle = h;
      info.bound = where;
      info.state = 'listening';
    }
    const r = probeBind(desc, info);
    return r !== RETRY ? r : os.waitAndRetry(desc.handle, StreamSide.WRITE, () => probeBind(desc, info));
  }

  /** A UDP socket bound and settled (a bind in progress is not, yet). */
  function isBoundDatagram(info: SocketInfo): boolean {
    return info.type === 'dgram' && info.state === 'listening' && info.acceptUri !== null;
  }

  /** Write the peer of the datagram (or connection) last read into a sockaddr, if asked for. */
  function writePeer(desc: Description, info: SocketInfo, addrPtr: number, lenPtr: number): number {
    if (addrPtr === 0) return Errno.SUCCESS;
    const a = dk.streamAttributesQueryByHandle(desc.handle);
    const where = isDkError(a) || a.peerUri === undefined ? null : splitUri(a.peerUri);
    if (where === null) {
      mem.refresh();
      mem.setU32(lenPtr, 0); // no address to tell
      return Errno.SUCCESS;
    }
    return writeSockaddr(os, addrPtr, lenPtr, where.host, where.port, info.family);
  }

  function tryRecvFrom(desc: Description, info: SocketInfo, buf: number, len: number, addrPtr: number, lenPtr: number, nPtr: number): number {
    mem.refresh();
    const n = dk.streamRead(desc.handle, -1, mem.bytes(buf, len));
    if (n === DkError.WOULD_BLOCK) return os.nonblocking(desc) ? Errno.AGAIN : RETRY;
    if (isDkError(n)) return errnoOf(n);
    const r = writePeer(desc, info, addrPtr, lenPtr);
    if (r !== Errno.SUCCESS) return r;
    mem.refresh();
    mem.setU32(nPtr, n);
    return Errno.SUCCESS;
  }

  function trySendTo(desc: Description, data: Uint8Array, payload: number, nPtr: number): number {
    const n = dk.streamWrite(desc.handle, -1, data);
    if (n === DkError.WOULD_BLOCK) return os.nonblocking(desc) ? Errno.AGAIN : RETRY;
    if (isDkError(n)) return n === DkError.INVALID_ARGUMENT && payload > UDP_PAYLOAD_MAX ? Errno.MSGSIZE : errnoOf(n);
    mem.refresh();
    mem.setU32(nPtr, Math.min(n, payload));
    return Errno.SUCCESS;
  }

  return {
    socket(domain: number, type: number, fdPtr: number): number {
      if (domain !== AF_INET && domain !== AF_INET6) return Errno.AFNOSUPPORT;
      const base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (base !== SOCK_STREAM && base !== SOCK_DGRAM) return Errno.PROTOTYPE;
      const kind = base === SOCK_STREAM ? 'stream' : 'dgram';
      // No host object until connect or listen: handle 0 (reads and writes answer EBADF).
      const desc = socketDescription(0, kind, (type & SOCK_NONBLOCK) !== 0);
      const fd = os.fds.add(desc);
      os.sockets.set(desc, { type: kind, family: domain === AF_INET ? 4 : 6, state: 'fresh', bound: null, acceptUri: null });
      mem.refresh();
      mem.setU32(fdPtr, fd);
      return Errno.SUCCESS;
    },

    bind(fd: number, addrPtr: number, addrLen: number): number | Promise<number> {
      const s = socketOf(os, fd);
      if (typeof s === 'number') return s;
      const { desc, info } = s;
      // A UDP bind that was waiting when the call was cut (restartable): wait again.
      if (info.type === 'dgram' && info.state === 'listening' && info.acceptUri === null) return bindDatagram(desc, info, info.bound!);
      if (info.state !== 'fresh') return Errno.INVAL;
      const addr = readSockaddr(os, addrPtr, addrLen, info.family);
      if (typeof addr === 'number') return addr;
      if (info.type === 'dgram') return bindDatagram(desc, info, addr);
      info.bound = addr;
      info.state = 'bound';
      return Errno.SUCCESS;
    },

    recvfrom(fd: number, buf: number, len: number, flags: number, addrPtr: number, lenPtr: number, nPtr: number): number | Promise<number> {
      const s = socketOf(os, fd);
      if (typeof s === 'number') return s;
      if (flags !== 0) return Errno.NOTSUP; // MSG_PEEK, MSG_WAITALL, ...: not offered
      const { desc, info } = s;
      if (info.state !== 'connected' && !isBoundDatagram(info)) return Errno.NOTCONN;
      const attempt = (): number => tryRecvFrom(desc, info, buf, len, addrPtr, lenPtr, nPtr);
      const r = attempt();
      if (r === Errno.AGAIN) return os.wouldBlock(r, attempt);
      return r !== RETRY ? r : os.waitAndRetry(desc.handle, StreamSide.READ, attempt);
    },

    sendto(fd: number, buf: number, len: number, flags: number, addrPtr: number, addrLen: number, nPtr: number): number | Promise<number> {
      const s = socketOf(os, fd);
      if (typeof s === 'number') return s;
      if (flags !== 0) return Errno.NOTSUP;
      const { desc, info } = s;
      mem.refresh();
      mem.bytes(buf, len); // checked before any side effect
      if (info.state === 'connected') {
        // The address of a connected socket is its peer (one given is not looked at).
        const attempt = (): number => {
          mem.refresh();
          return trySendTo(desc, mem.bytes(buf, len), len >>> 0, nPtr);
        };
        const r = attempt();
        if (r === Errno.AGAIN) return os.wouldBlock(r, attempt);
        return r !== RETRY ? r : os.waitAndRetry(desc.handle, StreamSide.WRITE, attempt);
      }
      if (info.type !== 'dgram') return Errno.NOTCONN;
      if (addrPtr === 0) return Errno.DESTADDRREQ;
      const to = readSockaddr(os, addrPtr, addrLen, info.family);
      if (typeof to === 'number') return to;
      const send = (): number | Promise<number> => {
        // The datagram: its destination as a first line, then the payload (host/kernel/net/datagram.ts).
        const attempt = (): number => {
          mem.refresh();
          const payload = mem.bytes(buf, len);
          const head = new TextEncoder().encode(`udp:${to}\n`);
          const data = new Uint8Array(head.length + payload.length);
          data.set(head, 0);
          data.set(payload, head.length);
          return trySendTo(desc, data, payload.length, nPtr);
        };
        const r = attempt();
        if (r === Errno.AGAIN) return os.wouldBlock(r, attempt);
        return r !== RETRY ? r : os.waitAndRetry(desc.handle, StreamSide.WRITE, attempt);
      };
      if (isBoundDatagram(info)) return send();
      if (info.state !== 'fresh' && !(info.state === 'listening' && info.type === 'dgram')) return Errno.INVAL;
      // Not bound yet: bound to the any-address and a free port first, as Linux does.
      const bound = bindDatagram(desc, info, info.bound ?? (info.family === 4 ? '0.0.0.0:0' : '[::]:0'));
      if (typeof bound === 'number') return bound !== Errno.SUCCESS ? bound : send();
      return bound.then((r) => (r !== Errno.SUCCESS ? r : send()));
    },

    listen(fd: number, _backlog: number): number | Promise<number> {
      const s = socketOf(os, fd);
      if (typeof s === 'number') return s;
      const { desc, info } = s;
      if (info.type !== 'stream') return Errno.NOTSUP;
      if (info.state === 'connecting' || info.state === 'connected') return Errno.INVAL;
      if (info.state === 'fresh' || info.state === 'bound') {
        // Unbound: any address, any port (as Linux binds on listen).
        const where = info.bound ?? (info.family === 4 ? '0.0.0.0:0' : '[::]:0');
        const h = dk.streamOpen(`tcp.server:${where}`, Access.READ, Create.CREATE, 0);
        if (isDkError(h)) return errnoOf(h);
        desc.handle = h;
        desc.writable = false;
        info.bound = where;
        info.state = 'listening';
      }
      const r = probeListen(desc, info);
      if (r !== RETRY) return r;
      return os.waitAndRetry(desc.handle, StreamSide.WRITE, () => probeListen(desc, info));
    },

    connect(fd: number, addrPtr: number, addrLen: number): number | Promise<number> {
      const s = socketOf(os, fd);
      if (typeof s === 'number') return s;
      const { desc, info } = s;
      if (info.state === 'connected') return Errno.ISCONN;
      if (info.state === 'listening') return Errno.INVAL;
      if (info.state === 'fresh' || info.state === 'bound') {
        const addr = readSockaddr(os, addrPtr, addrLen, info.family);
        if (typeof addr === 'number') return addr;
        const h = dk.streamOpen(`${info.type === 'stream' ? 'tcp' : 'udp'}:${addr}`, Access.READ | Access.WRITE, 0, 0);
        if (isDkError(h)) return errnoOf(h);
        desc.handle = h;
        info.state = 'connecting';
        const first = probeConnect(desc, info);
        if (first === Errno.ALREADY) return Errno.INPROGRESS; // non-blocking: the first answer
        if (first !== RETRY) return first;
      } else {
        const again = probeConnect(desc, info);
        // Asked again while connecting (non-blocking): EALREADY, a would-block answer.
        if (again === Errno.ALREADY) return os.wouldBlock(again, () => probeConnect(desc, info));
        if (again !== RETRY) return again;
      }
      return os.waitAndRetry(desc.handle, StreamSide.WRITE, () => probeConnect(desc, info));
    },

    getsockname(fd: number, addrPtr: number, lenPtr: number): number | Promise<number> {
      const s = socketOf(os, fd);
      if (typeof s === 'number') return s;
      const { desc, info } = s;
      if (info.state === 'listening') {
        // A listen still settling (a pre-opened socket, just started): wait for the bound port.
        const attempt = (): number => {
          const uri = acceptUriOf(os, desc, info);
          if (typeof uri === 'number') return uri;
          const where = splitUri(uri);
          return where === null ? Errno.INVAL : writeSockaddr(os, addrPtr, lenPtr, where.host, where.port, info.family);
        };
        const r = attempt();
        return r !== RETRY ? r : os.waitAndRetry(desc.handle, StreamSide.WRITE, attempt);
      }
      let where: { host: string; port: number } | null = null;
      if (info.state === 'connected' || info.state === 'connecting') {
        const a = dk.streamAttributesQueryByHandle(desc.handle);
        if (!isDkError(a) && a.localUri !== undefined) where = splitUri(a.localUri);
      } else if (info.bound !== null) where = splitUri(`x:${info.bound}`);
      where ??= { host: info.family === 4 ? '0.0.0.0' : '::', port: 0 };
      return writeSockaddr(os, addrPtr, lenPtr, where.host, where.port, info.family);
    },

    getpeername(fd: number, addrPtr: number, lenPtr: number): number {
      const s = socketOf(os, fd);
      if (typeof s === 'number') return s;
      if (s.info.state !== 'connected') return Errno.NOTCONN;
      const a = dk.streamAttributesQueryByHandle(s.desc.handle);
      if (isDkError(a)) return errnoOf(a);
      const where = a.peerUri === undefined ? null : splitUri(a.peerUri);
      if (where === null) return Errno.NOTCONN;
      return writeSockaddr(os, addrPtr, lenPtr, where.host, where.port, s.info.family);
    },

    getaddrinfo(namePtr: number, nameLen: number, outPtr: number, max: number, countPtr: number): number | Promise<number> {
      mem.refresh();
      if (nameLen >>> 0 > NAME_MAX) return Errno.NAMETOOLONG;
      const name = mem.string(namePtr, nameLen);
      if (name === null) return Errno.ILSEQ;
      mem.bytes(outPtr, (max >>> 0) * ADDRINFO_RECORD_SIZE); // checked before any side effect
      const h = dk.streamOpen(`dns:${name}`, Access.READ, 0, 0);
      if (isDkError(h)) return h === DkError.INVALID_ARGUMENT ? Errno.NOENT : errnoOf(h);
      const buf = new Uint8Array(4096);
      let text = '';
      const attempt = (): number => {
        for (;;) {
          const n = dk.streamRead(h, -1, buf);
          if (n === DkError.WOULD_BLOCK) return RETRY;
          if (isDkError(n)) return errnoOf(n);
          if (n === 0) return finish();
          text += new TextDecoder().decode(buf.subarray(0, n));
        }
      };
      const finish = (): number => {
        const records: Uint8Array[] = [];
        for (const line of text.split('\n')) {
          const bytes = parseIp(line.trim())?.bytes;
          if (bytes === undefined) continue;
          const rec = new Uint8Array(ADDRINFO_RECORD_SIZE);
          rec[0] = bytes.length === 4 ? AF_INET : AF_INET6;
          rec.set(bytes, 4);
          records.push(rec);
        }
        mem.refresh();
        const count = Math.min(records.length, max >>> 0);
        for (let i = 0; i < count; i++) mem.write(outPtr + i * ADDRINFO_RECORD_SIZE, records[i]!);
        mem.setU32(countPtr, count);
        return Errno.SUCCESS;
      };
      const close = (r: number): number => {
        os.closeHandle(h);
        return r;
      };
      const r = attempt();
      if (r !== RETRY) return close(r);
      return os.waitAndRetry(h, StreamSide.READ, attempt).then(close);
    },
  };
}
