// clock_res_get and clock_time_get: every clock id, and that the
// clocks tell plausible time (realtime after 2020, monotonic never going back).
// An invalid clock id is in hostile.c: wasmtime traps on it.
#include <time.h>
#include "check.h"

static const char *const CLOCK_NAMES[] = { "realtime", "monotonic", "process_cputime", "thread_cputime" };

int main(void) {
  char label[64];
  for (__wasi_clockid_t id = 0; id < 4; id++) {
    __wasi_timestamp_t res = 0, now = 0;
    int e = __wasi_clock_res_get(id, &res);
    snprintf(label, sizeof label, "clock_res_get %s", CLOCK_NAMES[id]);
    printf("%s: %s\n", label, errname(e));
    // A resolution is at least 1 ns and at most 1 s.
    if (e == 0) CHECKF(res >= 1 && res <= 1000000000ull, "%s resolution %llu", label, (unsigned long long)res);
    e = __wasi_clock_time_get(id, 1, &now);
    snprintf(label, sizeof label, "clock_time_get %s", CLOCK_NAMES[id]);
    printf("%s: %s\n", label, errname(e));
  }
  // Realtime: nanoseconds since the epoch, after 2020-01-01 and before 2100.
  __wasi_timestamp_t real = 0;
  MUST(__wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 0, &real));
  CHECK(real > 1577836800ull * 1000000000ull);
  CHECK(real < 4102444800ull * 1000000000ull);
  puts("realtime is plausible");

  // Monotonic never goes back, and moves forward over a busy loop.
  __wasi_timestamp_t prev = 0, cur = 0, first = 0;
  MUST(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 0, &first));
  prev = first;
  for (int i = 0; i < 100000; i++) {
    MUST(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 0, &cur));
    CHECK(cur >= prev);
    prev = cur;
  }
  CHECK(cur > first);
  puts("monotonic is monotonic");

  // wasi-libc's clock_gettime agrees with the raw call.
  struct timespec ts;
  CHECK(clock_gettime(CLOCK_REALTIME, &ts) == 0);
  CHECK((__wasi_timestamp_t)ts.tv_sec * 1000000000ull + ts.tv_nsec >= real);
  puts("done");
  return 0;
}
