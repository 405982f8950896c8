/* fc_test_pump.c: a requester driven as a caller's loop drives it, for self-tests
   (fc_test_pump.h). */
#include "fc_test_pump.h"

/* Drives the requester as a caller's loop would (poll, monitor, tick) for up to wait_ms,
   until a reply or another's message arrives. Returns it (caller owns), NULL if none. */
fc_msg_t *fc_test_pump(fc_requester_t *r, int wait_ms, void **user_p, fc_requester_got_t *got)
{
    int64_t end = zclock_mono() + wait_ms;
    while (zclock_mono() < end) {
        fc_requester_tick(r);
        fc_msg_t *msg = NULL;
        fc_requester_got_t g = fc_requester_recv(r, &msg, user_p);
        if (g != FC_REQUESTER_NONE) {
            if (got)
                *got = g;
            return msg;
        }
        int64_t wait = end - zclock_mono();
        int64_t next = fc_requester_next_ms(r);
        if (next >= 0 && next < wait)
            wait = next;
        zmq_pollitem_t items[2] = {{zsock_resolve(fc_requester_sock(r)), 0, ZMQ_POLLIN, 0},
                                   {zsock_resolve(fc_requester_monitor(r)), 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 2, wait > 0 ? (long)wait : 0) > 0 && (items[1].revents & ZMQ_POLLIN))
            fc_requester_on_monitor(r);
    }
    return NULL;
}
