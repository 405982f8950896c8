/* fc_test_pump.h: a requester driven as a caller's loop drives it, for self-tests. */
#ifndef FC_TEST_PUMP_H
#define FC_TEST_PUMP_H

#include "fc_requester.h"

/* Drives r (poll, monitor, tick) for up to wait_ms, until a reply or another's message
   arrives. Returns it (caller owns; *got says which, *user_p the request's user pointer),
   NULL if none. user_p and got may be NULL. */
fc_msg_t *fc_test_pump(fc_requester_t *r, int wait_ms, void **user_p, fc_requester_got_t *got);

#endif
