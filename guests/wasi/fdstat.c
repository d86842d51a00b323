// fd_fdstat_get, fd_fdstat_set_flags, fd_fdstat_set_rights: file types, the rights
// a descriptor reports (as wasmtime computes them from how it was opened), fdflags
// with APPEND reported and honoured, and set_rights that may only drop rights.
#include "check.h"

static void show(const char *what, __wasi_fd_t fd) {
  __wasi_fdstat_t st;
  int e = __wasi_fd_fdstat_get(fd, &st);
  if (e != 0) { printf("%s: %s\n", what, errname(e)); return; }
  printf("%s: filetype %u flags 0x%x base 0x%llx inheriting 0x%llx\n", what, (unsigned)st.fs_filetype,
    (unsigned)st.fs_flags, (unsigned long long)st.fs_rights_base, (unsigned long long)st.fs_rights_inheriting);
}

static __wasi_fd_t open_at_root(const char *path, __wasi_oflags_t oflags, __wasi_rights_t rights, __wasi_fdflags_t fdflags) {
  __wasi_fd_t fd = 0;
  MUST(__wasi_path_open(ROOT_FD, 0, path, oflags, rights, ALL_RIGHTS, fdflags, &fd));
  return fd;
}

int main(void) {
  show("preopen /", ROOT_FD);
  __wasi_fd_t rw = open_at_root("hello.txt", 0, ALL_RIGHTS, 0);
  show("hello.txt read-write", rw);
  __wasi_fd_t ro = open_at_root("hello.txt", 0, __WASI_RIGHTS_FD_READ, 0);
  show("hello.txt read-only", ro);
  __wasi_fd_t wo = open_at_root("hello.txt", 0, __WASI_RIGHTS_FD_WRITE, 0);
  show("hello.txt write-only", wo);
  __wasi_fd_t ap = open_at_root("hello.txt", 0, ALL_RIGHTS, __WASI_FDFLAGS_APPEND);
  show("hello.txt append", ap);
  __wasi_fd_t dir = open_at_root("dir", __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0);
  show("dir", dir);
  show("bad fd 55", 55);

  // Files opened with flags report them.
  __wasi_fdstat_t st;
  MUST(__wasi_fd_fdstat_get(ap, &st));
  CHECK(st.fs_flags & __WASI_FDFLAGS_APPEND);
  CHECK(st.fs_filetype == __WASI_FILETYPE_REGULAR_FILE);
  MUST(__wasi_fd_fdstat_get(dir, &st));
  CHECK(st.fs_filetype == __WASI_FILETYPE_DIRECTORY);
  // wasmtime refuses the synchronous-I/O flags at open (ENOTSUP); RSYNC likewise.
  __wasi_fd_t sync_fd;
  EXPECT_ERRNO("path_open DSYNC", __wasi_path_open(ROOT_FD, 0, "hello.txt", 0, ALL_RIGHTS, 0, __WASI_FDFLAGS_DSYNC, &sync_fd), __WASI_ERRNO_NOTSUP);
  EXPECT_ERRNO("path_open SYNC", __wasi_path_open(ROOT_FD, 0, "hello.txt", 0, ALL_RIGHTS, 0, __WASI_FDFLAGS_SYNC, &sync_fd), __WASI_ERRNO_NOTSUP);
  EXPECT_ERRNO("path_open RSYNC", __wasi_path_open(ROOT_FD, 0, "hello.txt", 0, ALL_RIGHTS, 0, __WASI_FDFLAGS_RSYNC, &sync_fd), __WASI_ERRNO_NOTSUP);
  __wasi_fd_t nb = open_at_root("hello.txt", 0, ALL_RIGHTS, __WASI_FDFLAGS_NONBLOCK);
  show("hello.txt nonblock", nb);
  MUST(__wasi_fd_close(nb));

  // APPEND writes go to the end whatever the position says.
  __wasi_filesize_t pos;
  __wasi_size_t n;
  __wasi_ciovec_t more = { (const uint8_t *)"MORE", 4 };
  MUST(__wasi_fd_seek(ap, 0, __WASI_WHENCE_SET, &pos));
  MUST(__wasi_fd_write(ap, &more, 1, &n));
  __wasi_filestat_t fs;
  MUST(__wasi_fd_filestat_get(ap, &fs));
  printf("after append write: size %llu\n", (unsigned long long)fs.size);

  // set_flags: turn APPEND on for the read-write descriptor, then off again.
  EXPECT_OK("fd_fdstat_set_flags APPEND", __wasi_fd_fdstat_set_flags(rw, __WASI_FDFLAGS_APPEND));
  show("hello.txt after set APPEND", rw);
  MUST(__wasi_fd_seek(rw, 0, __WASI_WHENCE_SET, &pos));
  MUST(__wasi_fd_write(rw, &more, 1, &n));
  MUST(__wasi_fd_filestat_get(rw, &fs));
  printf("after set-append write: size %llu\n", (unsigned long long)fs.size);
  EXPECT_OK("fd_fdstat_set_flags 0", __wasi_fd_fdstat_set_flags(rw, 0));
  show("hello.txt after clearing flags", rw);
  MUST(__wasi_fd_seek(rw, 0, __WASI_WHENCE_SET, &pos));
  __wasi_ciovec_t head = { (const uint8_t *)"J", 1 };
  MUST(__wasi_fd_write(rw, &head, 1, &n));
  char buf[32];
  __wasi_iovec_t iov = { (uint8_t *)buf, sizeof buf };
  MUST(__wasi_fd_pread(rw, &iov, 1, 0, &n));
  printf("content [%.*s]\n", (int)n - 9, buf);
  printf("fd_fdstat_set_flags NONBLOCK: %s\n", errname(__wasi_fd_fdstat_set_flags(rw, __WASI_FDFLAGS_NONBLOCK)));
  printf("fd_fdstat_set_flags SYNC: %s\n", errname(__wasi_fd_fdstat_set_flags(rw, __WASI_FDFLAGS_SYNC)));
  printf("fd_fdstat_set_flags DSYNC: %s\n", errname(__wasi_fd_fdstat_set_flags(rw, __WASI_FDFLAGS_DSYNC)));
  printf("fd_fdstat_set_flags on dir: %s\n", errname(__wasi_fd_fdstat_set_flags(dir, __WASI_FDFLAGS_APPEND)));
  EXPECT_ERRNO("fd_fdstat_set_flags bad fd", __wasi_fd_fdstat_set_flags(55, 0), __WASI_ERRNO_BADF);

  // set_rights: dropping rights, then trying to get them back.
  printf("fd_fdstat_set_rights drop write: %s\n",
    errname(__wasi_fd_fdstat_set_rights(rw, ALL_RIGHTS & ~(__wasi_rights_t)__WASI_RIGHTS_FD_WRITE, 0)));
  show("hello.txt after dropping write", rw);
  printf("fd_write after dropping write: %s\n", errname(__wasi_fd_write(rw, &head, 1, &n)));
  printf("fd_fdstat_set_rights regain: %s\n", errname(__wasi_fd_fdstat_set_rights(rw, ALL_RIGHTS, ALL_RIGHTS)));
  EXPECT_ERRNO("fd_fdstat_set_rights bad fd", __wasi_fd_fdstat_set_rights(55, 0, 0), __WASI_ERRNO_BADF);
  MUST(__wasi_fd_close(rw));
  MUST(__wasi_fd_close(ro));
  MUST(__wasi_fd_close(wo));
  MUST(__wasi_fd_close(ap));
  MUST(__wasi_fd_close(dir));
  puts("done");
  return 0;
}
