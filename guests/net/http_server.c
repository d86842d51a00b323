// A small HTTP/1.1 server in plain POSIX C: one thread, poll(), non-blocking sockets,
// keep-alive and pipelining. The same source builds for WASI (run under drawbridge) and
// natively with gcc (the benchmark's baseline).
//
//   http_server                    serve on fd 3 (drawbridge run --listen ADDR:PORT pre-opens it)
//   http_server ADDR PORT          make the socket itself: socket(), bind(), listen()
//                                  (under drawbridge through include/drawbridge/net.h)
// Options after those: "max=N" stops after N responses (tests), "quiet" prints nothing.
// Once listening it prints "listening on ADDR:PORT" (the bound port: getsockname) to stdout.
//
// Routes: GET / -> "hello from drawbridge\n"; POST /echo -> the request body; anything else 404.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#ifdef __wasi__
#include "../../include/drawbridge/net.h"
#endif

#define MAX_CLIENTS 1024
#define IN_CAP 16384
#define OUT_CAP 65536

struct client {
  int fd;
  size_t in_len;
  size_t out_len, out_off;
  int closing;
  char in[IN_CAP];
  char out[OUT_CAP];
};

static struct client *clients[MAX_CLIENTS];
static struct pollfd pfds[MAX_CLIENTS + 1];
static long served, max_served = -1;

static const char HELLO[] = "hello from drawbridge\n";

static void set_nonblocking(int fd) {
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int has_token(const char *head, size_t len, const char *name, const char *value) {
  // Case-insensitive search for a header line "name: ...value..." within the head.
  size_t nl = strlen(name);
  for (size_t i = 0; i + nl < len; i++) {
    if ((i == 0 || head[i - 1] == '\n') && strncasecmp(head + i, name, nl) == 0 && head[i + nl] == ':') {
      size_t j = i + nl + 1;
      size_t end = j;
      while (end < len && head[end] != '\r') end++;
      size_t vl = strlen(value);
      for (size_t k = j; k + vl <= end; k++)
        if (strncasecmp(head + k, value, vl) == 0) return 1;
      return 0;
    }
  }
  return 0;
}

static long content_length(const char *head, size_t len) {
  const char *name = "content-length:";
  size_t nl = strlen(name);
  for (size_t i = 0; i + nl < len; i++) {
    if ((i == 0 || head[i - 1] == '\n') && strncasecmp(head + i, name, nl) == 0) return strtol(head + i + nl, NULL, 10);
  }
  return 0;
}

static int respond(struct client *c, int status, const char *reason, const char *body, size_t body_len, int keep) {
  char head[256];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n",
                   status, reason, body_len, keep ? "" : "Connection: close\r\n");
  if (c->out_len + (size_t)n + body_len > OUT_CAP) return -1;
  memcpy(c->out + c->out_len, head, (size_t)n);
  c->out_len += (size_t)n;
  memcpy(c->out + c->out_len, body, body_len);
  c->out_len += body_len;
  served++;
  return 0;
}

/* Handle every complete request in the input buffer; -1: close the connection. */
static int handle_requests(struct client *c) {
  for (;;) {
    char *end = NULL;
    for (size_t i = 3; i < c->in_len; i++)
      if (c->in[i] == '\n' && c->in[i - 1] == '\r' && c->in[i - 2] == '\n' && c->in[i - 3] == '\r') {
        end = c->in + i + 1;
        break;
      }
    if (!end) return c->in_len >= IN_CAP ? -1 : 0;
    size_t head_len = (size_t)(end - c->in);
    long body_len = content_length(c->in, head_len);
    if (body_len < 0 || head_len + (size_t)body_len > IN_CAP) return -1;
    if (c->in_len < head_len + (size_t)body_len) return 0; // body not complete yet
    const char *eol = memchr(c->in, '\r', head_len);
    int http10 = eol && eol - c->in >= 8 && strncmp(eol - 8, "HTTP/1.0", 8) == 0;
    int keep = http10 ? has_token(c->in, head_len, "connection", "keep-alive") : !has_token(c->in, head_len, "connection", "close");
    int r;
    if (strncmp(c->in, "GET / ", 6) == 0) r = respond(c, 200, "OK", HELLO, sizeof HELLO - 1, keep);
    else if (strncmp(c->in, "POST /echo ", 11) == 0) r = respond(c, 200, "OK", end, (size_t)body_len, keep);
    else r = respond(c, 404, "Not Found", "not found\n", 10, keep);
    if (r < 0) return -1;
    size_t used = head_len + (size_t)body_len;
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
    if (!keep) {
      c->closing = 1;
      return 0;
    }
  }
}

static void drop(int i) {
  close(clients[i]->fd);
  free(clients[i]);
  clients[i] = NULL;
}

int main(int argc, char **argv) {
  int lfd = 3;
  int quiet = 0;
  int argi = 1;
  if (argc >= 3 && strchr(argv[1], '=') == NULL && strcmp(argv[1], "quiet") != 0) {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
      fprintf(stderr, "bad address %s\n", argv[1]);
      return 2;
    }
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0) { perror("socket"); return 1; }
#ifndef __wasi__
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
#endif
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("bind"); return 1; }
    if (listen(lfd, 511) < 0) { perror("listen"); return 1; }
    argi = 3;
  }
  for (; argi < argc; argi++) {
    if (strncmp(argv[argi], "max=", 4) == 0) max_served = atol(argv[argi] + 4);
    else if (strcmp(argv[argi], "quiet") == 0) quiet = 1;
  }
  struct sockaddr_in self;
  socklen_t self_len = sizeof self;
  if (!quiet) {
#if !defined(__wasi__) || defined(DRAWBRIDGE_NET_H)
    if (getsockname(lfd, (struct sockaddr *)&self, &self_len) == 0) {
      char text[64];
      inet_ntop(AF_INET, &self.sin_addr, text, sizeof text);
      printf("listening on %s:%d\n", text, ntohs(self.sin_port));
    } else
#endif
      printf("listening on fd %d\n", lfd);
    fflush(stdout);
  }
  set_nonblocking(lfd);
  while (max_served < 0 || served < max_served) {
    int n = 0;
    int map[MAX_CLIENTS + 1];
    pfds[n].fd = lfd;
    pfds[n].events = POLLIN;
    map[n++] = -1;
    for (int i = 0; i < MAX_CLIENTS; i++) {
      if (!clients[i]) continue;
      pfds[n].fd = clients[i]->fd;
      pfds[n].events = clients[i]->out_len > clients[i]->out_off ? POLLOUT : POLLIN;
      map[n++] = i;
    }
    if (poll(pfds, (nfds_t)n, -1) < 0) {
      if (errno == EINTR) continue;
      perror("poll");
      return 1;
    }
    for (int k = 1; k < n; k++) {
      int i = map[k];
      struct client *c = clients[i];
      if (!pfds[k].revents) continue;
      if (c->out_len > c->out_off) {
        ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (w < 0 && errno != EAGAIN) { drop(i); continue; }
        if (w > 0) c->out_off += (size_t)w;
        if (c->out_off == c->out_len) {
          c->out_off = c->out_len = 0;
          if (c->closing) { drop(i); continue; }
        }
        continue;
      }
      ssize_t r = read(c->fd, c->in + c->in_len, IN_CAP - c->in_len);
      if (r < 0 && errno == EAGAIN) continue;
      if (r <= 0) { drop(i); continue; }
      c->in_len += (size_t)r;
      if (handle_requests(c) < 0) { drop(i); continue; }
      if (c->out_len > 0) {
        // Try at once: the socket usually takes a small response whole.
        ssize_t w = write(c->fd, c->out, c->out_len);
        if (w > 0) c->out_off = (size_t)w;
        if (c->out_off == c->out_len) {
          c->out_off = c->out_len = 0;
          if (c->closing) drop(i);
        }
      }
    }
    if (pfds[0].revents) {
      for (;;) {
        int cfd = accept(lfd, NULL, NULL);
        if (cfd < 0) break;
        int slot = -1;
        for (int i = 0; i < MAX_CLIENTS; i++) if (!clients[i]) { slot = i; break; }
        if (slot < 0) { close(cfd); continue; }
        set_nonblocking(cfd);
        clients[slot] = calloc(1, sizeof(struct client));
        if (!clients[slot]) { close(cfd); continue; }
        clients[slot]->fd = cfd;
      }
    }
  }
  for (int i = 0; i < MAX_CLIENTS; i++) if (clients[i]) drop(i);
  if (!quiet) printf("served %ld\n", served);
  return 0;
}
