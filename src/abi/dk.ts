// The Drawbridge ABI as a TypeScript interface: one method per primitive of the original
// (DkStreamOpen -> streamOpen), plus the two stream primitives WASI needs that the 2011 ABI
// lacked (they come from Gramine's PAL). Only numbers, bigints, strings, booleans,
// Uint8Array and plain records cross it: no Node types, no host objects.
//
// Conventions, relied on by the monitor, extensions and tracing (all derived from spec.ts):
// - Every result is either the value or a negative DkError code (see errors.ts).
// - Only the primitives marked `blocking` in spec.ts return a Promise; everything else
//   returns at once. A stream with nothing to give returns WOULD_BLOCK, and the caller
//   waits on the event from streamGetEvent with objectsWaitAny, then issues the call again.
// - Handles are small positive integers, private to one picoprocess.

import type { DkErrorCode } from './errors.ts';

export type Handle = number;
/** A value or a negative DkError code. */
export type DkResult<T> = T | DkErrorCode;

export const DK_ABI_VERSION = '1.0.0';

/** DkStreamOpen access bits. */
export const Access = { READ: 1, WRITE: 2, APPEND: 4 } as const;
/** DkStreamOpen creation bits. */
export const Create = { CREATE: 1, EXCLUSIVE: 2, TRUNCATE: 4 } as const;
/** DkStreamOpen option bits. */
export const OpenOption = {
  /** Fail with SYMLINK_LOOP if the last component is a symbolic link. */
  NO_FOLLOW: 1,
  /** Fail with NOT_A_DIRECTORY unless the object is a directory. */
  DIRECTORY: 2,
  /** Refer to the directory entry itself (like O_PATH): for delete, rename, link, attributes. */
  PATH_ONLY: 4,
  /** On a server URI (pipe.server:, tcp.server:): take one pending connection. */
  ACCEPT: 8,
} as const;
/** Page protection bits for the memory and map primitives. */
export const Prot = { READ: 1, WRITE: 2, EXEC: 4 } as const;
/** Which readiness DkStreamGetEvent reports, and which half DkStreamDelete shuts. */
export const StreamSide = { BOTH: 0, READ: 1, WRITE: 2 } as const;
/** Clocks of DkSystemTimeQuery. */
export const Clock = { REALTIME: 0, MONOTONIC: 1, PROCESS_CPUTIME: 2, THREAD_CPUTIME: 3 } as const;
/** DkStreamAttributesQuery options. */
export const QueryOption = { NO_FOLLOW: 1 } as const;
/** Offset value meaning "no position": streams without one, and appends. */
export const NO_OFFSET = -1;
/**
 * File status flags of an open stream (the statusFlags attribute; POSIX's O_APPEND and
 * O_NONBLOCK of fcntl F_SETFL). They belong to the stream object, so every handle on it, in
 * every picoprocess, sees the same ones (a fork's shared open file description).
 */
export const StatusFlag = { APPEND: 1, NONBLOCK: 2 } as const;

export type StreamKind = 'file' | 'directory' | 'symlink' | 'pipe' | 'pipe-server' | 'char-device' | 'socket' | 'event' | 'unknown';

export interface StreamAttributes {
  kind: StreamKind;
  /** Bytes in a file; bytes ready to read in a pipe. */
  size: number;
  readable: boolean;
  writable: boolean;
  dev: bigint;
  ino: bigint;
  nlink: bigint;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  /** Target text of a symbolic link (queried with NO_FOLLOW). */
  linkTarget?: string;
  /** URI that opens the other end of an anonymous pipe (once); a socket's remote end (tcp:ADDR:PORT). */
  peerUri?: string;
  /** Network streams: the bound local address as a URI (tcp.server:127.0.0.1:41234 after listening on port 0). */
  localUri?: string;
  /** True when the stream is an interactive terminal (what isatty() reports to the guest). */
  terminal?: boolean;
  /**
   * Files opened for data: the stream's own position, where DkStreamRead/DkStreamWrite with
   * offset NO_OFFSET happen (shared by every handle on the stream, in every picoprocess).
   */
  position?: number;
  /** Pipes: whether the other end can still write to this one (more data may come). */
  peerWritable?: boolean;
  /** Pipes: whether the other end still reads what this one writes. */
  peerReadable?: boolean;
  /** Pipes: true when this very end is also held outside the calling picoprocess (a child's handle or stdio). */
  shared?: boolean;
  /**
   * Open streams (by handle): the file status flags set with DkStreamAttributesSetByHandle
   * (StatusFlag bits; absent while none is set). APPEND: a file writes at its end, whatever
   * the offset, and a write with NO_OFFSET leaves the position there. NONBLOCK changes nothing
   * in the host (no primitive blocks): it is kept for the library OS, which fails a call with
   * EAGAIN instead of waiting.
   */
  statusFlags?: number;
}

/** Times to set; 'now' is the host's current real time. */
export interface AttributesUpdate {
  atimeNs?: bigint | 'now';
  mtimeNs?: bigint | 'now';
  /** Move a file stream's position (see StreamAttributes.position): lseek. */
  position?: number;
  /** Replace the stream's file status flags (StatusFlag bits; see StreamAttributes.statusFlags): fcntl F_SETFL. */
  statusFlags?: number;
}

export interface DirEntry {
  name: string;
  kind: StreamKind;
  ino: bigint;
}

/** One input event as DkInputEventRead returns it, 16 bytes little-endian. */
export const INPUT_EVENT_SIZE = 16;

/** Frame buffer pixel formats of DkFrameBufferExport. */
export const PixelFormat = { RGBA8888: 1 } as const;

/** The primitives. Implemented by hosts (PALs), wrapped by the monitor and by extensions. */
export interface Dk {
  // memory
  virtualMemoryAlloc(addr: number, size: number, prot: number): DkResult<number>;
  virtualMemoryFree(addr: number, size: number): DkResult<0>;
  virtualMemoryProtect(addr: number, size: number, prot: number): DkResult<0>;

  // threads and synchronisation
  threadCreate(param: number): DkResult<Handle>;
  threadDelayExecution(ns: bigint): Promise<DkResult<0>>;
  threadYieldExecution(): Promise<DkResult<0>>;
  threadExit(code: number): DkResult<0>;
  threadGetParameter(): DkResult<number>;
  threadRaiseException(thread: Handle, code: number): DkResult<0>;
  notificationEventCreate(initiallySet: boolean): DkResult<Handle>;
  synchronizationEventCreate(initiallySet: boolean): DkResult<Handle>;
  semaphoreCreate(initialCount: number, maxCount: number): DkResult<Handle>;
  semaphoreRelease(semaphore: Handle, count: number): DkResult<number>;
  semaphorePeek(semaphore: Handle): DkResult<number>;
  eventSet(event: Handle): DkResult<0>;
  eventClear(event: Handle): DkResult<0>;
  eventPeek(event: Handle): DkResult<0 | 1>;
  objectsWaitAny(handles: readonly Handle[], timeoutNs: bigint | null): Promise<DkResult<number>>;
  abortEventRegister(event: Handle): DkResult<0>;

  // child processes
  processCreate(uri: string, args: readonly string[], stdio: readonly Handle[]): DkResult<Handle>;
  processGetExitCode(process: Handle): DkResult<number>;
  processExit(code: number): DkResult<0>;

  // streams
  streamOpen(uri: string, access: number, create: number, options: number): DkResult<Handle>;
  streamRead(stream: Handle, offset: number, buffer: Uint8Array): DkResult<number>;
  streamWrite(stream: Handle, offset: number, data: Uint8Array): DkResult<number>;
  streamMap(stream: Handle, addr: number, prot: number, offset: number, size: number): DkResult<number>;
  streamMapPeBinary(stream: Handle): DkResult<Uint8Array>;
  streamUnmap(addr: number, size: number): DkResult<0>;
  streamSetLength(stream: Handle, length: number): DkResult<0>;
  streamFlush(stream: Handle): DkResult<0>;
  streamDelete(stream: Handle, side: number): DkResult<0>;
  streamGetEvent(stream: Handle, side: number): DkResult<Handle>;
  streamRename(stream: Handle, newUri: string): DkResult<0>;
  streamEnumerateChildren(stream: Handle): DkResult<DirEntry[]>;
  streamAttributesQuery(uri: string, options: number): DkResult<StreamAttributes>;
  streamAttributesQueryByHandle(stream: Handle): DkResult<StreamAttributes>;
  streamAttributesSetByHandle(stream: Handle, update: AttributesUpdate): DkResult<0>;
  streamLinkCreate(linkUri: string, target: string, symbolic: boolean): DkResult<0>;

  // other
  systemTimeQuery(clock: number): DkResult<bigint>;
  randomBitsRead(buffer: Uint8Array): DkResult<number>;
  instructionCacheFlush(): DkResult<0>;
  objectReference(handle: Handle): DkResult<0>;
  objectClose(handle: Handle): DkResult<0>;
  inputEventRead(buffer: Uint8Array): DkResult<number>;
  frameBufferExport(width: number, height: number, format: number): DkResult<Handle>;
  frameBufferNotifyUpdate(frameBuffer: Handle, x: number, y: number, width: number, height: number): DkResult<0>;
  debugStringPrint(text: string): DkResult<0>;
}

export type DkMethod = keyof Dk;

/** What the host passes to LibOsInitialize. */
export interface LibOsParameters {
  args: readonly string[];
  env: readonly string[];
  /** Guest paths pre-opened for the program, in order (WASI fd 3, 4, ...). */
  preopens: readonly string[];
}

/** Upcalls: implemented by the library OS, called by the host. */
export interface LibOsUpcalls {
  libOsInitialize(params: LibOsParameters): void;
  libOsThreadStart(param: number): Promise<void>;
  libOsExceptionDispatch(info: { thread: Handle; code: number }): void;
}
