// sock_accept, sock_recv, sock_send, sock_shutdown. No descriptor is a socket until
// listening sockets are pre-opened (network work): like wasmtime, a valid descriptor
// answers ENOTSOCK and an unknown one EBADF.

import { Errno } from './constants.ts';
import type { WasiState } from './state.ts';

export function sockCalls(os: WasiState) {
  const notSocket = (fd: number): number => (os.fds.get(fd) ? Errno.NOTSOCK : Errno.BADF);
  return {
    sock_accept: (fd: number, _flags: number, _fdPtr: number): number => notSocket(fd),
    sock_recv: (fd: number, _ri: number, _riLen: number, _riFlags: number, _roLen: number, _roFlags: number): number => notSocket(fd),
    sock_send: (fd: number, _si: number, _siLen: number, _siFlags: number, _soLen: number): number => notSocket(fd),
    sock_shutdown: (fd: number, _how: number): number => notSocket(fd),
  };
}
