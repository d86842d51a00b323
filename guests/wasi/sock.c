// sock_accept, sock_recv, sock_send, sock_shutdown on descriptors that are not
// sockets: a regular file, a directory and stdio give ENOTSOCK; a number that is
// no descriptor gives EBADF.
#include "check.h"

static void try_all(const char *what, __wasi_fd_t fd, __wasi_errno_t want) {
  char label[80], data[8] = "abc";
  __wasi_iovec_t iov = { (uint8_t *)data, sizeof data };
  __wasi_ciovec_t ciov = { (const uint8_t *)data, 3 };
  __wasi_size_t n = 0;
  __wasi_roflags_t roflags = 0;
  __wasi_fd_t accepted = 0;
  snprintf(label, sizeof label, "sock_accept %s", what);
  EXPECT_ERRNO(label, __wasi_sock_accept(fd, 0, &accepted), want);
  snprintf(label, sizeof label, "sock_recv %s", what);
  EXPECT_ERRNO(label, __wasi_sock_recv(fd, &iov, 1, 0, &n, &roflags), want);
  snprintf(label, sizeof label, "sock_send %s", what);
  EXPECT_ERRNO(label, __wasi_sock_send(fd, &ciov, 1, 0, &n), want);
  snprintf(label, sizeof label, "sock_shutdown %s", what);
  EXPECT_ERRNO(label, __wasi_sock_shutdown(fd, __WASI_SDFLAGS_RD | __WASI_SDFLAGS_WR), want);
}

int main(void) {
  __wasi_fd_t file;
  MUST(__wasi_path_open(ROOT_FD, 0, "file.txt", __WASI_OFLAGS_CREAT, ALL_RIGHTS, 0, 0, &file));
  try_all("file", file, __WASI_ERRNO_NOTSOCK);
  try_all("dir", ROOT_FD, __WASI_ERRNO_NOTSOCK);
  try_all("stdout", 1, __WASI_ERRNO_NOTSOCK);
  try_all("bad fd", 77, __WASI_ERRNO_BADF);
  MUST(__wasi_fd_close(file));
  try_all("closed fd", file, __WASI_ERRNO_BADF);
  puts("done");
  return 0;
}
