// A trap two calls deep in a module that keeps its name section: the error names the trap and
// a backtrace lists the Wasm frames innermost first, with the functions' names, as wasmtime's.
// clang-flags: -O0 -Wl,--strip-debug
// (-O0: clang then runs no wasm-opt after linking, which would drop the name section, and inlines nothing.)
#include <stdio.h>

__attribute__((noinline)) static int divide(volatile int a, volatile int b) { return a / b; }

__attribute__((noinline)) int compute_ratio(int n) { return divide(n, n - 7); }

int main(void) {
  puts("before the trap");
  fflush(stdout);
  return compute_ratio(7);
}
