/* fc_sockopt.h: the options every fleetcast ZeroMQ socket gets (frame limit, queues, linger,
   reconnect, liveness). */
#ifndef FC_SOCKOPT_H
#define FC_SOCKOPT_H

#include <stdbool.h>

/* Messages received and not yet read that libzmq queues per connection (ZMQ_RCVHWM) on a
   bound socket that does not ping. The broker's ROUTER has less (fc_broker.h). */
#define FC_SOCK_RCVHWM 64
/* Sets the options every fleetcast socket gets: ZMQ_MAXMSGSIZE (FC_MAX_FRAME), no
   ZMQ_RCVHWM (a socket that pings must never stop reading: fc_sockopt.c), linger 0,
   fast reconnect (100 ms, backing off to 2 s), and ZMTP heartbeats (a ping every 5 s, 15 s
   without traffic after one: dead) so a silently dead peer is noticed within seconds. sock
   is a libzmq socket handle (zsock_resolve'd). */
void fc_sock_tune(void *sock);
/* For the broker's bound sockets (many peers on one I/O thread): fc_sock_tune without
   ZMTP pings of its own (its peers ping it), ZMQ_RCVHWM FC_SOCK_RCVHWM, and TCP keepalive
   to drop vanished peers. */
void fc_sock_tune_bound(void *sock);

void fc_sockopt_test(bool verbose);

#endif
