// The browser host's guest (test/browser/browser-host.test.ts, examples/web/): prints its
// arguments and $GREETING, then reads lines from stdin. Each line is counted, mixed into a hash
// kept on the stack, appended to /data/seen.txt through one descriptor opened at the start (its
// offset must survive a checkpoint), and answered with "N: LINE hash=H". A checkpoint taken
// while it waits for a line and restored elsewhere answers the next line with the same count and
// hash as an uninterrupted run. At the end of input: "bye after N lines".
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
  const char *greeting = getenv("GREETING");
  printf("greeting=%s\n", greeting ? greeting : "(none)");
  int seen = open("/data/seen.txt", O_WRONLY | O_CREAT | O_APPEND, 0644);
  printf("files=%s\n", seen >= 0 ? "yes" : "no");
  printf("ready\n");
  fflush(stdout);
  unsigned long long hash = 14695981039346656037ULL;
  char line[256];
  int n = 0;
  while (fgets(line, sizeof line, stdin)) {
    size_t len = strlen(line);
    if (len && line[len - 1] == '\n') line[--len] = 0;
    n++;
    for (size_t i = 0; i < len; i++) hash = (hash ^ (unsigned char)line[i]) * 1099511628211ULL;
    if (seen >= 0) {
      char out[300];
      int m = snprintf(out, sizeof out, "%d %s\n", n, line);
      write(seen, out, (size_t)m);
    }
    printf("%d: %s hash=%016llx\n", n, line, hash);
    fflush(stdout);
  }
  printf("bye after %d lines\n", n);
  return 0;
}
