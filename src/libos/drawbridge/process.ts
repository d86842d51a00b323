// The `process` family of the drawbridge import module: child picoprocesses and pipes, on the
// Dk ABI only (DkProcessCreate / DkProcessGetExitCode, DkStreamOpen("pipe:")). Declared for C in
// include/drawbridge/process.h; the rules are in docs/processes.md.
//
//   process_spawn(path, path_len, argv, argv_len, envp, envp_len, modes, fds, pid_out) -> errno
//   process_wait(pid, flags, pid_out, status_out) -> errno          (may wait: Suspending)
//   process_kill(pid) -> errno
//   pipe(fds_out) -> errno
//
// argv and envp are NUL-terminated strings laid end to end ((ptr, len) as WASI passes its
// arrays). modes[i] says what the child's fd i is: INHERIT (the parent's fd i now; null: if it
// is closed), PIPE (a new pipe; the parent's end is written to fds[i]), NULL, or FD (the
// parent's descriptor fds[i], e.g. one end of pipe()). Results are WASI errno values.
//
// Pids are the library OS's own small numbers (per picoprocess, from 1); a pid names a child
// handle until process_wait reaps it. process_wait is restartable: it only reads until the
// wait is over, then writes the results and reaps.

import { Access, StreamSide, type Handle } from '../../abi/dk.ts';
import { DkError, isDkError } from '../../abi/errors.ts';
import { Errno, Filetype } from '../core/constants.ts';
import { errnoOf } from '../core/errno.ts';
import type { Description } from '../core/fds.ts';
import type { SyscallFn } from '../syscall.ts';
import type { WasiState } from '../core/state.ts';

/** stdio modes of process_spawn. */
export const StdioMode = { INHERIT: 0, PIPE: 1, NULL: 2, FD: 3 } as const;
/** process_wait flags. */
export const WaitFlag = { NOHANG: 1 } as const;
/** In DkProcessCreate's args, the entries after this one are the environment (runtime/launcher.ts). */
const ENV_MARKER = '\0env';
/** The exception code process_kill delivers (SIGKILL's number; the host only asks the child to stop). */
const KILL_CODE = 9;
const RW = Access.READ | Access.WRITE;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** NUL-terminated strings laid end to end; null when malformed (no final NUL, bad UTF-8). */
function decodeStrings(bytes: Uint8Array): string[] | null {
  if (bytes.length === 0) return [];
  if (bytes[bytes.length - 1] !== 0) return null;
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0) continue;
    try {
      out.push(utf8.decode(bytes.subarray(start, i)));
    } catch {
      return null;
    }
    start = i + 1;
  }
  return out;
}

function streamDesc(handle: Handle, readable: boolean): Description {
  return {
    kind: 'stream',
    handle,
    guestPath: '',
    preopen: null,
    filetype: Filetype.UNKNOWN,
    position: 0,
    append: false,
    nonblocking: false,
    readable,
    writable: !readable,
  };
}

export function processCalls(os: WasiState): Record<string, SyscallFn> {
  const dk = os.dk;
  const mem = os.mem;
  /** pid -> the child's process handle, until reaped. */
  const children = new Map<number, Handle>();
  let nextPid = 1;
  // fork (checkpoint/capture.ts) makes its child with DkProcessCreate and hands the handle here,
  // so that process_wait and process_kill treat it as any other child.
  os.adoptChild = (h: Handle): number => {
    const pid = nextPid++;
    children.set(pid, h);
    return pid;
  };

  /** A one-way pipe: [read end, write end], the unused half of each shut. */
  function makePipe(): [Handle, Handle] | number {
    const w = dk.streamOpen('pipe:', RW, 0, 0);
    if (isDkError(w)) return errnoOf(w);
    const a = dk.streamAttributesQueryByHandle(w);
    const peer = isDkError(a) ? undefined : a.peerUri;
    const r = peer === undefined ? DkError.IO_ERROR : dk.streamOpen(peer, RW, 0, 0);
    if (isDkError(r)) {
      dk.objectClose(w);
      return errnoOf(r);
    }
    // Data flows w -> r only: so the reader sees end of file once every writer is gone, and a
    // writer gets EPIPE once every reader is gone.
    dk.streamDelete(w, StreamSide.READ);
    dk.streamDelete(r, StreamSide.WRITE);
    return [r, w];
  }

  function closeAll(handles: Handle[]): void {
    for (const h of handles) os.closeHandle(h);
  }

  /** A descriptor that can be a child's stdio: a stream or file, not a directory. */
  function stdioHandle(fd: number): Handle | number {
    const d = os.fds.get(fd);
    if (!d || d.kind === 'directory') return -Errno.BADF;
    return d.handle; // 0 for a stdio descriptor that is null: already
  }

  return {
    process_spawn(
      pathPtr: number,
      pathLen: number,
      argvPtr: number,
      argvLen: number,
      envPtr: number,
      envLen: number,
      modesPtr: number,
      fdsPtr: number,
      pidPtr: number,
    ): number {
      mem.refresh();
      const path = mem.string(pathPtr, pathLen);
      if (path === null) return Errno.ILSEQ;
      if (path.length === 0) return Errno.NOENT;
      if (path.includes('\0')) return Errno.INVAL;
      const argv = decodeStrings(mem.bytes(argvPtr, argvLen));
      const envp = decodeStrings(mem.bytes(envPtr, envLen));
      if (argv === null || envp === null) return Errno.INVAL;
      if (envp.some((e) => e.indexOf('=') <= 0)) return Errno.INVAL;
      mem.bytes(modesPtr, 12);
      mem.bytes(fdsPtr, 12);
      mem.bytes(pidPtr, 4);
      const modes = [0, 1, 2].map((i) => mem.dv.getInt32(modesPtr + 4 * i, true));
      const given = [0, 1, 2].map((i) => mem.dv.getInt32(fdsPtr + 4 * i, true));

      // Everything is checked before anything is made, so a refusal leaves nothing behind.
      const stdio: Handle[] = [0, 0, 0];
      for (let i = 0; i < 3; i++) {
        const mode = modes[i]!;
        if (mode === StdioMode.INHERIT) {
          const d = os.fds.get(i);
          stdio[i] = d && d.kind !== 'directory' ? d.handle : 0;
        } else if (mode === StdioMode.FD) {
          const h = stdioHandle(given[i]!);
          if (h < 0) return -h;
          stdio[i] = h;
        } else if (mode !== StdioMode.NULL && mode !== StdioMode.PIPE) return Errno.INVAL;
      }
      const parentEnds: (Handle | null)[] = [null, null, null];
      const childEnds: Handle[] = [];
      for (let i = 0; i < 3; i++) {
        if (modes[i] !== StdioMode.PIPE) continue;
        const p = makePipe();
        if (typeof p === 'number') {
          closeAll(childEnds);
          closeAll(parentEnds.filter((h): h is Handle => h !== null));
          return p;
        }
        const [r, w] = p;
        // The child reads its stdin and writes its stdout and stderr.
        stdio[i] = i === 0 ? r : w;
        parentEnds[i] = i === 0 ? w : r;
        childEnds.push(stdio[i]!);
      }
      const uri = 'file:' + (path.startsWith('/') ? path : '/' + path);
      const args = envp.length > 0 ? [...argv, ENV_MARKER, ...envp] : argv;
      const h = dk.processCreate(uri, args, stdio);
      // The child holds its own references to its ends; the parent keeps only its own.
      closeAll(childEnds);
      if (isDkError(h)) {
        closeAll(parentEnds.filter((x): x is Handle => x !== null));
        return errnoOf(h);
      }
      const pid = nextPid++;
      children.set(pid, h);
      mem.refresh();
      for (let i = 0; i < 3; i++) {
        const end = parentEnds[i];
        if (end == null) continue;
        mem.dv.setInt32(fdsPtr + 4 * i, os.fds.add(streamDesc(end, i !== 0)), true);
      }
      mem.setU32(pidPtr, pid);
      return Errno.SUCCESS;
    },

    async process_wait(pid: number, flags: number, pidPtr: number, statusPtr: number): Promise<number> {
      if ((flags & ~WaitFlag.NOHANG) !== 0) return Errno.INVAL;
      for (;;) {
        const candidates: [number, Handle][] = pid === -1 ? [...children] : children.has(pid) ? [[pid, children.get(pid)!]] : [];
        if (candidates.length === 0) return Errno.CHILD;
        for (const [p, h] of candidates) {
          const code = dk.processGetExitCode(h);
          if (code === DkError.WOULD_BLOCK) continue;
          if (isDkError(code)) return errnoOf(code);
          // The wait is over: write the results first (a bad pointer faults before the reap).
          mem.refresh();
          mem.setU32(pidPtr, p);
          mem.setU32(statusPtr, code);
          children.delete(p);
          os.closeHandle(h);
          return Errno.SUCCESS;
        }
        if ((flags & WaitFlag.NOHANG) !== 0) return Errno.AGAIN;
        const r = await dk.objectsWaitAny(
          candidates.map(([, h]) => h),
          null,
        );
        if (isDkError(r)) return errnoOf(r);
      }
    },

    process_kill(pid: number): number {
      const h = children.get(pid);
      if (h === undefined) return Errno.SRCH;
      const r = dk.threadRaiseException(h, KILL_CODE);
      return isDkError(r) ? errnoOf(r) : Errno.SUCCESS;
    },

    pipe(fdsPtr: number): number {
      mem.refresh();
      mem.bytes(fdsPtr, 8);
      const p = makePipe();
      if (typeof p === 'number') return p;
      const [r, w] = p;
      const rfd = os.fds.add(streamDesc(r, true));
      const wfd = os.fds.add(streamDesc(w, false));
      mem.refresh();
      mem.dv.setInt32(fdsPtr, rfd, true);
      mem.dv.setInt32(fdsPtr + 4, wfd, true);
      return Errno.SUCCESS;
    },
  };
}
