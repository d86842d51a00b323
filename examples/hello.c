// The bundled example: greets, shows what the picoprocess was granted, and uses a mount.
//   npx drawbridge run examples/hello.wasm
//   npx drawbridge run --dir examples::/data --env GREETING=hi examples/hello.wasm you
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern char **environ;

int main(int argc, char **argv) {
  const char *who = argc > 1 ? argv[1] : "world";
  const char *greeting = getenv("GREETING");
  printf("%s, %s, from a drawbridge picoprocess!\n", greeting ? greeting : "Hello", who);

  int n = 0;
  for (char **e = environ; *e; e++) n++;
  printf("arguments: %d, environment variables: %d\n", argc, n);

  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  unsigned char r[4];
  arc4random_buf(r, sizeof r);
  printf("monotonic clock and random bytes work: %s\n", ts.tv_sec >= 0 ? "yes" : "no");

  DIR *d = opendir("/data");
  if (!d) {
    printf("no /data mount granted (try --dir examples::/data)\n");
    return 0;
  }
  int files = 0;
  struct dirent *ent;
  while ((ent = readdir(d))) if (ent->d_name[0] != '.') files++;
  closedir(d);
  printf("/data holds %d entries\n", files);
  return 0;
}
