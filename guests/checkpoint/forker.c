// fork for guests: the child gets a copy of the parent's memory and descriptors.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "../../include/drawbridge.h"

int main(void) {
  static char note[64];
  strcpy(note, "set before fork");
  int counter = 41;
  int log = open("/data/fork.log", O_WRONLY | O_CREAT | O_APPEND, 0644);
  write(log, "before\n", 7);
  int pid = drawbridge_fork();
  if (pid < 0) {
    perror("fork");
    return 2;
  }
  if (pid == 0) {
    counter++;
    printf("child: counter %d, note '%s'\n", counter, note);
    fflush(stdout);
    write(log, "child\n", 6);
    return 7;
  }
  int status = -1;
  int got = -1;
  if (drawbridge_waitpid(pid, 0, &got, &status) != 0) {
    perror("wait");
    return 3;
  }
  printf("parent: child %d exited %d; counter %d\n", got == pid ? 1 : 0, status, counter);
  write(log, "parent\n", 7);
  return 0;
}
