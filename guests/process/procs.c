// Pipe and process semantics, one check per line on stdout ("name: result"), in the style of
// the WASI conformance guests. Roles (argv[1]):
//   pipes                 EOF, EPIPE, O_NONBLOCK (EAGAIN both ways), capacity; no child needed
//   children CHILD.wasm   EPIPE and EOF across picoprocesses, WNOHANG, kill, ECHILD, ESRCH,
//                         environment, bad arguments, the child's own grants
//   quota CHILD.wasm      spawn refused with EDQUOT (run without children granted)
//   open PATH CHILD.wasm  whether the parent can open PATH, and whether a child can
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../include/drawbridge.h"
#include "check.h"

static void pipes(void) {
  int p[2];
  CHECK((drawbridge_pipe(p)) == 0);
  printf("pipe: fds %s\n", p[0] >= 3 && p[1] == p[0] + 1 ? "ok" : "unexpected");
  // End of file: what was written is read, then 0 once the write end is closed.
  CHECK(write(p[1], "abc", 3) == 3);
  CHECK((close(p[1]) == 0 ? 0 : errno) == 0);
  char buf[8];
  ssize_t a = read(p[0], buf, sizeof buf);
  ssize_t b = read(p[0], buf, sizeof buf);
  printf("eof: read %zd then %zd\n", a, b);
  close(p[0]);

  // EPIPE: a write after the read end is closed fails (no signal in WASI).
  CHECK((drawbridge_pipe(p)) == 0);
  close(p[0]);
  errno = 0;
  ssize_t w = write(p[1], "x", 1);
  printf("epipe: write %zd %s\n", w, errname(errno));
  close(p[1]);

  // Non-blocking: an empty pipe reads EAGAIN; a full one refuses writes with EAGAIN.
  CHECK((drawbridge_pipe(p)) == 0);
  CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
  CHECK(fcntl(p[1], F_SETFL, O_NONBLOCK) == 0);
  errno = 0;
  ssize_t r = read(p[0], buf, sizeof buf);
  printf("nonblocking read of an empty pipe: %zd %s\n", r, errname(errno));
  static char big[8192];
  long total = 0;
  for (;;) {
    ssize_t n = write(p[1], big, sizeof big);
    if (n < 0) break;
    total += n;
  }
  printf("nonblocking write until full: %ld bytes, then %s\n", total, errname(errno));
  // poll: the full pipe is readable and not writable.
  struct pollfd pf[2] = {{.fd = p[0], .events = POLLIN}, {.fd = p[1], .events = POLLOUT}};
  int ready = poll(pf, 2, 0);
  printf("poll on the full pipe: %d ready, in=%d out=%d\n", ready, (pf[0].revents & POLLIN) != 0, (pf[1].revents & POLLOUT) != 0);
  CHECK(read(p[0], big, sizeof big) == sizeof big);
  printf("after a read it takes a write again: %s\n", write(p[1], "y", 1) == 1 ? "yes" : "no");
  close(p[0]);
  close(p[1]);
}

static void children(const char *child) {
  int pid, status, r;
  // EPIPE across picoprocesses: the child never reads its stdin and exits; then a write fails.
  char *exit_argv[] = {"c", "produce", "0", "7", NULL};
  int modes_in[3] = {DRAWBRIDGE_STDIO_PIPE, DRAWBRIDGE_STDIO_NULL, DRAWBRIDGE_STDIO_NULL};
  int fds[3] = {-1, -1, -1};
  CHECK((drawbridge_spawn(child, exit_argv, NULL, modes_in, fds, &pid)) == 0);
  CHECK((drawbridge_wait(pid, &status)) == 0);
  errno = 0;
  ssize_t w = write(fds[0], "x", 1);
  printf("write to an exited child's stdin: %zd %s (status %d)\n", w, errname(errno), status);
  close(fds[0]);

  // Blocking and WNOHANG: a child reading its stdin runs until the parent closes it.
  char *drain_argv[] = {"c", "drain", NULL};
  CHECK((drawbridge_spawn(child, drain_argv, NULL, modes_in, fds, &pid)) == 0);
  r = drawbridge_waitpid(pid, DRAWBRIDGE_WNOHANG, NULL, &status);
  printf("waitpid WNOHANG while it runs: %s\n", errname(r));
  static char data[200000];
  memset(data, 'd', sizeof data);
  size_t done = 0;
  while (done < sizeof data) {  // more than the pipe holds: the writes wait for the child
    ssize_t n = write(fds[0], data + done, sizeof data - done);
    if (n < 0) break;
    done += (size_t)n;
  }
  close(fds[0]);
  int which = 0;
  CHECK((drawbridge_waitpid(-1, 0, &which, &status)) == 0);
  printf("drain: wrote %zu, any-child wait got pid %s, status %d (= %zu %% 256)\n", done, which == pid ? "right" : "wrong", status, done % 256);

  // kill: a child blocked on a stdin that never ends.
  char *block_argv[] = {"c", "block", NULL};
  CHECK((drawbridge_spawn(child, block_argv, NULL, modes_in, fds, &pid)) == 0);
  CHECK((drawbridge_kill(pid)) == 0);
  CHECK((drawbridge_wait(pid, &status)) == 0);
  printf("killed child: status %d\n", status);
  close(fds[0]);
  printf("wait again: %s; kill again: %s; wait with no children: %s\n", errname(drawbridge_wait(pid, &status)),
         errname(drawbridge_kill(pid)), errname(drawbridge_waitpid(-1, 0, NULL, &status)));

  // Environment: exactly what envp says; the parent's own is not passed on.
  char *env_argv[] = {"c", "env", NULL};
  char *envp[] = {"A=1", "B=two words", NULL};
  int modes_out[3] = {DRAWBRIDGE_STDIO_NULL, DRAWBRIDGE_STDIO_PIPE, DRAWBRIDGE_STDIO_NULL};
  CHECK((drawbridge_spawn(child, env_argv, envp, modes_out, fds, &pid)) == 0);
  char env[256] = {0};
  size_t len = 0;
  ssize_t n;
  while ((n = read(fds[1], env + len, sizeof env - 1 - len)) > 0) len += (size_t)n;
  close(fds[1]);
  CHECK((drawbridge_wait(pid, &status)) == 0);
  for (char *c = env; *c; c++) if (*c == '\n') *c = ';';
  printf("child environment: %s (parent has PARENT_ONLY=%s)\n", env, getenv("PARENT_ONLY") ? getenv("PARENT_ONLY") : "unset");

  // A child cannot spawn: its manifest has children = 0.
  char *spawn_argv[] = {"c", "spawn", (char *)child, NULL};
  CHECK((drawbridge_spawn(child, spawn_argv, NULL, NULL, NULL, &pid)) == 0);
  CHECK((drawbridge_wait(pid, &status)) == 0);
  printf("grandchild spawn: %s\n", errname(status));

  // Bad arguments.
  int bad_modes[3] = {7, 0, 0};
  printf("bad mode: %s\n", errname(drawbridge_spawn(child, NULL, NULL, bad_modes, NULL, &pid)));
  int fd_modes[3] = {DRAWBRIDGE_STDIO_FD, 0, 0};
  int bad_fds[3] = {99, -1, -1};
  printf("bad fd: %s\n", errname(drawbridge_spawn(child, NULL, NULL, fd_modes, bad_fds, &pid)));
  char *bad_env[] = {"NOEQUALS", NULL};
  printf("bad env: %s\n", errname(drawbridge_spawn(child, NULL, bad_env, NULL, NULL, &pid)));
  printf("missing module: %s\n", errname(drawbridge_spawn("/bin/nothing.wasm", NULL, NULL, NULL, NULL, &pid)));
  printf("not a module: %s\n", errname(drawbridge_spawn("/bin", NULL, NULL, NULL, NULL, &pid)));
  printf("outside the mounts: %s\n", errname(drawbridge_spawn("/etc/passwd", NULL, NULL, NULL, NULL, &pid)));
  printf("wait for a stranger: %s; kill a stranger: %s\n", errname(drawbridge_wait(12345, &status)), errname(drawbridge_kill(12345)));
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const char *role = argc > 1 ? argv[1] : "";
  if (!strcmp(role, "pipes")) {
    pipes();
  } else if (!strcmp(role, "children") && argc > 2) {
    children(argv[2]);
  } else if (!strcmp(role, "quota") && argc > 2) {
    int pid;
    printf("spawn: %s\n", errname(drawbridge_spawn(argv[2], NULL, NULL, NULL, NULL, &pid)));
  } else if (!strcmp(role, "open") && argc > 3) {
    int fd = open(argv[2], O_RDONLY);
    printf("parent open %s: %s\n", argv[2], fd >= 0 ? "OK" : errname(errno));
    char *open_argv[] = {"c", "open", argv[2], NULL};
    int pid, status;
    CHECK((drawbridge_spawn(argv[3], open_argv, NULL, NULL, NULL, &pid)) == 0);
    CHECK((drawbridge_wait(pid, &status)) == 0);
    printf("child open %s: %s\n", argv[2], errname(status));
  } else {
    printf("usage: procs pipes | children CHILD | quota CHILD | open PATH CHILD\n");
    return 2;
  }
  printf("done\n");
  return 0;
}
