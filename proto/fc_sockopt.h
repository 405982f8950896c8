/* fc_sockopt.h: the options every fleetcast ZeroMQ socket gets (frame limit, queues, linger,
   reconnect, liveness). */
#ifndef FC_SOCKOPT_H
#define FC_SOCKOPT_H

#include <stdbool.h>

/* Requests a client keeps in flight where it must stay under what a bound socket once
   queued per connection (FC_UPLOAD_MAX_REQUESTS); bound sockets no longer have a receive
   HWM (fc_sockopt.c). */
#define FC_SOCK_RCVHWM 64
/* Sets the options every fleetcast socket gets: ZMQ_MAXMSGSIZE (FC_MAX_FRAME), no
   ZMQ_RCVHWM (a socket that pings must never stop reading: fc_sockopt.c), linger 0,
   fast reconnect (100 ms, backing off to 2 s), and ZMTP heartbeats (a ping every 5 s, 15 s
   without traffic after one: dead) so a silently dead peer is noticed within seconds. sock
   is a libzmq socket handle (zsock_resolve'd). */
void fc_sock_tune(void *sock);
/* For the broker's bound sockets (many peers on one I/O thread): fc_sock_tune without
   ZMTP pings of its own (its peers ping it), no ZMQ_RCVHWM either (a socket whose peers
   ping must never stop reading: fc_sockopt.c), and TCP keepalive to drop vanished peers. */
void fc_sock_tune_bound(void *sock);

void fc_sockopt_test(bool verbose);

#endif
