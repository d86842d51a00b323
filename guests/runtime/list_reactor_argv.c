// clang-flags: -mexec-model=reactor -O0 -Wl,--strip-debug
// The reactor of guests/include/list_reactor.h, importing args_sizes_get and args_get itself
// (for an export of its own): making it a command reuses those imports.
#include <wasi/api.h>
#include "list_reactor.h"

__attribute__((export_name("argc"))) int argc(void) {
  size_t count, size;
  if (__wasi_args_sizes_get(&count, &size) != 0) return -1;
  char **argv = malloc(count * sizeof(char *));
  char *buf = malloc(size);
  int ok = __wasi_args_get((uint8_t **)argv, (uint8_t *)buf) == 0;
  free(argv);
  free(buf);
  return ok ? (int)count : -1;
}
