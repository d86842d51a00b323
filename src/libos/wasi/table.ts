// The syscall table of the WASI library OS: every wasi_snapshot_preview1 function, the
// family file that implements it, and whether it may wait (then the runtime imports it as
// a JSPI Suspending function; the others are plain imports, an order of magnitude cheaper
// per call).
// This is the place to read what is supported.

export interface SyscallEntry {
  family: 'args' | 'clock' | 'random' | 'proc' | 'fd' | 'fd-io' | 'dir' | 'path' | 'poll' | 'sock';
  /** May return a Promise (waits on a stream or a timer). */
  blocking: boolean;
}

const e = (family: SyscallEntry['family'], blocking = false): SyscallEntry => ({ family, blocking });

export const SYSCALLS: Readonly<Record<string, SyscallEntry>> = {
  args_get: e('args'),
  args_sizes_get: e('args'),
  environ_get: e('args'),
  environ_sizes_get: e('args'),
  clock_res_get: e('clock'),
  clock_time_get: e('clock'),
  random_get: e('random'),
  proc_exit: e('proc'),
  proc_raise: e('proc'),
  sched_yield: e('proc', true),
  fd_advise: e('fd'),
  fd_allocate: e('fd'),
  fd_close: e('fd'),
  fd_datasync: e('fd'),
  fd_fdstat_get: e('fd'),
  fd_fdstat_set_flags: e('fd'),
  fd_fdstat_set_rights: e('fd'),
  fd_filestat_get: e('fd'),
  fd_filestat_set_size: e('fd'),
  fd_filestat_set_times: e('fd'),
  fd_prestat_get: e('fd'),
  fd_prestat_dir_name: e('fd'),
  fd_renumber: e('fd'),
  fd_sync: e('fd'),
  fd_read: e('fd-io', true),
  fd_write: e('fd-io', true),
  fd_pread: e('fd-io'),
  fd_pwrite: e('fd-io'),
  fd_seek: e('fd-io'),
  fd_tell: e('fd-io'),
  fd_readdir: e('dir'),
  path_create_directory: e('path'),
  path_filestat_get: e('path'),
  path_filestat_set_times: e('path'),
  path_link: e('path'),
  path_open: e('path'),
  path_readlink: e('path'),
  path_remove_directory: e('path'),
  path_rename: e('path'),
  path_symlink: e('path'),
  path_unlink_file: e('path'),
  poll_oneoff: e('poll', true),
  // accept, recv and send wait on a blocking socket (sock.ts).
  sock_accept: e('sock', true),
  sock_recv: e('sock', true),
  sock_send: e('sock', true),
  sock_shutdown: e('sock'),
};
