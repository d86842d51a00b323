// random_get: zero length, small and large buffers, fresh bytes on every call.
#include <unistd.h>
#include "check.h"

static int all_zero(const uint8_t *buf, size_t len) {
  for (size_t i = 0; i < len; i++) if (buf[i]) return 0;
  return 1;
}

int main(void) {
  uint8_t a[256], b[256];
  EXPECT_OK("random_get 0 bytes", __wasi_random_get(a, 0));
  memset(a, 0, sizeof a);
  memset(b, 0, sizeof b);
  EXPECT_OK("random_get 256 bytes", __wasi_random_get(a, sizeof a));
  MUST(__wasi_random_get(b, sizeof b));
  CHECK(!all_zero(a, sizeof a));
  CHECK(memcmp(a, b, sizeof a) != 0);
  puts("two calls give different bytes");

  // Only the requested bytes are written.
  uint8_t guard[8];
  memset(guard, 0xAA, sizeof guard);
  MUST(__wasi_random_get(guard + 2, 4));
  CHECK(guard[0] == 0xAA && guard[1] == 0xAA && guard[6] == 0xAA && guard[7] == 0xAA);
  puts("writes only the requested range");

  // A large request (bigger than one Web Crypto call may fill) is filled entirely:
  // every 64 KiB block gets non-zero bytes.
  size_t big_len = 1 << 20;
  uint8_t *big = calloc(1, big_len);
  CHECK(big != NULL);
  EXPECT_OK("random_get 1 MiB", __wasi_random_get(big, big_len));
  for (size_t off = 0; off < big_len; off += 65536) CHECK(!all_zero(big + off, 65536));
  CHECK(!all_zero(big + big_len - 64, 64));
  puts("1 MiB filled");
  // getentropy (wasi-libc) goes through random_get too.
  CHECK(getentropy(a, 32) == 0);
  puts("done");
  return 0;
}
