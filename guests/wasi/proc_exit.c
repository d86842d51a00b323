// proc_exit: the status given in argv[1] is the process's exit status, output
// written before it is not lost, and nothing after it runs. Specs proc_exit.N.json
// run it with N = 0, 1, 42, 255. proc_raise is checked here too: wasmtime refuses
// it (ENOSYS-class: see docs/conformance.md) rather than killing the process.
#include "check.h"

int main(int argc, char **argv) {
  CHECK(argc == 2);
  int code = atoi(argv[1]);
  printf("exiting with %d\n", code);
  fflush(stdout);
  __wasi_proc_exit((__wasi_exitcode_t)code);
  puts("FAIL: still running after proc_exit");
  return 99;
}
