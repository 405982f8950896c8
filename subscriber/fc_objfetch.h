/* fc_objfetch.h: fetching the objects a format-3 manifest's top level names (GET_OBJECT), so
   the manifest can be read whole: rounds of requests until nothing is missing, a damaged
   copy dropped and fetched again, a broker that keeps serving one given up on. */
#ifndef FC_OBJFETCH_H
#define FC_OBJFETCH_H

#include "fc_msg.h"
#include "fc_objects.h"
#include "fc_requester.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Times the broker may send a damaged copy of one object before the release is refused (as
   for chunks: FC_FOLLOWER_MAX_HASH_ERRORS). */
#define FC_OBJFETCH_MAX_BAD 3
/* GET_OBJECT requests in flight at once. */
#define FC_OBJFETCH_WINDOW 64

typedef struct fc_objfetch_t fc_objfetch_t;

typedef struct {
    void *ctx;
    /* The top level given to fc_objfetch_want (borrowed for the call) is whole now. */
    void (*ready)(void *ctx, const uint8_t *bytes, size_t len, double now);
    /* It cannot be: text says why (a damaged object the broker keeps serving, a refusal). */
    void (*failed)(void *ctx, int error, const char *text, double now);
} fc_objfetch_host_t;

/* req and objects are borrowed and outlive the fetcher. NULL without memory. */
fc_objfetch_t *fc_objfetch_new(fc_requester_t *req, fc_objects_t *objects,
                               const fc_objfetch_host_t *host);
void fc_objfetch_destroy(fc_objfetch_t **self_p);

/* A signed manifest (bytes borrowed) is to be read: true if nothing needs fetching (any format
   but 3, or all of its objects held). Otherwise its fetch starts (replacing one under way for
   other bytes) and host.ready or host.failed is called once it ends; false. */
bool fc_objfetch_want(fc_objfetch_t *self, const uint8_t *bytes, size_t len, double now);
/* A reply (msg borrowed) to the request sent with kind: true if it was the fetcher's. */
bool fc_objfetch_on_reply(fc_objfetch_t *self, const void *kind, const fc_msg_t *msg, double now);
/* Whether a fetch is under way. */
bool fc_objfetch_busy(const fc_objfetch_t *self);

#endif
