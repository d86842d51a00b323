// args_sizes_get, args_get, environ_sizes_get, environ_get: the guest sees exactly
// the argv and environment it was given (order, empty strings, '=' in values,
// UTF-8), sizes that match the strings byte for byte, and nothing from the host.
#include "check.h"

static void print_strings(const char *kind, char **list, size_t count, size_t buf_size, const char *buf) {
  size_t total = 0;
  for (size_t i = 0; i < count; i++) {
    CHECK(list[i] >= buf && list[i] < buf + buf_size);
    printf("%s[%zu] = [%s]\n", kind, i, list[i]);
    total += strlen(list[i]) + 1;
  }
  // The buffer size is exactly the strings and their NULs: no padding, no extras.
  CHECKF(total == buf_size, "%s buffer size %zu, strings take %zu", kind, buf_size, total);
}

int main(void) {
  __wasi_size_t argc = 0, argv_size = 0;
  MUST(__wasi_args_sizes_get(&argc, &argv_size));
  printf("argc = %u\n", (unsigned)argc);
  char **argv = calloc(argc + 1, sizeof *argv);
  char *argv_buf = malloc(argv_size + 1);
  MUST(__wasi_args_get((uint8_t **)argv, (uint8_t *)argv_buf));
  // argv[0] is the program name the runner passes: check it, print the rest.
  CHECK(argc >= 1 && strcmp(argv[0], "args_environ.wasm") == 0);
  print_strings("arg", argv, argc, argv_size, argv_buf);

  __wasi_size_t envc = 0, env_size = 0;
  MUST(__wasi_environ_sizes_get(&envc, &env_size));
  printf("envc = %u\n", (unsigned)envc);
  char **env = calloc(envc + 1, sizeof *env);
  char *env_buf = malloc(env_size + 1);
  MUST(__wasi_environ_get((uint8_t **)env, (uint8_t *)env_buf));
  print_strings("env", env, envc, env_size, env_buf);

  // wasi-libc's getenv sees the same environment; host variables do not leak in.
  CHECK(getenv("PATH") == NULL);
  CHECK(getenv("HOME") == NULL);
  const char *eq = getenv("WITH_EQUALS");
  CHECK(eq != NULL && strcmp(eq, "a=b=c") == 0);
  const char *empty = getenv("EMPTY");
  CHECK(empty != NULL && empty[0] == '\0');

  puts("done");
  return 0;
}
