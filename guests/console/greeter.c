// The web console's test guest (test/browser/console.test.ts): greets on stdout, says on
// stderr that it is waiting, then answers each line of stdin in capitals ("HELLO, LINE"), and
// says goodbye on stderr at end of input.
#include <ctype.h>
#include <stdio.h>

int main(void) {
  char line[256];
  printf("greeter: ready\n");
  fflush(stdout);
  fprintf(stderr, "greeter: waiting for a line\n");
  while (fgets(line, sizeof line, stdin)) {
    for (char *c = line; *c; c++) *c = (char)toupper((unsigned char)*c);
    printf("HELLO, %s", line);
    fflush(stdout);
  }
  fprintf(stderr, "greeter: goodbye\n");
  return 0;
}
