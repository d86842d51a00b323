// The command of the wasmtime-flags tests (test/cli/wasmtime-flags.test.ts): prints its argv,
// one line each, then the environment variables whose names start with the first argument
// after argv[0] (all of them when there is none), then "envc=N". Exports `twice`, which
// `run --invoke twice` calls instead of _start (main does not run then).
#include <stdio.h>
#include <string.h>
extern char **environ;
__attribute__((export_name("twice"))) int twice(int x) { return 2 * x; }
int main(int argc, char **argv) {
  for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
  const char *prefix = argc > 1 ? argv[1] : "";
  int envc = 0;
  for (char **e = environ; *e; e++, envc++)
    if (strncmp(*e, prefix, strlen(prefix)) == 0) printf("env %s\n", *e);
  printf("envc=%d\n", envc);
  return 0;
}
