// poll_oneoff: relative and absolute clock subscriptions (monotonic and realtime)
// really wait, a zero timeout does not, descriptors that are ready win over a long
// timeout (a regular file, stdin with data, stdout for writing), userdata comes
// back unchanged, a bad or directory descriptor fails the call, and an empty
// subscription list is EINVAL.
#include "check.h"

#define MS 1000000ull

static __wasi_timestamp_t now(__wasi_clockid_t id) {
  __wasi_timestamp_t t;
  MUST(__wasi_clock_time_get(id, 1, &t));
  return t;
}

static __wasi_subscription_t clock_sub(__wasi_userdata_t ud, __wasi_clockid_t id, __wasi_timestamp_t timeout, __wasi_subclockflags_t flags) {
  __wasi_subscription_t s;
  memset(&s, 0, sizeof s);
  s.userdata = ud;
  s.u.tag = __WASI_EVENTTYPE_CLOCK;
  s.u.u.clock.id = id;
  s.u.u.clock.timeout = timeout;
  s.u.u.clock.precision = 0;
  s.u.u.clock.flags = flags;
  return s;
}

static __wasi_subscription_t fd_sub(__wasi_userdata_t ud, __wasi_eventtype_t type, __wasi_fd_t fd) {
  __wasi_subscription_t s;
  memset(&s, 0, sizeof s);
  s.userdata = ud;
  s.u.tag = type;
  if (type == __WASI_EVENTTYPE_FD_READ) s.u.u.fd_read.file_descriptor = fd;
  else s.u.u.fd_write.file_descriptor = fd;
  return s;
}

static const char *type_name(__wasi_eventtype_t t) {
  return t == __WASI_EVENTTYPE_CLOCK ? "clock" : t == __WASI_EVENTTYPE_FD_READ ? "fd_read" : "fd_write";
}

// Polls, then prints the events sorted by userdata (the order of ready events is the host's).
static __wasi_size_t poll_and_show(const char *label, __wasi_subscription_t *subs, __wasi_size_t count, __wasi_event_t *events) {
  __wasi_size_t n = 0;
  EXPECT_OK(label, __wasi_poll_oneoff(subs, events, count, &n));
  for (__wasi_size_t i = 0; i < n; i++)
    for (__wasi_size_t j = i + 1; j < n; j++)
      if (events[j].userdata < events[i].userdata) { __wasi_event_t t = events[i]; events[i] = events[j]; events[j] = t; }
  for (__wasi_size_t i = 0; i < n; i++) {
    printf("  event userdata 0x%llx type %s error %s", (unsigned long long)events[i].userdata,
      type_name(events[i].type), errname(events[i].error));
    if (events[i].type != __WASI_EVENTTYPE_CLOCK && events[i].error == 0)
      printf(" nbytes>0 %d", events[i].fd_readwrite.nbytes > 0);
    printf("\n");
  }
  return n;
}

int main(void) {
  __wasi_subscription_t subs[4];
  __wasi_event_t events[4];
  __wasi_size_t n;

  // Relative monotonic clock: waits at least the timeout.
  __wasi_timestamp_t t0 = now(__WASI_CLOCKID_MONOTONIC);
  subs[0] = clock_sub(0xC0FFEE0123456789ull, __WASI_CLOCKID_MONOTONIC, 30 * MS, 0);
  n = poll_and_show("poll relative 30 ms", subs, 1, events);
  __wasi_timestamp_t waited = now(__WASI_CLOCKID_MONOTONIC) - t0;
  CHECKF(n == 1 && waited >= 30 * MS, "waited %llu ns", (unsigned long long)waited);
  CHECKF(waited < 5000 * MS, "waited %llu ns", (unsigned long long)waited);
  puts("waited at least 30 ms");

  // Absolute monotonic clock.
  t0 = now(__WASI_CLOCKID_MONOTONIC);
  subs[0] = clock_sub(2, __WASI_CLOCKID_MONOTONIC, t0 + 30 * MS, __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME);
  n = poll_and_show("poll absolute monotonic +30 ms", subs, 1, events);
  CHECK(now(__WASI_CLOCKID_MONOTONIC) >= t0 + 30 * MS);
  puts("woke after the deadline");

  // An absolute deadline in the past fires at once.
  subs[0] = clock_sub(3, __WASI_CLOCKID_MONOTONIC, 1, __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME);
  poll_and_show("poll absolute in the past", subs, 1, events);

  // Realtime relative.
  t0 = now(__WASI_CLOCKID_MONOTONIC);
  subs[0] = clock_sub(4, __WASI_CLOCKID_REALTIME, 20 * MS, 0);
  poll_and_show("poll relative realtime 20 ms", subs, 1, events);
  CHECK(now(__WASI_CLOCKID_MONOTONIC) - t0 >= 20 * MS);

  // Zero timeout.
  t0 = now(__WASI_CLOCKID_MONOTONIC);
  subs[0] = clock_sub(5, __WASI_CLOCKID_MONOTONIC, 0, 0);
  poll_and_show("poll zero timeout", subs, 1, events);
  CHECK(now(__WASI_CLOCKID_MONOTONIC) - t0 < 1000 * MS);

  // Two clocks: only the earlier one fires.
  subs[0] = clock_sub(6, __WASI_CLOCKID_MONOTONIC, 10 * 1000 * MS, 0);
  subs[1] = clock_sub(7, __WASI_CLOCKID_MONOTONIC, 10 * MS, 0);
  poll_and_show("poll two clocks", subs, 2, events);

  // A regular file is always ready to read and to write; the long clock does not fire.
  __wasi_fd_t file;
  MUST(__wasi_path_open(ROOT_FD, 0, "hello.txt", 0, ALL_RIGHTS, 0, 0, &file));
  t0 = now(__WASI_CLOCKID_MONOTONIC);
  subs[0] = fd_sub(10, __WASI_EVENTTYPE_FD_READ, file);
  subs[1] = clock_sub(11, __WASI_CLOCKID_MONOTONIC, 10 * 1000 * MS, 0);
  poll_and_show("poll file read + 10 s clock", subs, 2, events);
  subs[0] = fd_sub(12, __WASI_EVENTTYPE_FD_WRITE, file);
  poll_and_show("poll file write + 10 s clock", subs, 2, events);
  CHECK(now(__WASI_CLOCKID_MONOTONIC) - t0 < 5000 * MS);

  // stdin has data (the spec gives some): ready for reading, then read it.
  subs[0] = fd_sub(20, __WASI_EVENTTYPE_FD_READ, 0);
  subs[1] = clock_sub(21, __WASI_CLOCKID_MONOTONIC, 10 * 1000 * MS, 0);
  poll_and_show("poll stdin read + 10 s clock", subs, 2, events);
  char buf[64];
  __wasi_iovec_t iov = { (uint8_t *)buf, sizeof buf };
  MUST(__wasi_fd_read(0, &iov, 1, &n));
  printf("stdin [%.*s]\n", (int)n - 1, buf);

  // stdout is ready for writing.
  subs[0] = fd_sub(30, __WASI_EVENTTYPE_FD_WRITE, 1);
  subs[1] = clock_sub(31, __WASI_CLOCKID_MONOTONIC, 10 * 1000 * MS, 0);
  poll_and_show("poll stdout write + 10 s clock", subs, 2, events);

  // Errors.
  subs[0] = fd_sub(40, __WASI_EVENTTYPE_FD_READ, 77);
  subs[1] = clock_sub(41, __WASI_CLOCKID_MONOTONIC, 10 * 1000 * MS, 0);
  // wasmtime fails the whole call (not just that event) for a bad or non-pollable fd.
  EXPECT_ERRNO("poll bad fd", __wasi_poll_oneoff(subs, events, 2, &n), __WASI_ERRNO_BADF);
  subs[0] = fd_sub(42, __WASI_EVENTTYPE_FD_READ, ROOT_FD);
  EXPECT_ERRNO("poll directory", __wasi_poll_oneoff(subs, events, 2, &n), __WASI_ERRNO_BADF);
  EXPECT_ERRNO("poll no subscriptions", __wasi_poll_oneoff(subs, events, 0, &n), __WASI_ERRNO_INVAL);
  MUST(__wasi_fd_close(file));
  puts("done");
  return 0;
}
