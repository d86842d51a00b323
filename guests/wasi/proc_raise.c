// proc_raise: wasi-libc no longer declares it, but it is one of the 46 preview1
// imports and old binaries call it. wasmtime 49 does not deliver signals: the call
// returns an errno and the program goes on (checked below; see docs/conformance.md).
#include "check.h"

int main(void) {
  EXPECT_ERRNO("proc_raise SIGTERM", raw_proc_raise(15), __WASI_ERRNO_NOTSUP);
  EXPECT_ERRNO("proc_raise 0", raw_proc_raise(0), __WASI_ERRNO_NOTSUP);
  puts("still running");
  return 0;
}
