// A TCP client and refusal probe using the POSIX calls of include/drawbridge/net.h.
//   client talk HOST PORT MESSAGE   getaddrinfo, connect, send MESSAGE, shutdown(SHUT_WR),
//                                   print the reply ("reply: ...") and the peer's address
//   client listen ADDR PORT         socket, bind, listen: prints "listen: OK port=N" or the errno
// Errors print "STEP: ENAME" (the errno's name) and exit 3.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../include/drawbridge.h"
#include "check.h"

static int fail(const char *step, int e) {
  printf("%s: %s\n", step, errname(e));
  return 3;
}

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "talk") == 0) {
    struct addrinfo hints, *res;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(argv[2], argv[3], &hints, &res);
    if (g != 0) {
      printf("getaddrinfo: %s\n", gai_strerror(g));
      return 3;
    }
    int fd = socket(res->ai_family, res->ai_socktype, 0);
    if (fd < 0) return fail("socket", errno);
    if (connect(fd, res->ai_addr, res->ai_addrlen) < 0) return fail("connect", errno);
    freeaddrinfo(res);
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    if (getpeername(fd, (struct sockaddr *)&peer, &plen) < 0) return fail("getpeername", errno);
    char text[32];
    inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text);
    printf("peer: %s:%d\n", text, ntohs(peer.sin_port));
    size_t len = strlen(argv[4]);
    if (send(fd, argv[4], len, 0) != (ssize_t)len) return fail("send", errno);
    if (shutdown(fd, SHUT_WR) < 0) return fail("shutdown", errno);
    char buf[4096];
    size_t got = 0;
    for (;;) {
      ssize_t n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
      if (n < 0) return fail("recv", errno);
      if (n == 0) break;
      got += (size_t)n;
    }
    buf[got] = 0;
    printf("reply: %s\n", buf);
    close(fd);
    return 0;
  }
  if (argc == 4 && strcmp(argv[1], "listen") == 0) {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)atoi(argv[3]));
    inet_pton(AF_INET, argv[2], &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return fail("socket", errno);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) return fail("bind", errno);
    if (listen(fd, 16) < 0) return fail("listen", errno);
    socklen_t len = sizeof sa;
    if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0) return fail("getsockname", errno);
    printf("listen: OK port=%d\n", ntohs(sa.sin_port));
    return 0;
  }
  fprintf(stderr, "usage: client talk HOST PORT MESSAGE | client listen ADDR PORT\n");
  return 2;
}
