// The guest of the browser example (examples/web/, docs/browser.md): asks for names, one line
// each, and greets each one, counting the greetings of every visit in /data/count.txt (which the
// page keeps in IndexedDB). Checkpoint it while it waits for a name, and the restored program
// goes on with its counts.
// Built with: clang --target=wasm32-wasi -O2 examples/web/greeter.c -o examples/web/greeter.wasm
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_count(void) {
  FILE *f = fopen("/data/count.txt", "r");
  int n = 0;
  if (f) {
    if (fscanf(f, "%d", &n) != 1) n = 0;
    fclose(f);
  }
  return n;
}

static void write_count(int n) {
  FILE *f = fopen("/data/count.txt", "w");
  if (f) {
    fprintf(f, "%d\n", n);
    fclose(f);
  }
}

int main(int argc, char **argv) {
  int total = read_count();
  int here = 0;
  printf("Hello from %s, a drawbridge picoprocess in your browser.\n", argc > 0 ? argv[0] : "a program");
  printf("Greetings so far, in every visit: %d\n", total);
  char line[256];
  for (;;) {
    printf("What is your name? ");
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin)) break;
    size_t len = strcspn(line, "\r\n");
    line[len] = 0;
    if (len == 0) continue;
    total++;
    here++;
    write_count(total);
    printf("Hello, %s! (greeting %d of this run, %d in all)\n", line, here, total);
  }
  printf("\nBye after %d greetings.\n", here);
  return 0;
}
