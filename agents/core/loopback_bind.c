/* LD_PRELOAD shim: a bind() to the wildcard address binds to loopback instead.
 *
 * Reverb and Launchpad's courier servers listen on "[::]:port" (every interface), with no option
 * to choose. A local run has no reason to accept connections from other hosts, so the core
 * preloads this shim into every node of a local launch: [::] becomes ::ffff:127.0.0.1 (clients
 * of "localhost" connect over IPv4) and 0.0.0.0 becomes 127.0.0.1.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
  static bind_fn real_bind = NULL;
  if (!real_bind) real_bind = (bind_fn)dlsym(RTLD_NEXT, "bind");
  if (addr && addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
    struct sockaddr_in6 copy;
    memcpy(&copy, addr, sizeof(copy));
    if (memcmp(&copy.sin6_addr, &in6addr_any, sizeof(struct in6_addr)) == 0) {
      memset(&copy.sin6_addr, 0, sizeof(copy.sin6_addr));
      copy.sin6_addr.s6_addr[10] = 0xff;
      copy.sin6_addr.s6_addr[11] = 0xff;
      copy.sin6_addr.s6_addr[12] = 127;
      copy.sin6_addr.s6_addr[15] = 1;
      return real_bind(fd, (const struct sockaddr *)&copy, sizeof(copy));
    }
  } else if (addr && addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
    struct sockaddr_in copy;
    memcpy(&copy, addr, sizeof(copy));
    if (copy.sin_addr.s_addr == htonl(INADDR_ANY)) {
      copy.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      return real_bind(fd, (const struct sockaddr *)&copy, sizeof(copy));
    }
  }
  return real_bind(fd, addr, len);
}
