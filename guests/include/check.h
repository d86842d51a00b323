// Tiny assertion helpers for the WASI conformance guests.
//
// Each guest prints one line per checked fact to stdout (the spec compares stdout
// exactly) and, on the first failed assertion, prints "FAIL <file>:<line>: <what>"
// to stdout and stderr and exits with status 1. Errno values are printed by name
// (EBADF, ENOTCAPABLE, ...) so a failing spec diff reads like the man page.
//
// Raw imports with an explicit (pointer, length) for the path functions live here
// too: wasi-libc's __wasi_path_* wrappers take a C string and call strlen, so they
// cannot pass a path that contains a NUL byte, or a bad pointer.
#ifndef DRAWBRIDGE_CHECK_H
#define DRAWBRIDGE_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

static const char *const ERRNO_NAMES[] = {
  "OK", "E2BIG", "EACCES", "EADDRINUSE", "EADDRNOTAVAIL", "EAFNOSUPPORT", "EAGAIN", "EALREADY",
  "EBADF", "EBADMSG", "EBUSY", "ECANCELED", "ECHILD", "ECONNABORTED", "ECONNREFUSED", "ECONNRESET",
  "EDEADLK", "EDESTADDRREQ", "EDOM", "EDQUOT", "EEXIST", "EFAULT", "EFBIG", "EHOSTUNREACH",
  "EIDRM", "EILSEQ", "EINPROGRESS", "EINTR", "EINVAL", "EIO", "EISCONN", "EISDIR",
  "ELOOP", "EMFILE", "EMLINK", "EMSGSIZE", "EMULTIHOP", "ENAMETOOLONG", "ENETDOWN", "ENETRESET",
  "ENETUNREACH", "ENFILE", "ENOBUFS", "ENODEV", "ENOENT", "ENOEXEC", "ENOLCK", "ENOLINK",
  "ENOMEM", "ENOMSG", "ENOPROTOOPT", "ENOSPC", "ENOSYS", "ENOTCONN", "ENOTDIR", "ENOTEMPTY",
  "ENOTRECOVERABLE", "ENOTSOCK", "ENOTSUP", "ENOTTY", "ENXIO", "EOVERFLOW", "EOWNERDEAD", "EPERM",
  "EPIPE", "EPROTO", "EPROTONOSUPPORT", "EPROTOTYPE", "ERANGE", "EROFS", "ESPIPE", "ESRCH",
  "ESTALE", "ETIMEDOUT", "ETXTBSY", "EXDEV", "ENOTCAPABLE",
};

static inline const char *errname(int e) {
  static char other[24];
  if (e >= 0 && e < (int)(sizeof ERRNO_NAMES / sizeof ERRNO_NAMES[0])) return ERRNO_NAMES[e];
  snprintf(other, sizeof other, "errno(%d)", e);
  return other;
}

// Line-buffered stdout: a run that ends in a trap still shows every line before it.
__attribute__((constructor)) static void check_line_buffered_stdout(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
}

__attribute__((noreturn)) static inline void check_fail(const char *file, int line, const char *what) {
  printf("FAIL %s:%d: %s\n", file, line, what);
  fflush(stdout);
  fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
  exit(1);
}

// A condition that must hold; prints nothing when it does.
#define CHECK(cond) \
  do { if (!(cond)) check_fail(__FILE__, __LINE__, #cond); } while (0)

// Like CHECK, with a printf-formatted explanation on failure.
#define CHECKF(cond, ...) \
  do { if (!(cond)) { char why_[256]; snprintf(why_, sizeof why_, __VA_ARGS__); \
    check_fail(__FILE__, __LINE__, why_); } } while (0)

// With CHECK_SURVEY=1 in the environment a wrong errno is reported and the run
// goes on: a way to survey a new runtime's answers all at once. Specs never set it.
static inline int check_survey(void) {
  static int mode = -1;
  if (mode < 0) { const char *v = getenv("CHECK_SURVEY"); mode = v != NULL && v[0] == '1'; }
  return mode;
}

// Runs a WASI call, prints "label: ERRNAME" and checks the errno it returned.
#define EXPECT_ERRNO(label, call, want) \
  do { int got_ = (int)(call); printf("%s: %s\n", (label), errname(got_)); \
    if (got_ != (int)(want)) { char why_[256]; \
      snprintf(why_, sizeof why_, "%s: got %s, want %s", (label), errname(got_), errname(want)); \
      if (check_survey()) printf("MISMATCH %s:%d: %s\n", __FILE__, __LINE__, why_); \
      else check_fail(__FILE__, __LINE__, why_); } } while (0)

#define EXPECT_OK(label, call) EXPECT_ERRNO(label, call, __WASI_ERRNO_SUCCESS)

// Runs a WASI call that must succeed, silently.
#define MUST(call) \
  do { int got_ = (int)(call); if (got_ != 0) { char why_[256]; \
    snprintf(why_, sizeof why_, "%s -> %s", #call, errname(got_)); \
    check_fail(__FILE__, __LINE__, why_); } } while (0)

#define WASI_IMPORT(name) __attribute__((import_module("wasi_snapshot_preview1"), import_name(name)))

// Raw path functions: the path is (pointer, length), not a C string.
WASI_IMPORT("path_open") int32_t raw_path_open(int32_t fd, int32_t dirflags, const char *path, int32_t path_len,
  int32_t oflags, int64_t rights_base, int64_t rights_inheriting, int32_t fdflags, int32_t *fd_out);
WASI_IMPORT("path_create_directory") int32_t raw_path_create_directory(int32_t fd, const char *path, int32_t path_len);
WASI_IMPORT("path_filestat_get") int32_t raw_path_filestat_get(int32_t fd, int32_t flags, const char *path,
  int32_t path_len, void *out);
WASI_IMPORT("path_unlink_file") int32_t raw_path_unlink_file(int32_t fd, const char *path, int32_t path_len);
WASI_IMPORT("path_symlink") int32_t raw_path_symlink(const char *old_path, int32_t old_len, int32_t fd,
  const char *new_path, int32_t new_len);
WASI_IMPORT("path_readlink") int32_t raw_path_readlink(int32_t fd, const char *path, int32_t path_len,
  char *buf, int32_t buf_len, int32_t *used);
WASI_IMPORT("proc_raise") int32_t raw_proc_raise(int32_t sig);

// Every right preview1 defines (bits 0..29, FD_DATASYNC to SOCK_ACCEPT), for requests.
#define ALL_RIGHTS ((__wasi_rights_t)0x3FFFFFFF)

// Rights to ask for when opening a directory: everything but writing data, which
// wasmtime refuses on a directory with EISDIR.
#define DIR_RIGHTS (ALL_RIGHTS & ~(__wasi_rights_t)__WASI_RIGHTS_FD_WRITE)

// The fd of the "/" preopen the specs give every program (wasi-libc: first after stdio).
#define ROOT_FD 3

#endif
