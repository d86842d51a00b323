// A UDP echo server in plain POSIX C: socket(), bind(), recvfrom(), sendto() (under drawbridge
// through include/drawbridge/net.h; the same source builds natively).
//   udp_echo ADDR PORT [max=N]   bind ADDR:PORT (0: any free port), print "listening on
//                                ADDR:PORT", answer each datagram with "echo:" + it, to its
//                                sender; stop after N datagrams (prints "served N")
// Errors print "STEP: ENAME" and exit 3.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#ifdef __wasi__
#include "../../include/drawbridge/net.h"
#include "check.h"
#else
#define errname(e) strerror(e)
#endif

static int fail(const char *step, int e) {
  printf("%s: %s\n", step, errname(e));
  return 3;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: udp_echo ADDR PORT [max=N]\n");
    return 2;
  }
  long max = argc > 3 && strncmp(argv[3], "max=", 4) == 0 ? atol(argv[3] + 4) : -1;
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) return fail("address", EINVAL);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return fail("socket", errno);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) return fail("bind", errno);
  struct sockaddr_in self;
  socklen_t self_len = sizeof self;
  if (getsockname(fd, (struct sockaddr *)&self, &self_len) < 0) return fail("getsockname", errno);
  char text[64];
  inet_ntop(AF_INET, &self.sin_addr, text, sizeof text);
  printf("listening on %s:%d\n", text, ntohs(self.sin_port));
  fflush(stdout);
  long served = 0;
  char in[2048], out[2048 + 5];
  while (max < 0 || served < max) {
    struct sockaddr_in from;
    socklen_t from_len = sizeof from;
    ssize_t n = recvfrom(fd, in, sizeof in, 0, (struct sockaddr *)&from, &from_len);
    if (n < 0) return fail("recvfrom", errno);
    if (from_len != sizeof from || from.sin_family != AF_INET) return fail("recvfrom address", EINVAL);
    memcpy(out, "echo:", 5);
    memcpy(out + 5, in, (size_t)n);
    if (sendto(fd, out, (size_t)n + 5, 0, (struct sockaddr *)&from, from_len) < 0) return fail("sendto", errno);
    served++;
  }
  printf("served %ld\n", served);
  close(fd);
  return 0;
}
