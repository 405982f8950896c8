/* fc_dead_port.h: an endpoint on loopback that nothing answers, for self-tests of "no broker". */
#ifndef FC_DEAD_PORT_H
#define FC_DEAD_PORT_H

#include <stddef.h>

/* Writes "tcp://127.0.0.1:PORT" into ep, a port bound and never listened on: every
   connection to it is refused, and no other process can bind it while the returned
   descriptor is open (the caller closes it). A port that a test's socket has just let go of
   is no such thing: CZMQ hands out the lowest free port of its range, so a parallel test's
   socket may bind it at once. -1 if no socket could be bound. */
int fc_dead_endpoint(char *ep, size_t size);

#endif
