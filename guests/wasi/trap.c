// A trap (unreachable) ends the process with status 134, as wasmtime does (it
// exits like an abort: 128 + SIGABRT), after the output written before it.
#include "check.h"

int main(void) {
  puts("before the trap");
  fflush(stdout);
  __builtin_trap();
  puts("FAIL: still running after the trap");
  return 0;
}
