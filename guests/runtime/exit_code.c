// Exits with argv[1] as its status (proc_exit), after writing to stdout and stderr.
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  printf("out\n");
  fprintf(stderr, "err\n");
  return argc > 1 ? atoi(argv[1]) : 0;
}
