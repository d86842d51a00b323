/*
 * drawbridge/process.h: child picoprocesses and pipes for WebAssembly guests of drawbridge.
 *
 * WASI preview 1 has no processes; drawbridge offers them in its own import module,
 * "drawbridge", beside wasi_snapshot_preview1. Header only: include it and build as usual
 *   clang --target=wasm32-wasi -O2 -I/path/to/drawbridge/include prog.c -o prog.wasm
 * Every function returns 0 or an errno value (EAGAIN, EPIPE, ... of wasi-libc, which are
 * WASI's own numbers); none sets errno. Descriptors are ordinary fds: read(), write(),
 * close(), poll() and fcntl(F_SETFL, O_NONBLOCK) work on them.
 *
 * Grants (docs/processes.md):
 * - Spawning is a grant: each spawn counts against the manifest's [limits] children (default 0,
 *   so a program without the grant gets EDQUOT).
 * - The child's module is a guest path, mapped through the parent's mounts (ENOENT / EPERM
 *   outside them). A relative path is taken from "/".
 * - The child gets the parent's manifest (its mounts and network grants, never more) with
 *   children = 0, and exactly the environment passed as envp (NULL: none).
 *
 * Pipes follow POSIX: a read returns what is there, waits while the pipe is empty, and returns
 * 0 (end of file) once every write end is closed; a write waits while the pipe is full and
 * fails with EPIPE once every read end is closed (no SIGPIPE). With O_NONBLOCK a read of an
 * empty pipe or a write to a full one fails with EAGAIN instead of waiting. 64 KiB of buffer.
 */
#ifndef DRAWBRIDGE_PROCESS_H
#define DRAWBRIDGE_PROCESS_H

#include <stdint.h>
#include <stddef.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a child's fd 0, 1, 2 is (stdio_modes[i] of drawbridge_spawn). */
#define DRAWBRIDGE_STDIO_INHERIT 0 /* the parent's fd i as it is now (null if closed) */
#define DRAWBRIDGE_STDIO_PIPE    1 /* a new pipe; the parent's end is returned in stdio_fds[i] */
#define DRAWBRIDGE_STDIO_NULL    2 /* reads end of file, writes are discarded */
#define DRAWBRIDGE_STDIO_FD      3 /* the parent's descriptor stdio_fds[i] (e.g. an end of a pipe) */

/* drawbridge_waitpid flags. */
#define DRAWBRIDGE_WNOHANG 1 /* EAGAIN instead of waiting when no child has exited */

/* Exit status of a child killed with drawbridge_kill (128 + SIGKILL, as a shell shows it). */
#define DRAWBRIDGE_KILLED_STATUS 137

/* The raw imports: (pointer, length) pairs, as WASI passes arrays. */
#define DRAWBRIDGE_IMPORT(name) __attribute__((__import_module__("drawbridge"), __import_name__(#name)))
DRAWBRIDGE_IMPORT(process_spawn)
int32_t __drawbridge_process_spawn(const char *path, size_t path_len, const char *argv_buf, size_t argv_len,
                                   const char *env_buf, size_t env_len, const int32_t *modes, int32_t *fds,
                                   int32_t *pid_out);
DRAWBRIDGE_IMPORT(process_wait)
int32_t __drawbridge_process_wait(int32_t pid, int32_t flags, int32_t *pid_out, int32_t *status_out);
DRAWBRIDGE_IMPORT(process_kill)
int32_t __drawbridge_process_kill(int32_t pid);
DRAWBRIDGE_IMPORT(pipe)
int32_t __drawbridge_pipe(int32_t *fds);
#undef DRAWBRIDGE_IMPORT

/* Lay a NULL-terminated array of C strings end to end (each with its NUL) into buf; returns the
 * bytes needed, writing only what fits in cap. */
static inline size_t __drawbridge_pack(char *const list[], char *buf, size_t cap) {
  size_t need = 0;
  for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
    size_t n = strlen(list[i]) + 1;
    if (need + n <= cap) memcpy(buf + need, list[i], n);
    need += n;
  }
  return need;
}

static inline int __drawbridge_spawn_packed(const char *path, const char *argv_buf, size_t argv_len,
                                            const char *env_buf, size_t env_len, const int stdio_modes[3],
                                            int stdio_fds[3], int *pid_out);

/*
 * Start the module at `path` as a child picoprocess, like posix_spawn: argv (argv[0] included;
 * NULL: just the path), envp (NULL: empty), and for each of fd 0, 1, 2 a mode (NULL modes: all
 * INHERIT). stdio_fds (may be NULL unless a mode is PIPE or FD) gives the fds of FD modes and
 * receives the parent's ends of PIPE modes: for fd 0 a write end, for fds 1 and 2 read ends.
 * The child's pid goes to *pid_out. The parent keeps its own copies of FD-mode descriptors:
 * close them when it no longer needs them (or the reader of a pipe never sees end of file).
 * Errors: EDQUOT (no children granted / quota used up), ENOENT, EPERM (outside the mounts),
 * EINVAL (bad mode, malformed strings, not a WebAssembly module), EBADF (bad FD-mode fd), ENOMEM.
 */
static inline int drawbridge_spawn(const char *path, char *const argv[], char *const envp[],
                                   const int stdio_modes[3], int stdio_fds[3], int *pid_out) {
  char small_argv[512], small_env[512];
  char *const only_path[] = {(char *)path, NULL};
  char *const *args = argv == NULL ? only_path : argv;
  size_t argv_len = __drawbridge_pack(args, small_argv, sizeof small_argv);
  size_t env_len = __drawbridge_pack(envp, small_env, sizeof small_env);
  char *argv_buf = argv_len > sizeof small_argv ? (char *)malloc(argv_len) : small_argv;
  char *env_buf = env_len > sizeof small_env ? (char *)malloc(env_len) : small_env;
  int r = ENOMEM;
  if (argv_buf == NULL || env_buf == NULL) goto out;
  if (argv_buf != small_argv) __drawbridge_pack(args, argv_buf, argv_len);
  if (env_buf != small_env) __drawbridge_pack(envp, env_buf, env_len);
  r = __drawbridge_spawn_packed(path, argv_buf, argv_len, env_buf, env_len, stdio_modes, stdio_fds, pid_out);
out:
  if (argv_buf != small_argv) free(argv_buf);
  if (env_buf != small_env) free(env_buf);
  return r;
}

static inline int __drawbridge_spawn_packed(const char *path, const char *argv_buf, size_t argv_len,
                                            const char *env_buf, size_t env_len, const int stdio_modes[3],
                                            int stdio_fds[3], int *pid_out) {
  int32_t modes[3] = {0, 0, 0}, fds[3] = {-1, -1, -1}, pid = 0;
  for (int i = 0; i < 3; i++) {
    if (stdio_modes != NULL) modes[i] = stdio_modes[i];
    if (stdio_fds != NULL) fds[i] = stdio_fds[i];
  }
  int r = __drawbridge_process_spawn(path, strlen(path), argv_buf, argv_len, env_buf, env_len, modes, fds, &pid);
  if (r != 0) return r;
  if (stdio_fds != NULL)
    for (int i = 0; i < 3; i++)
      if (modes[i] == DRAWBRIDGE_STDIO_PIPE) stdio_fds[i] = fds[i];
  if (pid_out != NULL) *pid_out = pid;
  return 0;
}

/* Wait for child `pid` (-1: any child) to exit; its exit status goes to *status and the pid to
 * *pid_out (either may be NULL). With DRAWBRIDGE_WNOHANG, EAGAIN when none has exited yet.
 * ECHILD when there is no such child (or it was already waited for). A child is reaped once. */
static inline int drawbridge_waitpid(int pid, int flags, int *pid_out, int *status) {
  int32_t p = 0, s = 0;
  int r = __drawbridge_process_wait(pid, flags, &p, &s);
  if (r != 0) return r;
  if (pid_out != NULL) *pid_out = p;
  if (status != NULL) *status = s;
  return 0;
}

/* Wait for child `pid` to exit; its exit status (0-255; 137 if killed) goes to *status. */
static inline int drawbridge_wait(int pid, int *status) {
  return drawbridge_waitpid(pid, 0, NULL, status);
}

/* Ask child `pid` to stop: it ends at its next call into drawbridge, with status 137. A child
 * that has exited but was not waited for yet is not an error. ESRCH for an unknown pid. */
static inline int drawbridge_kill(int pid) {
  return __drawbridge_process_kill(pid);
}

/* A pipe: fds[0] is the read end, fds[1] the write end (as pipe(2)). */
static inline int drawbridge_pipe(int fds[2]) {
  int32_t raw[2];
  int r = __drawbridge_pipe(raw);
  if (r != 0) return r;
  fds[0] = raw[0];
  fds[1] = raw[1];
  return 0;
}

/* fork: a copy of the calling picoprocess (memory and globals) continues from this call as a
 * child. Descriptors are shared as POSIX fork shares them: one open file description for both,
 * with one position and one set of status flags (O_APPEND, O_NONBLOCK set with fcntl by either
 * hold for both); a pipe or socket is one for both. Returns the child's pid in the parent, 0 in
 * the child, -1 with errno (ENOSYS when the module was not prepared for checkpoints, ENOTSUP
 * when it cannot be captured, EAGAIN when the manifest grants no more children). Wait for it
 * with drawbridge_wait like a spawned child. */
__attribute__((__import_module__("drawbridge"), __import_name__("fork")))
int32_t __drawbridge_fork(int32_t *pid_out);
static inline int drawbridge_fork(void) {
  int32_t pid = -1;
  int32_t e = __drawbridge_fork(&pid);
  if (e != 0) {
    errno = e;
    return -1;
  }
  return pid;
}

#ifdef __cplusplus
}
#endif

#endif /* DRAWBRIDGE_PROCESS_H */
