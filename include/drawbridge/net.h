/*
 * drawbridge/net.h: sockets for WebAssembly guests of drawbridge, beyond WASI preview 1.
 *
 * Preview 1 (wasi-libc) has accept(), recv(), send(), shutdown() on sockets the runtime
 * pre-opens (`drawbridge run --listen ADDR:PORT`: descriptors 3 onwards, after the pre-opened
 * directories). It cannot make a socket. drawbridge offers that in its own import module,
 * "drawbridge", and this header turns it into the POSIX calls ordinary C code uses:
 *   socket(), bind(), listen(), connect(), recvfrom(), sendto(), getsockname(), getpeername(),
 *   getaddrinfo(), freeaddrinfo(), gai_strerror()   (wasi-libc has no <netdb.h>)
 * Header only: include it and build as usual
 *   clang --target=wasm32-wasi -O2 -I/path/to/drawbridge/include prog.c -o prog.wasm
 * The calls set errno and return -1 on failure, as POSIX says. Sockets are ordinary fds:
 * read(), write(), close(), poll(), fcntl(F_SETFL, O_NONBLOCK) work on them.
 *
 * Grants (docs/network.md): nothing by default. connect() needs a connect grant for the
 * address (EPERM without one: a CIDR, or a name grant whose lookup through getaddrinfo()
 * answered that address); listen() a listen grant for the address bound (bind() only records
 * it). IPv4 and IPv6; SOCK_STREAM (TCP) and SOCK_DGRAM (UDP).
 *
 * UDP: connect() then send()/recv() (a connected socket), or bind() then recvfrom()/sendto()
 * (a server: each datagram with its own peer). A UDP bind() binds at once and needs a listen
 * grant (receiving on a port); each sendto() needs a connect grant for its destination. A
 * sendto() on an unbound socket binds it to the any-address, port 0, first (a listen grant
 * for 0.0.0.0:0). Not offered: socket options, MSG_* flags, connect() on a bound UDP socket.
 */
#ifndef DRAWBRIDGE_NET_H
#define DRAWBRIDGE_NET_H

#include <stdint.h>
#include <stddef.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DRAWBRIDGE_NET_IMPORT(name) __attribute__((import_module("drawbridge"), import_name(#name)))

/* The imports: each returns 0 or a WASI errno (wasi-libc's errno values are WASI's). */
DRAWBRIDGE_NET_IMPORT(socket) int __drawbridge_socket(int domain, int type, int *fd);
DRAWBRIDGE_NET_IMPORT(bind) int __drawbridge_bind(int fd, const struct sockaddr *addr, socklen_t len);
DRAWBRIDGE_NET_IMPORT(listen) int __drawbridge_listen(int fd, int backlog);
DRAWBRIDGE_NET_IMPORT(connect) int __drawbridge_connect(int fd, const struct sockaddr *addr, socklen_t len);
DRAWBRIDGE_NET_IMPORT(getsockname) int __drawbridge_getsockname(int fd, struct sockaddr *addr, socklen_t *len);
DRAWBRIDGE_NET_IMPORT(getpeername) int __drawbridge_getpeername(int fd, struct sockaddr *addr, socklen_t *len);
DRAWBRIDGE_NET_IMPORT(recvfrom) int __drawbridge_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr, socklen_t *addrlen, size_t *n);
DRAWBRIDGE_NET_IMPORT(sendto) int __drawbridge_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *addr, socklen_t addrlen, size_t *n);
/* Up to max records of 20 bytes: u16 family (AF_INET/AF_INET6), u16 0, 16 address bytes. */
DRAWBRIDGE_NET_IMPORT(getaddrinfo) int __drawbridge_getaddrinfo(const char *name, size_t name_len, void *out, size_t max, size_t *count);

static inline int __drawbridge_net_ret(int e) {
  if (e == 0) return 0;
  errno = e;
  return -1;
}

static inline int socket(int domain, int type, int protocol) {
  (void)protocol;
  int fd = -1;
  int e = __drawbridge_socket(domain, type, &fd);
  return e ? (errno = e, -1) : fd;
}
static inline int bind(int fd, const struct sockaddr *addr, socklen_t len) {
  return __drawbridge_net_ret(__drawbridge_bind(fd, addr, len));
}
static inline int listen(int fd, int backlog) {
  return __drawbridge_net_ret(__drawbridge_listen(fd, backlog));
}
static inline int connect(int fd, const struct sockaddr *addr, socklen_t len) {
  return __drawbridge_net_ret(__drawbridge_connect(fd, addr, len));
}
/* One datagram (a UDP socket) or what is there (TCP), and the address it came from. */
static inline ssize_t recvfrom(int fd, void *__restrict buf, size_t len, int flags, struct sockaddr *__restrict addr, socklen_t *__restrict addrlen) {
  size_t n = 0;
  int e = __drawbridge_recvfrom(fd, buf, len, flags, addr, addrlen, &n);
  return e ? (errno = e, -1) : (ssize_t)n;
}
/* One datagram to addr (a bound or unbound UDP socket); on a connected socket, addr is not used. */
static inline ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *addr, socklen_t addrlen) {
  size_t n = 0;
  int e = __drawbridge_sendto(fd, buf, len, flags, addr, addrlen, &n);
  return e ? (errno = e, -1) : (ssize_t)n;
}
static inline int getsockname(int fd, struct sockaddr *addr, socklen_t *len) {
  return __drawbridge_net_ret(__drawbridge_getsockname(fd, addr, len));
}
static inline int getpeername(int fd, struct sockaddr *addr, socklen_t *len) {
  return __drawbridge_net_ret(__drawbridge_getpeername(fd, addr, len));
}

/* ---- getaddrinfo: resolves through the host resolver (dns:); numeric services only. ---- */
#ifndef DRAWBRIDGE_NO_NETDB
struct addrinfo {
  int ai_flags;
  int ai_family;
  int ai_socktype;
  int ai_protocol;
  socklen_t ai_addrlen;
  struct sockaddr *ai_addr;
  char *ai_canonname;
  struct addrinfo *ai_next;
};
#define AI_PASSIVE     0x01
#define AI_CANONNAME   0x02
#define AI_NUMERICHOST 0x04
#define AI_NUMERICSERV 0x400
#define EAI_BADFLAGS -1
#define EAI_NONAME   -2
#define EAI_AGAIN    -3
#define EAI_FAIL     -4
#define EAI_FAMILY   -6
#define EAI_SOCKTYPE -7
#define EAI_SERVICE  -8
#define EAI_MEMORY   -10
#define EAI_SYSTEM   -11

#define DRAWBRIDGE_ADDRINFO_MAX 16

static inline const char *gai_strerror(int code) {
  switch (code) {
  case EAI_NONAME: return "Name does not resolve";
  case EAI_AGAIN: return "Temporary failure in name resolution";
  case EAI_FAIL: return "Name resolution refused or failed";
  case EAI_FAMILY: return "Address family not supported";
  case EAI_SOCKTYPE: return "Socket type not supported";
  case EAI_SERVICE: return "Service not supported (numeric ports only)";
  case EAI_MEMORY: return "Out of memory";
  case EAI_BADFLAGS: return "Bad flags";
  default: return "System error";
  }
}

static inline void freeaddrinfo(struct addrinfo *ai) {
  while (ai) {
    struct addrinfo *next = ai->ai_next;
    free(ai);
    ai = next;
  }
}

/* One addrinfo with its sockaddr in the same allocation (freeaddrinfo frees both). */
static inline struct addrinfo *__drawbridge_ai(int family, const unsigned char *bytes, int port, int socktype) {
  size_t len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
  struct addrinfo *ai = (struct addrinfo *)calloc(1, sizeof(struct addrinfo) + len + 16);
  if (!ai) return NULL;
  char *p = (char *)(ai + 1);
  p += (16 - ((uintptr_t)p & 15)) & 15;
  ai->ai_family = family;
  ai->ai_socktype = socktype;
  ai->ai_protocol = socktype == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
  ai->ai_addrlen = (socklen_t)len;
  ai->ai_addr = (struct sockaddr *)p;
  if (family == AF_INET) {
    struct sockaddr_in *sa = (struct sockaddr_in *)p;
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    memcpy(&sa->sin_addr, bytes, 4);
  } else {
    struct sockaddr_in6 *sa = (struct sockaddr_in6 *)p;
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons((uint16_t)port);
    memcpy(&sa->sin6_addr, bytes, 16);
  }
  return ai;
}

static inline int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res) {
  int family = hints ? hints->ai_family : AF_UNSPEC;
  int socktype = hints && hints->ai_socktype ? hints->ai_socktype : SOCK_STREAM;
  int flags = hints ? hints->ai_flags : 0;
  int port = 0;
  unsigned char records[DRAWBRIDGE_ADDRINFO_MAX][20];
  size_t count = 0;
  memset(records, 0, sizeof records);
  *res = NULL;
  if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6) return EAI_FAMILY;
  if (socktype != SOCK_STREAM && socktype != SOCK_DGRAM) return EAI_SOCKTYPE;
  if (!node && !service) return EAI_NONAME;
  if (service) {
    char *end;
    long v = strtol(service, &end, 10);
    if (*service == 0 || *end != 0 || v < 0 || v > 65535) return EAI_SERVICE;
    port = (int)v;
  }
  if (!node) {
    /* No node: the any-address to listen on (AI_PASSIVE), else loopback. */
    if (family != AF_INET6) {
      records[count][0] = AF_INET;
      if (!(flags & AI_PASSIVE)) { records[count][4] = 127; records[count][7] = 1; }
      count++;
    }
    if (family != AF_INET) {
      records[count][0] = AF_INET6;
      if (!(flags & AI_PASSIVE)) records[count][19] = 1;
      count++;
    }
  } else if (inet_pton(AF_INET, node, records[0] + 4) == 1) {
    /* An address literal needs no lookup (and no grant to look it up). */
    records[0][0] = AF_INET;
    count = 1;
  } else if (inet_pton(AF_INET6, node, records[0] + 4) == 1) {
    records[0][0] = AF_INET6;
    count = 1;
  } else if (flags & AI_NUMERICHOST) {
    return EAI_NONAME;
  } else {
    int e = __drawbridge_getaddrinfo(node, strlen(node), records, DRAWBRIDGE_ADDRINFO_MAX, &count);
    if (e == ENOENT || e == EINVAL || e == ENAMETOOLONG || e == EILSEQ) return EAI_NONAME;
    if (e == ETIMEDOUT || e == EAGAIN) return EAI_AGAIN;
    if (e == EPERM || e == EACCES) return EAI_FAIL;
    if (e) { errno = e; return EAI_SYSTEM; }
  }
  struct addrinfo **tail = res;
  for (size_t i = 0; i < count; i++) {
    int f = records[i][0] == AF_INET ? AF_INET : AF_INET6;
    if (family != AF_UNSPEC && f != family) continue;
    struct addrinfo *ai = __drawbridge_ai(f, records[i] + 4, port, socktype);
    if (!ai) { freeaddrinfo(*res); *res = NULL; return EAI_MEMORY; }
    *tail = ai;
    tail = &ai->ai_next;
  }
  return *res ? 0 : EAI_NONAME;
}
#endif /* DRAWBRIDGE_NO_NETDB */

#ifdef __cplusplus
}
#endif

#endif /* DRAWBRIDGE_NET_H */
