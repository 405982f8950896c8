/* fc_endpoint.h: the endpoint a peer reaches a bound socket at (the announce endpoint named
   in WELCOME). */
#ifndef FC_ENDPOINT_H
#define FC_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>

/* Replaces the wildcard host ("*" or "0.0.0.0") of a tcp bind endpoint, such as
   tcp:// *:7401 (without the space), with the host of the connect endpoint used to reach
   the broker; any other endpoint is copied as is. Writes into out; 0 or -1. */
int fc_endpoint_for_peer(char *out, size_t outsize, const char *bound, const char *via);

void fc_endpoint_test(bool verbose);

#endif
