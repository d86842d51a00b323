// A pipeline of two children, as a shell runs `child produce N 3 | child upper 5`:
// the producer's stdout is the write end of a pipe, the filter reads its other end, and the
// filter's stdout comes back to this program through a second pipe (STDIO_PIPE). Prints what
// it collected and both exit statuses.
//   pipeline CHILD.wasm [N]
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../include/drawbridge.h"

static int fail(const char *what, int err) {
  printf("FAIL %s: %s\n", what, strerror(err));
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) return fail("usage: pipeline CHILD.wasm [N]", EINVAL);
  const char *child = argv[1];
  const char *count = argc > 2 ? argv[2] : "3";
  int p[2];
  int r = drawbridge_pipe(p);
  if (r) return fail("pipe", r);

  char *producer_argv[] = {"producer", "produce", (char *)count, "3", NULL};
  int producer_modes[3] = {DRAWBRIDGE_STDIO_NULL, DRAWBRIDGE_STDIO_FD, DRAWBRIDGE_STDIO_INHERIT};
  int producer_fds[3] = {-1, p[1], -1};
  int producer;
  r = drawbridge_spawn(child, producer_argv, NULL, producer_modes, producer_fds, &producer);
  if (r) return fail("spawn producer", r);

  char *filter_argv[] = {"filter", "upper", "5", NULL};
  int filter_modes[3] = {DRAWBRIDGE_STDIO_FD, DRAWBRIDGE_STDIO_PIPE, DRAWBRIDGE_STDIO_PIPE};
  int filter_fds[3] = {p[0], -1, -1};
  int filter;
  r = drawbridge_spawn(child, filter_argv, NULL, filter_modes, filter_fds, &filter);
  if (r) return fail("spawn filter", r);
  // The children hold the pipe now; without these closes the filter never sees end of file.
  close(p[0]);
  close(p[1]);

  // Collect the filter's stdout, then its stderr, each until end of file. Small outputs are
  // printed whole, big ones as byte and line counts.
  static char out[4096];
  size_t len = 0, lines = 0;
  char chunk[16384];
  ssize_t n;
  while ((n = read(filter_fds[1], chunk, sizeof chunk)) > 0) {
    for (ssize_t i = 0; i < n; i++) {
      lines += chunk[i] == '\n';
      if (len < sizeof out - 1) out[len] = chunk[i];
      len++;
    }
  }
  if (n < 0) return fail("read filter stdout", errno);
  out[len < sizeof out - 1 ? len : sizeof out - 1] = 0;
  char err[256];
  size_t elen = 0;
  while ((n = read(filter_fds[2], err + elen, sizeof err - 1 - elen)) > 0) elen += (size_t)n;
  err[elen] = 0;
  close(filter_fds[1]);
  close(filter_fds[2]);

  int producer_status = -1, filter_status = -1;
  if ((r = drawbridge_wait(producer, &producer_status))) return fail("wait producer", r);
  if ((r = drawbridge_wait(filter, &filter_status))) return fail("wait filter", r);
  if (len < sizeof out) fputs(out, stdout);
  else printf("%zu bytes, %zu lines\n", len, lines);
  printf("filter stderr: %s", err);
  printf("producer exit %d, filter exit %d\n", producer_status, filter_status);
  // Both reaped: a second wait has no child.
  printf("wait again: %s\n", drawbridge_wait(producer, &producer_status) == ECHILD ? "ECHILD" : "?");
  return 0;
}
