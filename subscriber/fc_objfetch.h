/* fc_objfetch.h: fetching the objects a format-3 manifest's top level names (GET_OBJECT), so
   the manifest can be read whole: rounds of requests until nothing is missing, a damaged
   copy dropped and fetched again, a broker that keeps serving one given up on. A chunk list
   whose path the installed release has is asked for as a delta against that path's list
   (GET_OBJECT_DELTA), its result checked against its name like any copy. */
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
    /* The installed release's manifest (borrowed for the call; NULL: none), whose chunk
       lists are the bases a missing list of the same path is asked for as a delta against
       (GET_OBJECT_DELTA). NULL: never a delta. */
    const fc_manifest_t *(*installed)(void *ctx);
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
/* Whether the broker answers GET_OBJECT_DELTA: 1 yes, -1 no (an older broker refused the
   type as malformed: only GET_OBJECT from then on, for the life of the fetcher), 0 not known
   yet (one delta request at a time asks). */
int fc_objfetch_deltas(const fc_objfetch_t *self);
/* Whether a fetch is under way. */
bool fc_objfetch_busy(const fc_objfetch_t *self);

void fc_objfetch_test(bool verbose);

#endif
