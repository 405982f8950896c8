/* fc_accepts.h: the peer address of every TCP connection the broker's process accepts,
   remembered at the moment of accept. libzmq 4.3's stable socket monitor reports an
   accepted connection by its descriptor and the *bound* endpoint only, and a connection
   refused in its handshake (a plain client on a CURVE socket) is closed by libzmq's I/O
   thread within microseconds, before a monitor can ask the descriptor who the peer was
   (the versioned monitor that carries the peer's address is a draft API Debian's libzmq
   does not build). So this file defines accept() and accept4(), which libzmq's listeners
   call through the dynamic linker and which pass every call on to the C library's own
   (dlsym RTLD_NEXT), noting each accepted connection in a small ring. Process-wide state
   by necessity (interposition has no object to hang it on), behind a mutex. Not public. */
#ifndef FC_ACCEPTS_H
#define FC_ACCEPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Accepts remembered; older ones are forgotten (a consumer that fell that far behind gets
   no address). */
#define FC_ACCEPTS_RING 512
/* "IPv4" or "IPv6" text of an address, without the port. */
#define FC_ACCEPTS_ADDRESS 64

/* The connection accepted on local port (the bound port of the socket a monitor watches)
   as descriptor fd: the oldest such accept after *cursor (0 at first), since libzmq reports
   the ACCEPTED events of one listener in the order accept returned them. true: address gets
   its peer address and *cursor moves to it (accepts before it that no event named are passed
   over). false, cursor unchanged: none remembered (too old, or not a TCP connection). */
bool fc_accepts_take(uint16_t port, int fd, uint64_t *cursor, char *address, size_t size);

void fc_accepts_test(bool verbose);

#endif
