// The Drawbridge ABI declared once, as data. Tracing, record/replay, the monitor's generic
// wrapper, `drawbridge abi` and docs/abi.md are all derived from this table; a test checks
// that it and the Dk interface (dk.ts) name exactly the same primitives.

import type { DkMethod } from './dk.ts';

export type Category = 'memory' | 'threads' | 'processes' | 'streams' | 'other' | 'upcalls';

/**
 * Argument and result types, as tracing and the transport see them:
 * handle (small int), int (a JS number), bigint, bool, string, strings (string[]),
 * handles (handle[]), bytes-in (data the caller gives), bytes-out (a buffer the callee fills),
 * record (plain object), flags:NAME (an int of the named bit set).
 */
export type ArgType =
  'handle' | 'int' | 'bigint' | 'bigint?' | 'bool' | 'string' | 'strings' | 'handles' | 'bytes-in' | 'bytes-out' | 'record' | `flags:${string}`;

export interface ArgSpec {
  name: string;
  type: ArgType;
}

export type Support = { level: 'full' } | { level: 'partial'; note: string };

export interface PrimitiveSpec {
  /** The original name, e.g. DkStreamOpen. */
  name: string;
  /** The method on the Dk interface. */
  method: DkMethod;
  category: Category;
  /** True only for primitives that wait: they return a Promise. */
  blocking: boolean;
  args: readonly ArgSpec[];
  result: string;
  /** Nondeterministic results are what record/replay logs. */
  nondeterministic: boolean;
  doc: string;
  support: Support;
}

export interface UpcallSpec {
  name: string;
  method: string;
  category: 'upcalls';
  blocking: boolean;
  args: readonly ArgSpec[];
  result: string;
  doc: string;
  support: Support;
}

const full: Support = { level: 'full' };
const partial = (note: string): Support => ({ level: 'partial', note });

function a(spec: string): ArgSpec[] {
  // "name:type name:type" -> ArgSpec[]
  return spec
    .split(' ')
    .filter(Boolean)
    .map((part) => {
      const i = part.indexOf(':');
      return { name: part.slice(0, i), type: part.slice(i + 1) as ArgType };
    });
}

function p(
  name: string,
  category: Exclude<Category, 'upcalls'>,
  args: string,
  result: string,
  doc: string,
  opts: { blocking?: boolean; nondeterministic?: boolean; support?: Support } = {},
): PrimitiveSpec {
  const method = (name[2]!.toLowerCase() + name.slice(3)) as DkMethod;
  return {
    name,
    method,
    category,
    blocking: opts.blocking ?? false,
    args: a(args),
    result,
    nondeterministic: opts.nondeterministic ?? false,
    doc,
    support: opts.support ?? full,
  };
}

export const PRIMITIVES: readonly PrimitiveSpec[] = [
  // memory
  p(
    'DkVirtualMemoryAlloc',
    'memory',
    'addr:int size:int prot:flags:Prot',
    'address',
    'Commits zeroed pages in the picoprocess address space (its Wasm linear memory). addr 0 grows the memory and returns the new region; a non-zero addr must lie inside memory already grown and is zeroed and marked committed.',
    { support: partial('Wasm memory grows only at its end: a non-zero addr past the current size returns NO_MEMORY rather than reserving a hole.') },
  ),
  p('DkVirtualMemoryFree', 'memory', 'addr:int size:int', '0', 'Decommits pages: they are zeroed and their accounting released.', {
    support: partial('Wasm memory cannot shrink: freed pages are zeroed and uncounted, not returned to the host.'),
  }),
  p('DkVirtualMemoryProtect', 'memory', 'addr:int size:int prot:flags:Prot', '0', 'Records the protection of a committed range.', {
    support: partial('Wasm has no page protection: the protection is recorded and reported, not enforced by hardware.'),
  }),

  // threads and synchronisation
  p(
    'DkThreadCreate',
    'threads',
    'param:int',
    'handle',
    'Starts a thread of the picoprocess that runs the LibOsThreadStart upcall with param. Threads are scheduled cooperatively on the host event loop and switch at blocking primitives. The handle is signalled when the thread exits.',
    { support: partial('Threads are green threads of one event loop: they interleave at waits, never run in parallel.') },
  ),
  p(
    'DkThreadDelayExecution',
    'threads',
    'ns:bigint',
    '0',
    'Sleeps the calling thread for ns nanoseconds. Returns INTERRUPTED if an exception is raised on it meanwhile.',
    { blocking: true },
  ),
  p('DkThreadYieldExecution', 'threads', '', '0', 'Lets other threads and picoprocesses run.', { blocking: true }),
  p(
    'DkThreadExit',
    'threads',
    'code:int',
    '0',
    'Ends the calling thread: its handle is signalled with code. The caller must return from LibOsThreadStart; further primitives from it return EXITED.',
  ),
  p('DkThreadGetParameter', 'threads', '', 'int', 'The param the calling thread was created with (0 for the first thread).'),
  p(
    'DkThreadRaiseException',
    'threads',
    'thread:handle code:int',
    '0',
    "Delivers an exception to a thread: LibOsExceptionDispatch runs with the code, and a wait in progress on that thread returns INTERRUPTED. On a child process handle (DkProcessCreate) it asks the child to stop: the child is killed (exit code 137 under the runtime's launcher) and its handle signals once it has exited.",
  ),
  p('DkNotificationEventCreate', 'threads', 'initiallySet:bool', 'handle', 'A manual-reset event: once set, it wakes every waiter until cleared.'),
  p('DkSynchronizationEventCreate', 'threads', 'initiallySet:bool', 'handle', 'An auto-reset event: a set wakes one waiter and clears itself.'),
  p('DkSemaphoreCreate', 'threads', 'initialCount:int maxCount:int', 'handle', 'A counting semaphore; a wait that it satisfies takes one count.'),
  p(
    'DkSemaphoreRelease',
    'threads',
    'semaphore:handle count:int',
    'previous count',
    'Adds count; fails with OVERFLOW past maxCount, leaving the count as it was.',
  ),
  p('DkSemaphorePeek', 'threads', 'semaphore:handle', 'count', 'The current count, without taking one.'),
  p('DkEventSet', 'threads', 'event:handle', '0', 'Sets an event.'),
  p('DkEventClear', 'threads', 'event:handle', '0', 'Clears an event.'),
  p('DkEventPeek', 'threads', 'event:handle', '0 or 1', 'Whether an event is set, without consuming it.'),
  p(
    'DkObjectsWaitAny',
    'threads',
    'handles:handles timeoutNs:bigint?',
    'index',
    'Waits until one of the objects is signalled (event, semaphore, thread, process, stream event) and returns its index; TIMED_OUT after timeoutNs (null waits forever, 0 polls). An auto-reset event or semaphore that satisfies the wait is consumed.',
    { blocking: true, nondeterministic: true },
  ),
  p('DkAbortEventRegister', 'threads', 'event:handle', '0', 'Registers an event that the host sets when the picoprocess is asked to stop (kill, Ctrl-C).'),

  // child processes
  p(
    'DkProcessCreate',
    'processes',
    'uri:string args:strings stdio:handles',
    'handle',
    'Starts a child picoprocess from a module URI with args; stdio gives the handles that become its stdin, stdout and stderr (0 for null), then any further streams the child shares with its parent: the child opens entry N (N >= 3) once with DkStreamOpen("inherit:N"), a handle on the very same object (one position for a file, one pipe end whose holders all count; how fork shares descriptors). The handle is signalled when the child exits. Entries of args after one equal to "\\0env" (it holds a NUL byte, so no C argument can be it) are the child\'s NAME=VALUE environment. The child counts against limits.children; under the runtime it gets its parent\'s manifest with children = 0 (docs/processes.md).',
    {
      nondeterministic: true,
      support: partial('Needs a process launcher from the runtime (the runtime always supplies one); a bare host without one returns NOT_SUPPORTED.'),
    },
  ),
  p(
    'DkProcessGetExitCode',
    'processes',
    'process:handle',
    'exit code',
    'The exit code of a child that has exited; WOULD_BLOCK while it runs (wait on its handle).',
    { nondeterministic: true },
  ),
  p('DkProcessExit', 'processes', 'code:int', '0', 'Ends the calling picoprocess with code: its threads stop at their next primitive, its handles are closed.'),

  // streams
  p(
    'DkStreamOpen',
    'streams',
    'uri:string access:flags:Access create:flags:Create options:flags:OpenOption',
    'handle',
    'Opens a stream by URI: file:, dir:, null:, reset: (a connection reset by its peer: reads and writes answer CONNECTION_RESET; what a restored connected socket becomes), stdin:, stdout:, stderr:, pipe: (an anonymous pair: the end returned has attribute peerUri, which opens the other end once; both ends read and write, like a socketpair), pipe.server:NAME (with CREATE: listen; with ACCEPT: take a pending connection), pipe.client:NAME, dev:fb, dev:input, inherit:N (once: the stream its parent passed as entry N of DkProcessCreate\'s stdio). dir: with CREATE makes a directory. Network (docs/network.md): tcp:ADDR:PORT connects; tcp.server:ADDR:PORT with CREATE listens (port 0: any; the bound address is the attribute localUri) and, with ACCEPT and the bound URI, takes one pending connection of a server this picoprocess opened; udp:ADDR:PORT is a connected datagram socket; udp.bind:ADDR:PORT a bound one (port 0: any), which reads datagrams from anyone (the attribute peerUri is the source of the one last read) and writes each to the destination its first line names ("udp:ADDR:PORT\\n", then the payload); dns:NAME reads the addresses NAME resolves to, one per line; http.server:ADDR:PORT with CREATE serves HTTP and with ACCEPT gives one request as a stream pair (read: the request as HTTP text, then its body; write: the response as HTTP text). ADDR is an IP literal (IPv6 in brackets); names are INVALID_ARGUMENT (resolve with dns:). Opening never waits: a connect or listen settles later (WRITE readiness), and a failure is answered by the next operation (CONNECTION_REFUSED, ADDRESS_IN_USE).',
  ),
  p(
    'DkStreamRead',
    'streams',
    'stream:handle offset:int buffer:bytes-out',
    'bytes read',
    'Reads into buffer at offset. -1 (NO_OFFSET): a stream without a position reads what comes next, and a file reads at its own position (the position attribute), which it advances. On a pipe an offset >= 0 peeks: it copies the bytes buffered from that offset on and consumes nothing (what a checkpoint saves). 0 is end of stream; WOULD_BLOCK when nothing is ready.',
    { nondeterministic: true },
  ),
  p(
    'DkStreamWrite',
    'streams',
    'stream:handle offset:int data:bytes-in',
    'bytes written',
    'Writes data at offset (-1: streams without a position, and appends; a file writes at its own position and advances it; a file with the APPEND status flag writes at its end, whatever the offset). WOULD_BLOCK when the stream cannot take any now; BROKEN_PIPE when the reader is gone.',
  ),
  p(
    'DkStreamMap',
    'streams',
    'stream:handle addr:int prot:flags:Prot offset:int size:int',
    'address',
    'Maps size bytes of a file at offset into the address space at addr (0: a fresh region).',
    { support: partial('A private copy: the bytes are copied in, and a writable mapping is written back at DkStreamUnmap, not shared live.') },
  ),
  p(
    'DkStreamMapPeBinary',
    'streams',
    'stream:handle',
    'module image',
    'Maps an executable image: reads a whole Wasm module from a file (from its start) or a pipe (to its end) and checks its header, the image the loader compiles. Other streams (devices, sockets) are WRONG_HANDLE_TYPE: a device never ends.',
  ),
  p('DkStreamUnmap', 'streams', 'addr:int size:int', '0', 'Unmaps a range mapped by DkStreamMap, writing a writable mapping back.'),
  p('DkStreamSetLength', 'streams', 'stream:handle length:int', '0', 'Truncates or extends a file.'),
  p('DkStreamFlush', 'streams', 'stream:handle', '0', 'Makes what was written durable (fsync).'),
  p(
    'DkStreamDelete',
    'streams',
    'stream:handle side:flags:StreamSide',
    '0',
    'side BOTH deletes the object behind the handle (unlink, rmdir); READ or WRITE shuts that half of a pipe.',
  ),
  p(
    'DkStreamGetEvent',
    'streams',
    'stream:handle side:flags:StreamSide',
    'handle',
    'An event that is set while the stream can be read (READ) or written (WRITE) without WOULD_BLOCK. The caller closes it.',
  ),
  p('DkStreamRename', 'streams', 'stream:handle newUri:string', '0', 'Renames the object behind the handle.'),
  p('DkStreamEnumerateChildren', 'streams', 'stream:handle', 'entries', 'The entries of a directory: name, kind and inode, without . and ..'),
  p(
    'DkStreamAttributesQuery',
    'streams',
    'uri:string options:flags:QueryOption',
    'attributes',
    'Attributes of the object a URI names; with NO_FOLLOW, those of a symbolic link itself, with its target.',
    { nondeterministic: true },
  ),
  p(
    'DkStreamAttributesQueryByHandle',
    'streams',
    'stream:handle',
    'attributes',
    'Attributes of an open stream. A file opened for data also gives its position; a pipe end whether the other end still reads (peerReadable) and writes (peerWritable), and whether the end is also held outside the calling picoprocess (shared): what a checkpoint needs to know to carry it. Any stream gives its file status flags (statusFlags, StatusFlag bits) once some are set.',
    { nondeterministic: true },
  ),
  p(
    'DkStreamAttributesSetByHandle',
    'streams',
    'stream:handle update:record',
    '0',
    "Sets access and modification times, a file stream's position (like NtSetInformationFile with FilePositionInformation), and a stream's file status flags (statusFlags: APPEND, NONBLOCK; like fcntl F_SETFL), which belong to the stream object and so are shared by every handle on it, in every picoprocess. Not in the 2011 ABI; from Gramine PAL, needed by WASI.",
  ),
  p(
    'DkStreamLinkCreate',
    'streams',
    'linkUri:string target:string symbolic:bool',
    '0',
    'Creates a symbolic link holding target, or (symbolic false) a hard link to the object target names. Not in the 2011 ABI; needed by WASI.',
  ),

  // other
  p('DkSystemTimeQuery', 'other', 'clock:flags:Clock', 'nanoseconds', 'Time in nanoseconds of the realtime, monotonic, process-CPU or thread-CPU clock.', {
    nondeterministic: true,
    support: partial('Process and thread CPU clocks are the host process CPU time, shared by all picoprocesses of the host.'),
  }),
  p('DkRandomBitsRead', 'other', 'buffer:bytes-out', 'bytes', 'Fills buffer with cryptographically strong random bytes.', { nondeterministic: true }),
  p('DkInstructionCacheFlush', 'other', '', '0', 'Nothing to flush: Wasm code is immutable once compiled.', {
    support: partial('A no-op: Wasm code cannot be modified in place, so there is no stale instruction cache.'),
  }),
  p('DkObjectReference', 'other', 'handle:handle', '0', 'Adds a reference: the object lives until every reference is closed.'),
  p('DkObjectClose', 'other', 'handle:handle', '0', 'Drops a reference; the last one releases the object.'),
  p(
    'DkInputEventRead',
    'other',
    'buffer:bytes-out',
    'bytes read',
    'Reads whole 16-byte input events (type u32, code u32, value i32, time ms u32). WOULD_BLOCK when none: wait on the READ event of a dev:input stream.',
    { nondeterministic: true },
  ),
  p(
    'DkFrameBufferExport',
    'other',
    'width:int height:int format:flags:PixelFormat',
    'handle',
    'Creates a frame buffer: a dev:fb stream of width*height*4 bytes the guest writes pixels into.',
  ),
  p(
    'DkFrameBufferNotifyUpdate',
    'other',
    'frameBuffer:handle x:int y:int width:int height:int',
    '0',
    'Tells the host a rectangle changed; the host passes it to whoever displays the picoprocess.',
  ),
  p('DkDebugStringPrint', 'other', 'text:string', '0', 'Writes a line to the host debug log.'),
];

export const UPCALLS: readonly UpcallSpec[] = [
  {
    name: 'LibOsInitialize',
    method: 'libOsInitialize',
    category: 'upcalls',
    blocking: false,
    args: a('params:record'),
    result: 'void',
    doc: 'The host starts the library OS with the picoprocess parameters (args, env, pre-opens).',
    support: full,
  },
  {
    name: 'LibOsThreadStart',
    method: 'libOsThreadStart',
    category: 'upcalls',
    blocking: true,
    args: a('param:int'),
    result: 'void',
    doc: 'Entry of a thread created by DkThreadCreate.',
    support: full,
  },
  {
    name: 'LibOsExceptionDispatch',
    method: 'libOsExceptionDispatch',
    category: 'upcalls',
    blocking: false,
    args: a('info:record'),
    result: 'void',
    doc: 'Delivers an exception raised by DkThreadRaiseException (or a trap) to the library OS.',
    support: full,
  },
];

export const PRIMITIVE_BY_NAME: ReadonlyMap<string, PrimitiveSpec> = new Map(PRIMITIVES.map((s) => [s.name, s]));
