// fd_prestat_get and fd_prestat_dir_name: the one preopen "/" on fd 3, exact and
// short name buffers, and the fds that are not preopens (stdio, a directory opened
// with path_open, a closed number).
#include "check.h"

int main(void) {
  __wasi_prestat_t ps;
  EXPECT_OK("fd_prestat_get 3", __wasi_fd_prestat_get(ROOT_FD, &ps));
  printf("tag %u, name length %u\n", (unsigned)ps.tag, (unsigned)ps.u.dir.pr_name_len);
  CHECK(ps.tag == __WASI_PREOPENTYPE_DIR);

  char name[16];
  memset(name, '#', sizeof name);
  EXPECT_OK("fd_prestat_dir_name exact", __wasi_fd_prestat_dir_name(ROOT_FD, (uint8_t *)name, ps.u.dir.pr_name_len));
  printf("name [%.*s]\n", (int)ps.u.dir.pr_name_len, name);
  // Not NUL-terminated: the byte after the name is untouched.
  CHECK(name[ps.u.dir.pr_name_len] == '#');
  memset(name, '#', sizeof name);
  EXPECT_OK("fd_prestat_dir_name larger buffer", __wasi_fd_prestat_dir_name(ROOT_FD, (uint8_t *)name, sizeof name));
  CHECK(name[ps.u.dir.pr_name_len] == '#');
  EXPECT_ERRNO("fd_prestat_dir_name short buffer",
    __wasi_fd_prestat_dir_name(ROOT_FD, (uint8_t *)name, ps.u.dir.pr_name_len - 1), __WASI_ERRNO_NAMETOOLONG);

  EXPECT_ERRNO("fd_prestat_get stdin", __wasi_fd_prestat_get(0, &ps), __WASI_ERRNO_BADF);
  EXPECT_ERRNO("fd_prestat_get stdout", __wasi_fd_prestat_get(1, &ps), __WASI_ERRNO_BADF);
  EXPECT_ERRNO("fd_prestat_get 4 (none)", __wasi_fd_prestat_get(4, &ps), __WASI_ERRNO_BADF);
  EXPECT_ERRNO("fd_prestat_get 0x7fffffff", __wasi_fd_prestat_get(0x7fffffff, &ps), __WASI_ERRNO_BADF);
  // wasmtime answers ENOTDIR here (not EBADF): stdin is a descriptor, just not a preopen.
  EXPECT_ERRNO("fd_prestat_dir_name stdin", __wasi_fd_prestat_dir_name(0, (uint8_t *)name, sizeof name), __WASI_ERRNO_NOTDIR);
  EXPECT_ERRNO("fd_prestat_dir_name 4 (none)", __wasi_fd_prestat_dir_name(4, (uint8_t *)name, sizeof name), __WASI_ERRNO_BADF);

  __wasi_fd_t dir;
  MUST(__wasi_path_open(ROOT_FD, 0, ".", __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, ALL_RIGHTS, 0, &dir));
  EXPECT_ERRNO("fd_prestat_get opened dir", __wasi_fd_prestat_get(dir, &ps), __WASI_ERRNO_BADF);
  MUST(__wasi_fd_close(dir));
  puts("done");
  return 0;
}
