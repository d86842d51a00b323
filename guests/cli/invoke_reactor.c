// clang-flags: -mexec-model=reactor
// The reactor of `drawbridge run --invoke` (test/cli/wasmtime-flags.test.ts): exports of each
// value type; `base` is set by a constructor, which runs in _initialize, so a result that
// counts it shows that _initialize ran before the invoked export.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
static int32_t base;
__attribute__((constructor)) static void init(void) { base = 1000; }
__attribute__((export_name("add"))) int32_t add(int32_t a, int32_t b) { return a + b; }
__attribute__((export_name("based"))) int32_t based(int32_t x) { return base + x; }
__attribute__((export_name("mul64"))) int64_t mul64(int64_t a, int64_t b) { return a * b; }
__attribute__((export_name("halve"))) float halve(float x) { return x / 2; }
__attribute__((export_name("hypot2"))) double hypot2(double a, double b) { return sqrt(a * a + b * b); }
__attribute__((export_name("hello"))) void hello(void) { printf("hello from the reactor, base=%d\n", base); fflush(stdout); }
__attribute__((export_name("stop"))) void stop(int32_t code) { exit(code); }
__attribute__((export_name("crash"))) void crash(void) { __builtin_trap(); }
