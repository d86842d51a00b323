// clang-flags: -mexec-model=reactor -O0 -Wl,--strip-debug
// A reactor with a list<string> export (guests/include/list_reactor.h) that does not import
// args_get: making it a command adds the WASI imports and renumbers its functions.
// (-O0: clang then runs no wasm-opt after linking, which would drop the name section.)
#include "list_reactor.h"
