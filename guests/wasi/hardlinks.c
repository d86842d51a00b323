// path_link: a second name for the same inode (nlink counts, shared content),
// linking through a symlink with and without SYMLINK_FOLLOW, and the errors:
// existing target, missing source, directories, leaving the preopen.
#include "check.h"

int main(void) {
  __wasi_filestat_t a, b;
  EXPECT_OK("link hello.txt -> twin.txt", __wasi_path_link(ROOT_FD, 0, "hello.txt", ROOT_FD, "twin.txt"));
  MUST(__wasi_path_filestat_get(ROOT_FD, 0, "hello.txt", &a));
  MUST(__wasi_path_filestat_get(ROOT_FD, 0, "twin.txt", &b));
  printf("nlink %llu and %llu\n", (unsigned long long)a.nlink, (unsigned long long)b.nlink);
  CHECK(a.ino == b.ino && a.dev == b.dev);
  puts("same inode");

  // A write through one name is seen through the other.
  __wasi_fd_t fd;
  MUST(__wasi_path_open(ROOT_FD, 0, "twin.txt", 0, ALL_RIGHTS, 0, 0, &fd));
  __wasi_ciovec_t ciov = { (const uint8_t *)"J", 1 };
  __wasi_size_t n;
  MUST(__wasi_fd_write(fd, &ciov, 1, &n));
  MUST(__wasi_fd_close(fd));
  char buf[32];
  __wasi_iovec_t iov = { (uint8_t *)buf, sizeof buf };
  MUST(__wasi_path_open(ROOT_FD, 0, "hello.txt", 0, ALL_RIGHTS, 0, 0, &fd));
  MUST(__wasi_fd_read(fd, &iov, 1, &n));
  MUST(__wasi_fd_close(fd));
  printf("hello.txt now [%.*s]\n", (int)n - 1, buf);

  EXPECT_OK("link into dir (other fd)", __wasi_path_link(ROOT_FD, 0, "hello.txt", ROOT_FD, "dir/third.txt"));
  MUST(__wasi_path_filestat_get(ROOT_FD, 0, "hello.txt", &a));
  printf("nlink %llu\n", (unsigned long long)a.nlink);
  EXPECT_OK("unlink twin.txt", __wasi_path_unlink_file(ROOT_FD, "twin.txt"));
  EXPECT_OK("unlink dir/third.txt", __wasi_path_unlink_file(ROOT_FD, "dir/third.txt"));
  MUST(__wasi_path_filestat_get(ROOT_FD, 0, "hello.txt", &a));
  printf("nlink %llu after unlinking both\n", (unsigned long long)a.nlink);

  EXPECT_ERRNO("link onto existing", __wasi_path_link(ROOT_FD, 0, "hello.txt", ROOT_FD, "dir/a.txt"), __WASI_ERRNO_EXIST);
  EXPECT_ERRNO("link missing source", __wasi_path_link(ROOT_FD, 0, "missing", ROOT_FD, "x"), __WASI_ERRNO_NOENT);
  EXPECT_ERRNO("link a directory", __wasi_path_link(ROOT_FD, 0, "dir", ROOT_FD, "dir2"), __WASI_ERRNO_PERM);
  EXPECT_ERRNO("link out of the preopen", __wasi_path_link(ROOT_FD, 0, "hello.txt", ROOT_FD, "../x"), __WASI_ERRNO_PERM);
  EXPECT_ERRNO("link from outside the preopen", __wasi_path_link(ROOT_FD, 0, "../x", ROOT_FD, "x"), __WASI_ERRNO_PERM);
  EXPECT_ERRNO("link bad source fd", __wasi_path_link(77, 0, "hello.txt", ROOT_FD, "x"), __WASI_ERRNO_BADF);
  EXPECT_ERRNO("link bad target fd", __wasi_path_link(ROOT_FD, 0, "hello.txt", 77, "x"), __WASI_ERRNO_BADF);
  EXPECT_ERRNO("link into missing dir", __wasi_path_link(ROOT_FD, 0, "hello.txt", ROOT_FD, "missing/x"), __WASI_ERRNO_NOENT);

  // Linking a symlink: without FOLLOW the new name is another link to the same
  // symlink; with FOLLOW wasmtime refuses with EINVAL (it never follows here).
  MUST(__wasi_path_symlink("hello.txt", ROOT_FD, "sym"));
  EXPECT_OK("link sym -> sym2 (nofollow)", __wasi_path_link(ROOT_FD, 0, "sym", ROOT_FD, "sym2"));
  MUST(__wasi_path_filestat_get(ROOT_FD, 0, "sym2", &b));
  printf("sym2 filetype %u\n", (unsigned)b.filetype);
  EXPECT_ERRNO("link sym -> sym3 (follow)", __wasi_path_link(ROOT_FD, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "sym", ROOT_FD, "sym3"), __WASI_ERRNO_INVAL);
  puts("done");
  return 0;
}
