// Diagnostic for open item 1 in docs/real-programs.md: what fd_fdstat_get and isatty say
// about fds 0-2. Built and run by stdio-probe.ts.
#include <stdio.h>
#include <unistd.h>
#include <wasi/api.h>
int main(void) {
  for (int fd = 0; fd < 3; fd++) {
    __wasi_fdstat_t st;
    __wasi_errno_t e = __wasi_fd_fdstat_get(fd, &st);
    fprintf(stdout, "fd %d: errno=%d filetype=%d flags=%d rights_base=0x%llx isatty=%d\n", fd, e, st.fs_filetype, st.fs_flags, (unsigned long long)st.fs_rights_base, isatty(fd));
  }
  return 0;
}
