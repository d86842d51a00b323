// cat for the extension tests: prints each file named on the command line, or a line saying
// why it could not (trace and remap tests look at which paths reach the host).
#include <errno.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  int status = 0;
  for (int i = 1; i < argc; i++) {
    FILE *f = fopen(argv[i], "r");
    if (!f) {
      printf("cat: %s: %s\n", argv[i], strerror(errno));
      status = 1;
      continue;
    }
    char buf[256];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
    fclose(f);
  }
  return status;
}
