// Regression test: a host that caches a view of linear memory breaks when the
// memory grows. Grow memory twenty times (memory.grow directly, and through malloc)
// and after each growth hand fd_write an iovec and data that lie in the new pages.
#include "check.h"

int main(void) {
  size_t pages_before = __builtin_wasm_memory_size(0);
  for (int i = 0; i < 20; i++) {
    char *fresh;
    if (i % 2 == 0) {
      // memory.grow by one page: the new page starts at the old end.
      size_t old = __builtin_wasm_memory_grow(0, 1);
      CHECK(old != (size_t)-1);
      fresh = (char *)(old * 65536);
    } else {
      // malloc bigger than the free space: wasi-libc's allocator grows memory.
      fresh = malloc(3 * 65536);
      CHECK(fresh != NULL);
    }
    int len = snprintf(fresh + 16, 64, "grow %d: written from new memory\n", i + 1);
    __wasi_ciovec_t *iov = (__wasi_ciovec_t *)fresh;
    iov->buf = (const uint8_t *)(fresh + 16);
    iov->buf_len = (size_t)len;
    __wasi_size_t *written = (__wasi_size_t *)(fresh + 8);
    MUST(__wasi_fd_write(1, iov, 1, written));
    CHECK(*written == (__wasi_size_t)len);
  }
  size_t pages_after = __builtin_wasm_memory_size(0);
  CHECK(pages_after >= pages_before + 20);
  puts("done");
  return 0;
}
