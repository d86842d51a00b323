// The body of the list<string> reactors of guests/runtime/ (list_reactor.c, list_reactor_argv.c),
// for test/wasm/command-from-reactor.test.ts: a reactor whose export takes a list<string> as
// the legacy wit-bindgen passes one, (pointer, length) pairs of strings allocated with the
// module's cabi_realloc, as Ruby's ruby-init does. It prints what it gets, byte for byte, and
// frees each string and the list as wit-bindgen's callee does (so each must be an allocation
// of its own). "--trap" as an argument traps two named frames deep (the name section must still
// name the functions after the rewrite renumbers them).
#ifndef DRAWBRIDGE_LIST_REACTOR_H
#define DRAWBRIDGE_LIST_REACTOR_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  char *ptr;
  size_t len;
} list_string_t;

static int init_calls;
__attribute__((constructor)) static void init(void) { init_calls++; }

__attribute__((export_name("cabi_realloc"))) void *cabi_realloc(void *ptr, size_t old_size, size_t align, size_t new_size) {
  (void)old_size;
  if (new_size == 0) return (void *)align;
  void *p = realloc(ptr, new_size);
  if (!p) abort();
  return p;
}

__attribute__((noinline)) void trap_here(void) { __builtin_trap(); }

// A function reached through the table (an element segment names it by index).
static void (*volatile on_trap)(void) = trap_here;

__attribute__((export_name("show-args: func(args: list<string>) -> ()"))) void show_args(list_string_t *list, size_t len) {
  printf("init-calls=%d argc=%zu list-aligned=%d\n", init_calls, len, (int)((uintptr_t)list % 4 == 0));
  for (size_t i = 0; i < len; i++) {
    list_string_t s = list[i];
    printf("%zu: len=%zu nul-terminated=%d bytes=", i, s.len, (int)(s.len > 0 && s.ptr[s.len - 1] == 0 && strlen(s.ptr) == s.len - 1));
    for (size_t k = 0; k + 1 < s.len; k++) printf("%02x", (unsigned char)s.ptr[k]);
    printf("\n");
    fflush(stdout);
    if (strcmp(s.ptr, "--trap") == 0) on_trap();
    free(s.ptr);
  }
  free(list);
}

#endif
