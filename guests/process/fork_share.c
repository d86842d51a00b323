// fork with POSIX sharing (test/checkpoint/fork-share.test.ts): descriptors opened before fork share
// their open file description (one position), and a pipe made before fork is one pipe for
// both: the reader sees end of file only once every write end, in both processes, is closed.
//
// The two take turns through a second pipe (r: child -> parent), so the output and the file
// contents are the same in every run.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "../../include/drawbridge.h"

int main(void) {
  int f = open("/data/shared.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
  int log = open("/data/append.log", O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (f < 0 || log < 0) {
    perror("open");
    return 2;
  }
  write(f, "head:", 5);
  int p[2], r[2];
  if (drawbridge_pipe(p) != 0 || drawbridge_pipe(r) != 0) return 2;

  int pid = drawbridge_fork();
  if (pid < 0) {
    perror("fork");
    return 2;
  }
  char buf[256];
  if (pid == 0) {
    close(p[1]); // the parent's write end stays open: no end of file yet
    close(r[0]);
    write(f, "abc", 3); // at the shared position 5
    write(log, "child 1\n", 8);
    write(r[1], "go", 2);
    size_t got = 0;
    ssize_t n;
    while ((n = read(p[0], buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)n;
    buf[got] = 0;
    printf("child: read '%s', then %s\n", buf, n == 0 ? "end of file" : strerror(errno));
    printf("child: the shared position is %lld\n", (long long)lseek(f, 0, SEEK_CUR));
    fflush(stdout);
    write(log, "child 2\n", 8);
    return 7;
  }
  close(p[0]);
  close(r[1]);
  ssize_t n = read(r[0], buf, 2); // the child has written
  printf("parent: child says '%.*s'; position %lld\n", (int)n, buf, (long long)lseek(f, 0, SEEK_CUR));
  fflush(stdout);
  write(f, "XYZ", 3); // lands after the child's 3 bytes
  write(log, "parent 1\n", 9);
  write(p[1], "through the pipe", 16);
  close(p[1]); // now every write end is closed: the child sees end of file
  int status = -1;
  drawbridge_wait(pid, &status);
  n = read(r[0], buf, sizeof buf); // the child's write end went away with it
  printf("parent: child exited %d; its pipe reads %zd (end of file)\n", status, n);
  write(log, "parent 2\n", 9);
  n = pread(f, buf, sizeof buf, 0);
  printf("parent: file '%.*s', position %lld\n", (int)n, buf, (long long)lseek(f, 0, SEEK_CUR));
  return 0;
}
