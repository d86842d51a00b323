// fd_read and fd_write straight between guest memory and the host (test/libos/fd-io-views.test.ts).
// Each case prints "ok CASE" once every check held; the data file is /data/in.bin, 256 bytes
// whose byte i is i (the test writes it). Cases:
//   end       read into, and write from, an iovec whose last byte is the last byte of memory
//   past-end  read into an iovec one byte longer than what is left of memory (a trap)
//   several   read into four iovecs (one empty) and pread into two; write from three
//   grow      read into, and write from, pages that memory.grow added after earlier reads
//   many      one fd_write of 64 iovecs that all name the same MiB of memory (64 MiB in all):
//             a short write, so the host never gathers more than a bounded copy of them
//   quota     (limits.bytes_written 1000) a write past the limit, of one iovec and of three,
//             is refused whole (EDQUOT, nothing of it written); one that fits still goes
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"

static int open_in(void) {
  int fd = open("/data/in.bin", O_RDONLY);
  CHECK(fd >= 0);
  return fd;
}

/** Bytes [from, from + n) of the data file are at p. */
static void check_bytes(const uint8_t *p, size_t n, size_t from) {
  for (size_t i = 0; i < n; i++) CHECKF(p[i] == (uint8_t)(from + i), "byte %zu is %u, want %u", i, p[i], (unsigned)(uint8_t)(from + i));
}

static size_t file_size(const char *path) {
  struct stat st;
  CHECK(stat(path, &st) == 0);
  return (size_t)st.st_size;
}

/** The end of linear memory, after growing it by a page whose last 100 bytes nobody uses. */
static uint8_t *memory_end(void) {
  size_t old = __builtin_wasm_memory_grow(0, 1);
  CHECK(old != (size_t)-1);
  return (uint8_t *)((old + 1) * 65536);
}

static void case_end(void) {
  uint8_t *end = memory_end();
  int fd = open_in();
  __wasi_iovec_t iov = {end - 100, 100};
  __wasi_size_t n = 0;
  MUST(__wasi_fd_read(fd, &iov, 1, &n));
  CHECK(n == 100);
  check_bytes(end - 100, 100, 0);
  int out = open("/data/out.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  CHECK(out >= 0);
  __wasi_ciovec_t ciov = {end - 100, 100};
  MUST(__wasi_fd_write(out, &ciov, 1, &n));
  CHECK(n == 100);
  close(out);
  CHECK(file_size("/data/out.bin") == 100);
  puts("ok end");
}

static void case_past_end(void) {
  uint8_t *end = memory_end();
  int fd = open_in();
  __wasi_iovec_t iov = {end - 100, 101};
  __wasi_size_t n = 0;
  puts("reading past the end");
  __wasi_fd_read(fd, &iov, 1, &n);
  puts("FAIL: a read past the end of memory came back");
}

static void case_several(void) {
  static uint8_t a[10], b[1], c[300];
  int fd = open_in();
  __wasi_iovec_t iov[4] = {{a, 10}, {b, 0}, {b, 1}, {c, 300}};
  __wasi_size_t n = 0;
  MUST(__wasi_fd_read(fd, iov, 4, &n));
  CHECK(n == 256);
  check_bytes(a, 10, 0);
  check_bytes(b, 1, 10);
  check_bytes(c, 245, 11);
  // At end of file: nothing more.
  MUST(__wasi_fd_read(fd, iov, 4, &n));
  CHECK(n == 0);
  // pread into two, from 200: the first fills, the second gets the rest (a short read).
  static uint8_t d[40], e[40];
  __wasi_iovec_t piov[2] = {{d, 40}, {e, 40}};
  MUST(__wasi_fd_pread(fd, piov, 2, 200, &n));
  CHECK(n == 56);
  check_bytes(d, 40, 200);
  check_bytes(e, 16, 240);
  int out = open("/data/out.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  CHECK(out >= 0);
  __wasi_ciovec_t ciov[3] = {{c + 100, 5}, {a, 0}, {a + 3, 4}};
  MUST(__wasi_fd_write(out, ciov, 3, &n));
  CHECK(n == 9);
  close(out);
  uint8_t back[16];
  int again = open("/data/out.bin", O_RDONLY);
  CHECK(again >= 0);
  CHECK(read(again, back, sizeof back) == 9);
  check_bytes(back, 5, 111);
  check_bytes(back + 5, 4, 3);
  puts("ok several");
}

static void case_grow(void) {
  int fd = open_in();
  static uint8_t first[16];
  CHECK(read(fd, first, sizeof first) == 16);
  check_bytes(first, 16, 0);
  for (int i = 0; i < 8; i++) {
    // New pages, then a read into them and a write out of them: a view of memory kept from
    // before the grow would be of the old, detached buffer.
    size_t old = __builtin_wasm_memory_grow(0, 2);
    CHECK(old != (size_t)-1);
    uint8_t *fresh = (uint8_t *)(old * 65536 + 65536 + 7);
    __wasi_iovec_t *iov = (__wasi_iovec_t *)(old * 65536);
    iov->buf = fresh;
    iov->buf_len = 16;
    __wasi_size_t *n = (__wasi_size_t *)(old * 65536 + 64);
    MUST(__wasi_fd_pread(fd, iov, 1, (__wasi_filesize_t)(16 * i), n));
    CHECK(*n == 16);
    check_bytes(fresh, 16, (size_t)(16 * i));
    __wasi_ciovec_t ciov = {fresh, 16};
    int out = open("/data/out.bin", O_WRONLY | O_CREAT | O_APPEND, 0644);
    CHECK(out >= 0);
    MUST(__wasi_fd_write(out, &ciov, 1, n));
    CHECK(*n == 16);
    close(out);
  }
  CHECK(file_size("/data/out.bin") == 128);
  int back = open("/data/out.bin", O_RDONLY);
  static uint8_t all[128];
  CHECK(read(back, all, sizeof all) == 128);
  check_bytes(all, 128, 0);
  puts("ok grow");
}

static void case_many(void) {
  static uint8_t mib[1 << 20];
  for (size_t i = 0; i < sizeof mib; i++) mib[i] = (uint8_t)i;
  static __wasi_ciovec_t iov[64];
  // A small first iovec, then the same MiB 63 times.
  iov[0] = (__wasi_ciovec_t){mib, 16};
  for (int i = 1; i < 64; i++) iov[i] = (__wasi_ciovec_t){mib, sizeof mib};
  int out = open("/data/out.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  CHECK(out >= 0);
  __wasi_size_t n = 0;
  MUST(__wasi_fd_write(out, iov, 64, &n));
  printf("wrote %u\n", (unsigned)n);
  // The rest goes as a write would after a short count: from where it stopped, iovec by iovec.
  MUST(__wasi_fd_write(out, iov + 1, 63, &n));
  printf("then %u\n", (unsigned)n);
  close(out);
  puts("ok many");
}

static void case_quota(void) {
  // 1000 bytes may be written in all (output to stdout and stderr counts too: none before the end).
  static uint8_t buf[600];
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)i;
  int out = open("/data/out.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  CHECK(out >= 0);
  __wasi_size_t n = 0;
  __wasi_ciovec_t one = {buf, 600};
  MUST(__wasi_fd_write(out, &one, 1, &n));
  CHECK(n == 600);
  // 600 more would pass 1000: refused, nothing written.
  CHECK(__wasi_fd_write(out, &one, 1, &n) == __WASI_ERRNO_DQUOT);
  CHECK(file_size("/data/out.bin") == 600);
  // Three iovecs of 150 (450 in all) would pass it too: refused whole, not the first 150 or 300.
  __wasi_ciovec_t three[3] = {{buf, 150}, {buf + 150, 150}, {buf + 300, 150}};
  CHECK(__wasi_fd_write(out, three, 3, &n) == __WASI_ERRNO_DQUOT);
  CHECK(file_size("/data/out.bin") == 600);
  // 300 still fit (600 + 300 <= 1000).
  MUST(__wasi_fd_write(out, three, 2, &n));
  CHECK(n == 300);
  CHECK(file_size("/data/out.bin") == 900);
  close(out);
  fputs("ok quota\n", stderr);
}

int main(int argc, char **argv) {
  CHECK(argc == 2);
  if (strcmp(argv[1], "end") == 0) case_end();
  else if (strcmp(argv[1], "past-end") == 0) case_past_end();
  else if (strcmp(argv[1], "several") == 0) case_several();
  else if (strcmp(argv[1], "grow") == 0) case_grow();
  else if (strcmp(argv[1], "many") == 0) case_many();
  else if (strcmp(argv[1], "quota") == 0) case_quota();
  else CHECK(!"a case: end, past-end, several, grow, many or quota");
  return 0;
}
