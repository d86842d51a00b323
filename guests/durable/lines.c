// Reads lines from stdin and keeps state across them: for each line it mixes the line into its
// state, computes for a while (argv[1] rounds of xorshift), and prints the line's number, the
// line and the state. 16 random bytes read at start join the state in memory but are never
// printed, so the output of a run is the same every time while its memory is not: a restore
// by replay must answer them from the log (the memory digest checks it). With argv[2], a
// folder, it also keeps two files open across the lines: it reads the next line of
// DIR/words.txt for each line, and writes each line to DIR/seen.txt (opened once, flushed per
// line). The durable tests checkpoint it while it waits for its third line and restore it
// (test/checkpoint/durable-cli.test.ts).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned char noise[16];
static unsigned long long state = 1469598103934665603ULL;
static char history[64][128];

static unsigned long long work(unsigned long long x, long rounds) {
  for (long i = 0; i < rounds; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}

int main(int argc, char **argv) {
  long rounds = argc > 1 ? atol(argv[1]) : 200000000L;
  if (getentropy(noise, sizeof noise) != 0) return 99;
  char line[128], word[128], path[256];
  FILE *words = NULL, *seen = NULL;
  if (argc > 2) {
    snprintf(path, sizeof path, "%s/words.txt", argv[2]);
    words = fopen(path, "r");
    snprintf(path, sizeof path, "%s/seen.txt", argv[2]);
    seen = fopen(path, "w");
    if (!words || !seen) return 98;
  }
  int n = 0;
  printf("ready\n");
  fflush(stdout);
  while (fgets(line, sizeof line, stdin)) {
    size_t len = strlen(line);
    if (len && line[len - 1] == '\n') line[--len] = 0;
    strncpy(history[n % 64], line, sizeof history[0] - 1);
    n++;
    for (size_t i = 0; i < len; i++) state = (state ^ (unsigned char)line[i]) * 1099511628211ULL;
    state = work(state, rounds);
    if (words) {
      if (!fgets(word, sizeof word, words)) strcpy(word, "-\n");
      fprintf(seen, "%d %s\n", n, line);
      fflush(seen);
      printf("line %d: %s word=%s", n, line, word);
    }
    printf("line %d: %s state=%016llx\n", n, line, state);
    fflush(stdout);
  }
  printf("done after %d lines, first was %s, state=%016llx\n", n, n ? history[0] : "-", state);
  return (int)(state % 100);
}
