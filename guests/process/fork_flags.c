// fork and the file status flags (test/checkpoint/fork-share.test.ts): O_APPEND and O_NONBLOCK belong to
// the open file description, which parent and child share after fork, so what one sets with
// fcntl(F_SETFL) the other sees in fcntl(F_GETFL) and in how its reads and writes behave.
//
//   fork_flags append    the child sets O_APPEND on a file the parent opened; after waiting,
//                        the parent sees it and its write lands at the end; then it clears it
//   fork_flags nonblock  the parent sets O_NONBLOCK on a pipe's read end after fork; the child
//                        sees it (a read of the empty pipe fails with EAGAIN) and clears it
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "../../include/drawbridge.h"

static const char *yes(int flags, int bit) {
  return (flags & bit) ? "set" : "not set";
}

static int append_case(void) {
  int f = open("/data/flags.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (f < 0) {
    perror("open");
    return 2;
  }
  write(f, "0123456789", 10);
  lseek(f, 2, SEEK_SET); // a write here would overwrite "23": only O_APPEND sends it to the end
  printf("parent: before fork O_APPEND is %s\n", yes(fcntl(f, F_GETFL), O_APPEND));
  fflush(stdout);
  int pid = drawbridge_fork();
  if (pid < 0) {
    perror("fork");
    return 2;
  }
  if (pid == 0) {
    int fl = fcntl(f, F_GETFL);
    if (fcntl(f, F_SETFL, fl | O_APPEND) != 0) {
      perror("child: fcntl");
      return 3;
    }
    write(f, "child", 5);
    printf("child: set O_APPEND (now %s); wrote at the end, position %lld\n", yes(fcntl(f, F_GETFL), O_APPEND),
           (long long)lseek(f, 0, SEEK_CUR));
    return 0;
  }
  int status = -1;
  drawbridge_wait(pid, &status);
  int fl = fcntl(f, F_GETFL);
  printf("parent: child exited %d; O_APPEND is %s\n", status, yes(fl, O_APPEND));
  lseek(f, 0, SEEK_SET);
  write(f, "parent", 6);
  printf("parent: wrote after seeking to 0, position %lld\n", (long long)lseek(f, 0, SEEK_CUR));
  // Cleared, a write goes where the position is again.
  fcntl(f, F_SETFL, fl & ~O_APPEND);
  lseek(f, 0, SEEK_SET);
  write(f, "X", 1);
  printf("parent: cleared O_APPEND (now %s); wrote at 0, position %lld\n", yes(fcntl(f, F_GETFL), O_APPEND),
         (long long)lseek(f, 0, SEEK_CUR));
  char buf[64];
  ssize_t n = pread(f, buf, sizeof buf, 0);
  printf("parent: file '%.*s'\n", (int)n, buf);
  return 0;
}

static int nonblock_case(void) {
  int p[2], go[2];
  if (drawbridge_pipe(p) != 0 || drawbridge_pipe(go) != 0) return 2;
  int pid = drawbridge_fork();
  if (pid < 0) {
    perror("fork");
    return 2;
  }
  char buf[16];
  if (pid == 0) {
    close(go[1]);
    read(go[0], buf, 2); // waits (go[0] is blocking) until the parent has set O_NONBLOCK on p[0]
    int fl = fcntl(p[0], F_GETFL);
    printf("child: O_NONBLOCK on the read end is %s\n", yes(fl, O_NONBLOCK));
    // The parent still holds the write end: without O_NONBLOCK this read would wait forever.
    if (fl & O_NONBLOCK) {
      ssize_t n = read(p[0], buf, sizeof buf);
      printf("child: read of the empty pipe: %zd, %s\n", n, n < 0 && errno == EAGAIN ? "EAGAIN" : strerror(errno));
    }
    fcntl(p[0], F_SETFL, fl & ~O_NONBLOCK);
    printf("child: cleared it\n");
    return 0;
  }
  close(go[0]);
  int fl = fcntl(p[0], F_GETFL);
  fcntl(p[0], F_SETFL, fl | O_NONBLOCK);
  printf("parent: set O_NONBLOCK on the read end (now %s)\n", yes(fcntl(p[0], F_GETFL), O_NONBLOCK));
  fflush(stdout);
  write(go[1], "go", 2);
  int status = -1;
  drawbridge_wait(pid, &status);
  printf("parent: child exited %d; O_NONBLOCK is %s\n", status, yes(fcntl(p[0], F_GETFL), O_NONBLOCK));
  // The pipe still works as one: what the parent writes, it reads back.
  write(p[1], "data", 4);
  ssize_t n = read(p[0], buf, sizeof buf);
  printf("parent: read %zd '%.*s'\n", n, n > 0 ? (int)n : 0, buf);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "append") == 0) return append_case();
  if (argc > 1 && strcmp(argv[1], "nonblock") == 0) return nonblock_case();
  fprintf(stderr, "usage: fork_flags append|nonblock\n");
  return 2;
}
