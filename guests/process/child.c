// The child side of the process tests: one program, several roles (argv[1]).
//   produce N CODE   write "line 1".."line N" to stdout, exit with CODE
//   upper CODE       copy stdin to stdout in upper case until end of file, then
//                    "lines=<count>" on stderr; exit with CODE
//   env              print the environment, one NAME=VALUE a line
//   open PATH        exit 0 if PATH opens for reading, else with the errno
//   spawn PATH       exit 0 if spawning PATH works, else with the errno (children=0: EDQUOT)
//   drain            read stdin until end of file; exit with the byte count % 256
//   block            read stdin until end of file, forever if it never comes; exit 0
//   zeros SIZE CHUNK write SIZE bytes to stdout in writes of CHUNK bytes (bench/pipe-throughput.ts)
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../include/drawbridge.h"

extern char **environ;

int main(int argc, char **argv) {
  const char *role = argc > 1 ? argv[1] : "";
  if (!strcmp(role, "produce") && argc > 3) {
    int n = atoi(argv[2]);
    for (int i = 1; i <= n; i++) printf("line %d\n", i);
    fflush(stdout);
    return atoi(argv[3]);
  }
  if (!strcmp(role, "upper") && argc > 2) {
    char buf[4096];
    long lines = 0;
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0) {
      for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n') lines++;
        buf[i] = (char)toupper((unsigned char)buf[i]);
      }
      for (ssize_t done = 0; done < n;) {
        ssize_t w = write(1, buf + done, (size_t)(n - done));
        if (w < 0) return 100;
        done += w;
      }
    }
    if (n < 0) return 101;
    fprintf(stderr, "lines=%ld\n", lines);
    return atoi(argv[2]);
  }
  if (!strcmp(role, "env")) {
    for (char **e = environ; e && *e; e++) printf("%s\n", *e);
    return 0;
  }
  if (!strcmp(role, "open") && argc > 2) {
    int fd = open(argv[2], O_RDONLY);
    return fd >= 0 ? 0 : errno;
  }
  if (!strcmp(role, "spawn") && argc > 2) {
    int pid;
    return drawbridge_spawn(argv[2], NULL, NULL, NULL, NULL, &pid);
  }
  if (!strcmp(role, "drain") || !strcmp(role, "block")) {
    char buf[4096];
    long total = 0;
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0) total += n;
    return !strcmp(role, "drain") ? (int)(total % 256) : 0;
  }
  if (!strcmp(role, "zeros") && argc > 3) {
    long long size = atoll(argv[2]);
    size_t chunk = (size_t)atol(argv[3]);
    char *buf = calloc(1, chunk);
    if (buf == NULL || chunk == 0) return 102;
    for (long long done = 0; done < size;) {
      size_t want = size - done < (long long)chunk ? (size_t)(size - done) : chunk;
      ssize_t w = write(1, buf, want);
      if (w <= 0) return 103;
      done += w;
    }
    return 0;
  }
  fprintf(stderr, "child: unknown role %s\n", role);
  return 99;
}
