// fd_write on a connected UDP socket (test/libos/fd-io-views.test.ts): a datagram goes whole or
// not at all, however its iovecs are split.
//   udp_writev PORT   connect to 127.0.0.1:PORT, send "small" as two iovecs, then a datagram
//                     of two 40 000-byte iovecs (too big for UDP: EMSGSIZE, nothing sent), then
//                     "after"; prints what each write answered
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include "../../include/drawbridge/net.h"
#include "check.h"

static void send_iovecs(int fd, const char *label, struct iovec *iov, int n) {
  ssize_t r = writev(fd, iov, n);
  if (r < 0) printf("%s: %s\n", label, errname(errno));
  else printf("%s: %zd\n", label, r);
}

int main(int argc, char **argv) {
  CHECK(argc == 2);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)atoi(argv[1]));
  CHECK(inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr) == 1);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  CHECK(fd >= 0);
  CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
  struct iovec small[2] = {{"sm", 2}, {"all", 3}};
  send_iovecs(fd, "small", small, 2);
  static char big[40000];
  memset(big, 'x', sizeof big);
  struct iovec huge[2] = {{big, sizeof big}, {big, sizeof big}};
  send_iovecs(fd, "huge", huge, 2);
  struct iovec after[1] = {{"after", 5}};
  send_iovecs(fd, "after", after, 1);
  close(fd);
  return 0;
}
