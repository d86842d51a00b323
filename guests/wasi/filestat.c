// fd_filestat_get, fd_filestat_set_size, fd_filestat_set_times, path_filestat_get,
// path_filestat_set_times: sizes, types and link counts; times that really change
// (explicit values and NOW); invalid flag combinations; bad descriptors and paths.
#include "check.h"

#define SEC 1000000000ull

static __wasi_fd_t open_at_root(const char *path, __wasi_oflags_t oflags, __wasi_rights_t rights) {
  __wasi_fd_t fd = 0;
  MUST(__wasi_path_open(ROOT_FD, 0, path, oflags, rights, 0, 0, &fd));
  return fd;
}

static void show(const char *what, const __wasi_filestat_t *st) {
  printf("%s: filetype %u nlink %llu size %llu\n", what, (unsigned)st->filetype,
    (unsigned long long)st->nlink, (unsigned long long)st->size);
}

static __wasi_timestamp_t now_realtime(void) {
  __wasi_timestamp_t t;
  MUST(__wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &t));
  return t;
}

int main(void) {
  __wasi_filestat_t st, st2;
  __wasi_fd_t fd = open_at_root("hello.txt", 0, ALL_RIGHTS);
  EXPECT_OK("fd_filestat_get file", __wasi_fd_filestat_get(fd, &st));
  show("hello.txt", &st);
  CHECK(st.ino != 0);
  EXPECT_OK("path_filestat_get file", __wasi_path_filestat_get(ROOT_FD, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "hello.txt", &st2));
  CHECK(st2.ino == st.ino && st2.dev == st.dev && st2.size == st.size);
  EXPECT_OK("fd_filestat_get preopen", __wasi_fd_filestat_get(ROOT_FD, &st2));
  printf("preopen: filetype %u\n", (unsigned)st2.filetype);
  EXPECT_OK("path_filestat_get dir", __wasi_path_filestat_get(ROOT_FD, 0, "dir", &st2));
  printf("dir: filetype %u\n", (unsigned)st2.filetype);
  EXPECT_OK("path_filestat_get .", __wasi_path_filestat_get(ROOT_FD, 0, ".", &st2));
  printf(".: filetype %u\n", (unsigned)st2.filetype);
  EXPECT_OK("path_filestat_get dir/sub/c.txt", __wasi_path_filestat_get(ROOT_FD, 0, "dir/sub/c.txt", &st2));
  show("dir/sub/c.txt", &st2);
  EXPECT_ERRNO("path_filestat_get missing", __wasi_path_filestat_get(ROOT_FD, 0, "missing", &st2), __WASI_ERRNO_NOENT);
  EXPECT_ERRNO("path_filestat_get file/x", __wasi_path_filestat_get(ROOT_FD, 0, "hello.txt/x", &st2), __WASI_ERRNO_NOTDIR);
  // Linux stat("hello.txt/") says ENOTDIR; wasmtime 49 answers OK (see docs/conformance.md).
  EXPECT_ERRNO("path_filestat_get hello.txt/", __wasi_path_filestat_get(ROOT_FD, 0, "hello.txt/", &st2), __WASI_ERRNO_SUCCESS);
  // wasmtime: a path call on a descriptor that is not a directory is EBADF.
  EXPECT_ERRNO("path_filestat_get on a file fd", __wasi_path_filestat_get(fd, 0, "x", &st2), __WASI_ERRNO_BADF);
  EXPECT_ERRNO("path_filestat_get bad fd", __wasi_path_filestat_get(77, 0, "x", &st2), __WASI_ERRNO_BADF);
  EXPECT_ERRNO("fd_filestat_get bad fd", __wasi_fd_filestat_get(77, &st2), __WASI_ERRNO_BADF);
  EXPECT_ERRNO("path_filestat_get empty path", __wasi_path_filestat_get(ROOT_FD, 0, "", &st2), __WASI_ERRNO_NOENT);

  // set_size: grow (zero-filled), shrink.
  EXPECT_OK("fd_filestat_set_size 100", __wasi_fd_filestat_set_size(fd, 100));
  MUST(__wasi_fd_filestat_get(fd, &st2));
  show("after grow", &st2);
  char buf[8] = { 1, 1, 1, 1 };
  __wasi_iovec_t iov = { (uint8_t *)buf, 4 };
  __wasi_size_t n;
  MUST(__wasi_fd_pread(fd, &iov, 1, 96, &n));
  CHECK(n == 4 && buf[0] == 0 && buf[3] == 0);
  EXPECT_OK("fd_filestat_set_size 5", __wasi_fd_filestat_set_size(fd, 5));
  MUST(__wasi_fd_filestat_get(fd, &st2));
  show("after shrink", &st2);
  EXPECT_ERRNO("fd_filestat_set_size on a directory", __wasi_fd_filestat_set_size(ROOT_FD, 1), __WASI_ERRNO_BADF);
  __wasi_fd_t ro = open_at_root("hello.txt", 0, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_FILESTAT_GET);
  // Linux ftruncate on a descriptor not open for writing: EINVAL, which wasmtime passes on.
  EXPECT_ERRNO("fd_filestat_set_size on read-only fd", __wasi_fd_filestat_set_size(ro, 1), __WASI_ERRNO_INVAL);
  EXPECT_ERRNO("fd_filestat_set_size bad fd", __wasi_fd_filestat_set_size(77, 1), __WASI_ERRNO_BADF);

  // set_times with explicit values: both times land exactly (to the second at least).
  __wasi_timestamp_t atim = 1000000000ull * SEC + 123000000ull, mtim = 1200000000ull * SEC + 456000000ull;
  EXPECT_OK("fd_filestat_set_times explicit", __wasi_fd_filestat_set_times(fd, atim, mtim,
    __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
  MUST(__wasi_fd_filestat_get(fd, &st2));
  printf("atim %llu s, mtim %llu s\n", (unsigned long long)(st2.atim / SEC), (unsigned long long)(st2.mtim / SEC));
  CHECK(st2.atim == atim && st2.mtim == mtim);
  // Only mtim: atim stays.
  EXPECT_OK("fd_filestat_set_times mtim only", __wasi_fd_filestat_set_times(fd, 0, 1300000000ull * SEC, __WASI_FSTFLAGS_MTIM));
  MUST(__wasi_fd_filestat_get(fd, &st2));
  printf("atim %llu s, mtim %llu s\n", (unsigned long long)(st2.atim / SEC), (unsigned long long)(st2.mtim / SEC));
  // NOW: the times move to about the current time.
  __wasi_timestamp_t before = now_realtime();
  EXPECT_OK("fd_filestat_set_times now", __wasi_fd_filestat_set_times(fd, 0, 0,
    __WASI_FSTFLAGS_ATIM_NOW | __WASI_FSTFLAGS_MTIM_NOW));
  MUST(__wasi_fd_filestat_get(fd, &st2));
  CHECKF(st2.mtim + 2 * SEC >= before && st2.mtim <= now_realtime() + 2 * SEC, "mtim %llu not near now", (unsigned long long)st2.mtim);
  CHECK(st2.atim + 2 * SEC >= before);
  puts("NOW sets the current time");
  EXPECT_ERRNO("fd_filestat_set_times ATIM|ATIM_NOW", __wasi_fd_filestat_set_times(fd, 1, 1,
    __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW), __WASI_ERRNO_INVAL);
  EXPECT_ERRNO("fd_filestat_set_times MTIM|MTIM_NOW", __wasi_fd_filestat_set_times(fd, 1, 1,
    __WASI_FSTFLAGS_MTIM | __WASI_FSTFLAGS_MTIM_NOW), __WASI_ERRNO_INVAL);
  EXPECT_ERRNO("fd_filestat_set_times bad fd", __wasi_fd_filestat_set_times(77, 0, 0, 0), __WASI_ERRNO_BADF);

  // path_filestat_set_times on a file and on a directory.
  EXPECT_OK("path_filestat_set_times file", __wasi_path_filestat_set_times(ROOT_FD, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
    "dir/a.txt", 1100000000ull * SEC, 1150000000ull * SEC, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
  MUST(__wasi_path_filestat_get(ROOT_FD, 0, "dir/a.txt", &st2));
  printf("dir/a.txt atim %llu s, mtim %llu s\n", (unsigned long long)(st2.atim / SEC), (unsigned long long)(st2.mtim / SEC));
  EXPECT_OK("path_filestat_set_times dir", __wasi_path_filestat_set_times(ROOT_FD, 0,
    "dir/sub", 0, 1250000000ull * SEC, __WASI_FSTFLAGS_MTIM));
  MUST(__wasi_path_filestat_get(ROOT_FD, 0, "dir/sub", &st2));
  printf("dir/sub mtim %llu s\n", (unsigned long long)(st2.mtim / SEC));
  EXPECT_ERRNO("path_filestat_set_times missing", __wasi_path_filestat_set_times(ROOT_FD, 0, "missing", 0, 0,
    __WASI_FSTFLAGS_MTIM_NOW), __WASI_ERRNO_NOENT);
  EXPECT_ERRNO("path_filestat_set_times ATIM|ATIM_NOW", __wasi_path_filestat_set_times(ROOT_FD, 0, "dir/a.txt", 0, 0,
    __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW), __WASI_ERRNO_INVAL);
  EXPECT_ERRNO("path_filestat_set_times ..", __wasi_path_filestat_set_times(ROOT_FD, 0, "..", 0, 0,
    __WASI_FSTFLAGS_MTIM_NOW), __WASI_ERRNO_PERM);
  MUST(__wasi_fd_close(fd));
  MUST(__wasi_fd_close(ro));
  puts("done");
  return 0;
}
