// clang-flags: -mexec-model=reactor
// A reactor module (built with -mexec-model=reactor): _initialize, then exported functions.
#include <stdio.h>
#include <stdlib.h>
static int counter;
__attribute__((constructor)) static void init(void) { counter = 100; }
__attribute__((export_name("add"))) int add(int x) { counter += x; return counter; }
__attribute__((export_name("greet"))) void greet(void) { printf("hello from a reactor, counter=%d\n", counter); fflush(stdout); }
