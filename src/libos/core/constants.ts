// wasi_snapshot_preview1 constants, as the witx defines them.

export const Errno = {
  SUCCESS: 0, TOOBIG: 1, ACCES: 2, ADDRINUSE: 3, ADDRNOTAVAIL: 4, AFNOSUPPORT: 5, AGAIN: 6, ALREADY: 7,
  BADF: 8, BADMSG: 9, BUSY: 10, CANCELED: 11, CHILD: 12, CONNABORTED: 13, CONNREFUSED: 14, CONNRESET: 15,
  DEADLK: 16, DESTADDRREQ: 17, DOM: 18, DQUOT: 19, EXIST: 20, FAULT: 21, FBIG: 22, HOSTUNREACH: 23,
  IDRM: 24, ILSEQ: 25, INPROGRESS: 26, INTR: 27, INVAL: 28, IO: 29, ISCONN: 30, ISDIR: 31, LOOP: 32,
  MFILE: 33, MLINK: 34, MSGSIZE: 35, MULTIHOP: 36, NAMETOOLONG: 37, NETDOWN: 38, NETRESET: 39,
  NETUNREACH: 40, NFILE: 41, NOBUFS: 42, NODEV: 43, NOENT: 44, NOEXEC: 45, NOLCK: 46, NOLINK: 47,
  NOMEM: 48, NOMSG: 49, NOPROTOOPT: 50, NOSPC: 51, NOSYS: 52, NOTCONN: 53, NOTDIR: 54, NOTEMPTY: 55,
  NOTRECOVERABLE: 56, NOTSOCK: 57, NOTSUP: 58, NOTTY: 59, NXIO: 60, OVERFLOW: 61, OWNERDEAD: 62,
  PERM: 63, PIPE: 64, PROTO: 65, PROTONOSUPPORT: 66, PROTOTYPE: 67, RANGE: 68, ROFS: 69, SPIPE: 70,
  SRCH: 71, STALE: 72, TIMEDOUT: 73, TXTBSY: 74, XDEV: 75, NOTCAPABLE: 76,
} as const;

export const Filetype = {
  UNKNOWN: 0, BLOCK_DEVICE: 1, CHARACTER_DEVICE: 2, DIRECTORY: 3, REGULAR_FILE: 4,
  SOCKET_DGRAM: 5, SOCKET_STREAM: 6, SYMBOLIC_LINK: 7,
} as const;

export const ClockId = { REALTIME: 0, MONOTONIC: 1, PROCESS_CPUTIME_ID: 2, THREAD_CPUTIME_ID: 3 } as const;

export const Whence = { SET: 0, CUR: 1, END: 2 } as const;

export const Fdflags = { APPEND: 1, DSYNC: 2, NONBLOCK: 4, RSYNC: 8, SYNC: 16 } as const;
export const Oflags = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 } as const;
export const Lookupflags = { SYMLINK_FOLLOW: 1 } as const;
export const Fstflags = { ATIM: 1, ATIM_NOW: 2, MTIM: 4, MTIM_NOW: 8 } as const;
export const EventType = { CLOCK: 0, FD_READ: 1, FD_WRITE: 2 } as const;
export const Subclockflags = { ABSTIME: 1 } as const;
export const Eventrwflags = { HANGUP: 1 } as const;
export const Sdflags = { RD: 1, WR: 2 } as const;

// Rights are u64 bit sets; below 2^32 except none, so plain numbers would do for the
// low half, but the ABI passes them as i64 (BigInt).
export const Rights = {
  FD_DATASYNC: 1n << 0n,
  FD_READ: 1n << 1n,
  FD_SEEK: 1n << 2n,
  FD_FDSTAT_SET_FLAGS: 1n << 3n,
  FD_SYNC: 1n << 4n,
  FD_TELL: 1n << 5n,
  FD_WRITE: 1n << 6n,
  FD_ADVISE: 1n << 7n,
  FD_ALLOCATE: 1n << 8n,
  PATH_CREATE_DIRECTORY: 1n << 9n,
  PATH_CREATE_FILE: 1n << 10n,
  PATH_LINK_SOURCE: 1n << 11n,
  PATH_LINK_TARGET: 1n << 12n,
  PATH_OPEN: 1n << 13n,
  FD_READDIR: 1n << 14n,
  PATH_READLINK: 1n << 15n,
  PATH_RENAME_SOURCE: 1n << 16n,
  PATH_RENAME_TARGET: 1n << 17n,
  PATH_FILESTAT_GET: 1n << 18n,
  PATH_FILESTAT_SET_SIZE: 1n << 19n,
  PATH_FILESTAT_SET_TIMES: 1n << 20n,
  FD_FILESTAT_GET: 1n << 21n,
  FD_FILESTAT_SET_SIZE: 1n << 22n,
  FD_FILESTAT_SET_TIMES: 1n << 23n,
  PATH_SYMLINK: 1n << 24n,
  PATH_REMOVE_DIRECTORY: 1n << 25n,
  PATH_UNLINK_FILE: 1n << 26n,
  POLL_FD_READWRITE: 1n << 27n,
  SOCK_SHUTDOWN: 1n << 28n,
  SOCK_ACCEPT: 1n << 29n,
} as const;
