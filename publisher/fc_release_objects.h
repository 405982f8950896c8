/* fc_release_objects.h: a release as the broker takes and gives it in manifest format 3: its
   pages and chunk lists sent as objects before the signed top level, and read back. */
#ifndef FC_RELEASE_OBJECTS_H
#define FC_RELEASE_OBJECTS_H

#include "fc_client.h"
#include "fc_key.h"
#include "fc_manifest.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a put sent: the release's objects, and those the broker lacked (or held damaged) and
   now stores, whole (PUT_OBJECT) or derived by the broker from the blob a chunk list cuts
   (DERIVE_OBJECT); and the chunk lists left until their blobs are uploaded. */
typedef struct {
    uint32_t objects;
    uint32_t sent;                    /* stored this push, whole or derived */
    uint32_t derived;                 /* of those, derived */
    bool old_broker;                  /* it answered DERIVE_OBJECT FC_EPROTO: lists go whole */
    uint8_t (*deferred)[FC_HASH_LEN]; /* owned: lists whose blob the broker lacked */
    uint32_t ndeferred;
} fc_release_put_t;

/* Frees what a put left deferred (safe on one without). */
void fc_release_put_free(fc_release_put_t *self);

/* Signs m (borrowed) with key as a format-3 release; if put, asks the broker which of its
   objects it lacks or holds damaged (OBJECTS_QUERY) and stores those (PUT_OBJECT, each
   checked there against its name: storing one again repairs a damaged copy), every one if
   the broker does not know OBJECTS_QUERY. A chunk list is derived by the broker from its
   blob instead (DERIVE_OBJECT; PUT_OBJECT if the broker predates it or the derived list is
   not this one); put without commit leaves every chunk list the broker lacks in
   put_res->deferred, unasked, for a later call without put and the same put_res (blobs
   uploaded in between), which stores those first. put_res (may be NULL: nothing is deferred) gets
   the counts; if commit, commits the top level (RELEASE_COMMIT): *serial gets the broker's answer
   (m->serial if it gives none). The objects do not depend on the channel, serial or times of the
   top level, so they may be put before those are settled. A failure is the broker's code, or the
   signing's, with msg saying which. */
int fc_release_commit(fc_client_t *client, const fc_manifest_t *m, const fc_signkey_t *key,
                      bool put, bool commit, int timeout_ms, uint64_t *serial,
                      fc_release_put_t *put_res, char *msg, size_t msgsize);

/* Reads a signed manifest as the broker gives it (SNAPSHOT's bytes, borrowed): formats 1 and 2
   whole; a format-3 top level with the objects it names, fetched by GET_OBJECT, every one
   checked against its name and all of it against trust (NULL: its embedded signer only).
   Returns an owned manifest, or NULL with *err set and msg saying why. */
fc_manifest_t *fc_release_read(fc_client_t *client, const uint8_t *bytes, size_t len,
                               const fc_trust_t *trust, int timeout_ms, int *err, char *msg,
                               size_t msgsize);

#endif
