// Hostile arguments at the ABI boundary, one case per run (argv[1] names it; specs
// hostile.CASE.json). wasmtime (49) never answers EFAULT: any pointer or length
// outside linear memory, and any out-of-range enum value, is a host error that ends
// the process with status 1 and a message on stderr (not a trap: that would be 134).
// Invalid UTF-8 in a path and bad descriptors are ordinary errno values. Either way
// the host must not crash.
#include "check.h"

WASI_IMPORT("fd_write") int32_t raw_fd_write(int32_t fd, int32_t iovs, int32_t iovs_len, int32_t nwritten);
WASI_IMPORT("fd_read") int32_t raw_fd_read(int32_t fd, int32_t iovs, int32_t iovs_len, int32_t nread);
WASI_IMPORT("fd_seek") int32_t raw_fd_seek(int32_t fd, int64_t offset, int32_t whence, int32_t newoffset);
WASI_IMPORT("clock_time_get") int32_t raw_clock_time_get(int32_t id, int64_t precision, int32_t out);
WASI_IMPORT("random_get") int32_t raw_random_get(int32_t buf, int32_t len);

#define OUT_OF_BOUNDS ((int32_t)0xFFFFFFF0u)

int main(int argc, char **argv) {
  CHECK(argc == 2);
  const char *c = argv[1];
  static __wasi_size_t n;
  static __wasi_ciovec_t iov;
  static char msg[] = "hello\n";
  printf("case %s\n", c);
  if (strcmp(c, "errno") == 0) {
    // The cases that come back as errno values, in one run.
    __wasi_fd_t fd;
    iov.buf = (const uint8_t *)msg; iov.buf_len = sizeof msg - 1;
    EXPECT_ERRNO("path_open invalid UTF-8", raw_path_open(ROOT_FD, 0, "\xff\xfe", 2, 0, ALL_RIGHTS, 0, 0, (int32_t *)&fd), __WASI_ERRNO_ILSEQ);
    EXPECT_ERRNO("fd_write bad fd", raw_fd_write(99, (int32_t)(uintptr_t)&iov, 1, (int32_t)(uintptr_t)&n), __WASI_ERRNO_BADF);
    EXPECT_ERRNO("fd_write negative fd", raw_fd_write(-1, (int32_t)(uintptr_t)&iov, 1, (int32_t)(uintptr_t)&n), __WASI_ERRNO_BADF);
    EXPECT_ERRNO("fd_write zero iovecs", raw_fd_write(1, (int32_t)(uintptr_t)&iov, 0, (int32_t)(uintptr_t)&n), __WASI_ERRNO_SUCCESS);
    CHECK(n == 0);
    // The array pointer is not read when the count is zero.
    EXPECT_ERRNO("fd_write zero iovecs at a bad address", raw_fd_write(1, OUT_OF_BOUNDS, 0, (int32_t)(uintptr_t)&n), __WASI_ERRNO_SUCCESS);
  } else if (strcmp(c, "iovec_data") == 0) {
    iov.buf = (const uint8_t *)(uintptr_t)OUT_OF_BOUNDS; iov.buf_len = 64;
    printf("returned %s\n", errname(raw_fd_write(1, (int32_t)(uintptr_t)&iov, 1, (int32_t)(uintptr_t)&n)));
  } else if (strcmp(c, "iovec_array") == 0) {
    printf("returned %s\n", errname(raw_fd_read(0, OUT_OF_BOUNDS, 4, (int32_t)(uintptr_t)&n)));
  } else if (strcmp(c, "path_pointer") == 0) {
    __wasi_fd_t fd;
    printf("returned %s\n", errname(raw_path_open(ROOT_FD, 0, (const char *)(uintptr_t)OUT_OF_BOUNDS, 64, 0, ALL_RIGHTS, 0, 0, (int32_t *)&fd)));
  } else if (strcmp(c, "random_buffer") == 0) {
    printf("returned %s\n", errname(raw_random_get(OUT_OF_BOUNDS, 64)));
  } else if (strcmp(c, "result_pointer") == 0) {
    __wasi_size_t size;
    printf("returned %s\n", errname(__wasi_args_sizes_get((__wasi_size_t *)(uintptr_t)OUT_OF_BOUNDS, &size)));
  } else if (strcmp(c, "clock_id") == 0) {
    printf("returned %s\n", errname(raw_clock_time_get(4, 0, (int32_t)(uintptr_t)&n)));
  } else if (strcmp(c, "whence") == 0) {
    printf("returned %s\n", errname(raw_fd_seek(1, 0, 7, (int32_t)(uintptr_t)&n)));
  } else {
    CHECKF(0, "unknown case %s", c);
  }
  puts("done");
  return 0;
}
