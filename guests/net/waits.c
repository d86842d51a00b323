// How a guest waits for a connection and its bytes on the listener `drawbridge run --listen`
// pre-opens (fd 3): the ways test/programs/net-waits.test.ts checks that the host still takes
// connections and delivers bytes, whether the guest blocks or spins.
//
//   waits accept        blocking accept(), then a blocking read
//   waits spin-accept   non-blocking accept() again and again until it answers (EAGAIN spin)
//   waits spin-read     poll() for the connection, then non-blocking read() until bytes come
//   waits spin-poll     poll() for the connection, then poll(timeout 0) until it is readable
//
// It prints "ready" at once (no getsockname first: a call that waits for the listen to settle
// would hide a wait on the wrong readiness; the test knows the port), reads one line from the
// one client it accepts, answers "ok LINE\n" and prints "got LINE". A spin gives up after SPIN_SECONDS or
// SPIN_TRIES tries (exit 3), so a host that never delivers does not keep it running for ever.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#define SPIN_SECONDS 30
#define SPIN_TRIES 2000000000L

static struct timespec started;
static long tries;

/** One more try of a spin: 0 while it may go on, 1 once it is over its bounds. */
static int spin_over(void) {
  if (++tries >= SPIN_TRIES) return 1;
  if ((tries & 1023) != 0) return 0;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec - started.tv_sec >= SPIN_SECONDS;
}

static int give_up(const char *what) {
  printf("%s: gave up after %ld tries\n", what, tries);
  return 3;
}

static int fail(const char *what) {
  printf("%s: %s\n", what, strerror(errno));
  return 3;
}

static void set_nonblocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/** Wait for a connection with a blocking poll(), then take it. */
static int accept_after_poll(int lfd) {
  struct pollfd p = {.fd = lfd, .events = POLLIN};
  if (poll(&p, 1, -1) != 1) return -1;
  return accept(lfd, NULL, NULL);
}

int main(int argc, char **argv) {
  const char *mode = argc >= 2 ? argv[1] : "accept";
  int lfd = 3;
  printf("ready\n");
  fflush(stdout);
  clock_gettime(CLOCK_MONOTONIC, &started);

  int cfd = -1;
  if (strcmp(mode, "accept") == 0) {
    cfd = accept(lfd, NULL, NULL);
  } else if (strcmp(mode, "spin-accept") == 0) {
    set_nonblocking(lfd);
    while ((cfd = accept(lfd, NULL, NULL)) < 0) {
      if (errno != EAGAIN) return fail("accept");
      if (spin_over()) return give_up("accept");
    }
  } else if (strcmp(mode, "spin-read") == 0 || strcmp(mode, "spin-poll") == 0) {
    cfd = accept_after_poll(lfd);
  } else {
    printf("unknown mode %s\n", mode);
    return 2;
  }
  if (cfd < 0) return fail("accept");

  char line[256];
  size_t len = 0;
  if (strcmp(mode, "spin-read") == 0) set_nonblocking(cfd);
  while (len < sizeof line - 1 && (len == 0 || line[len - 1] != '\n')) {
    if (strcmp(mode, "spin-poll") == 0) {
      struct pollfd p = {.fd = cfd, .events = POLLIN};
      int r = poll(&p, 1, 0);
      if (r < 0) return fail("poll");
      if (r == 0) {
        if (spin_over()) return give_up("poll");
        continue;
      }
    }
    ssize_t n = read(cfd, line + len, sizeof line - 1 - len);
    if (n < 0 && errno == EAGAIN) {
      if (spin_over()) return give_up("read");
      continue;
    }
    if (n < 0) return fail("read");
    if (n == 0) break;
    len += (size_t)n;
  }
  if (len > 0 && line[len - 1] == '\n') len--;
  line[len] = 0;
  char reply[300];
  int rn = snprintf(reply, sizeof reply, "ok %s\n", line);
  if (write(cfd, reply, (size_t)rn) != rn) return fail("write");
  close(cfd);
  printf("got %s\n", line);
  return 0;
}
