// The guest of the npm package's tests (test/package/): prints its arguments and the variable
// GREETING, then numbers each line of stdin, upper-cased, flushing after each one, so a test
// sees a line's answer before it writes the next (and a restored one counts on).
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) printf("arg %s\n", argv[i]);
  const char *greeting = getenv("GREETING");
  if (greeting) printf("greeting %s\n", greeting);
  fflush(stdout);
  char line[256];
  int n = 0;
  while (fgets(line, sizeof line, stdin)) {
    for (char *c = line; *c; c++) *c = (char)toupper((unsigned char)*c);
    printf("%d %s", ++n, line);
    fflush(stdout);
  }
  fprintf(stderr, "%d lines\n", n);
  return n == 0 ? 3 : 0;
}
