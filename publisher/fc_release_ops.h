/* fc_release_ops.h: release operations on what the broker already stores, with no tree on
   disk: find a stored release, rollback, copy between channels, prune. */
#ifndef FC_RELEASE_OPS_H
#define FC_RELEASE_OPS_H

#include "fc_client.h"
#include "fc_key.h"
#include "fc_manifest.h"
#include "fc_msg.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    const char *channel;     /* rollback, prune: the channel; copy: the channel copied to */
    const char *from;        /* copy: the channel copied from */
    const char *version;     /* rollback --to, copy --version; NULL: the default release */
    uint64_t keep;           /* prune: releases to keep (the broker keeps at least 2) */
    bool force;              /* copy: publish even over this version with other content */
    const fc_trust_t *trust; /* signers accepted for a release signed again (NULL: key's own) */
    int timeout_ms;
} fc_release_ops_options_t;

typedef struct {
    uint64_t serial;      /* the release published, or the one already current */
    uint64_t from_serial; /* the stored release whose content it carries */
    char version[FC_MAX_NAME + 1];
    bool already_current; /* the target already is that release's content: nothing published */
    uint64_t removed;     /* prune: releases removed */
    char message[512];    /* what went wrong, if anything */
} fc_release_ops_result_t;

/* Sends *req_p (taken) and waits up to timeout_ms for its reply: FC_OK with *reply_p (the
   caller's) of type want; a broker ERROR becomes its code, with msg saying so. */
int fc_release_call(fc_client_t *client, fc_msg_t **req_p, fc_msg_type_t want, fc_msg_t **reply_p,
                    int timeout_ms, char *msg, size_t msgsize);

/* The newest release of channel whose version is version (NULL: the latest): its manifest,
   parsed and its signature checked against trust (NULL: against its embedded signer only),
   into *m (the caller's), and *info. *latest (may be NULL) gets the channel's latest serial
   (0 if none). FC_ENOTFOUND, with *m NULL, if the channel has no such release (*latest is
   still set). */
int fc_release_find(fc_client_t *client, const char *channel, const char *version,
                    const fc_trust_t *trust, int timeout_ms, fc_manifest_t **m,
                    fc_release_info_t *info, uint64_t *latest, char *msg, size_t msgsize);

/* Whether a and b are one content (files, modes, hashes, product, mandatory flag, minimum
   version; serial, channel, creation time and signer are not content); if not, why names the
   first difference ("bin/run has other content"). */
bool fc_release_same_content(const fc_manifest_t *a, const fc_manifest_t *b, char *why,
                             size_t size);

/* Publishes, as channel's next serial signed with key, the content of an older release of
   it: version opt->version's newest release, or by default the newest one whose version is
   not the current one's. Nothing is uploaded: the broker holds its blobs. */
int fc_release_rollback(fc_client_t *client, const fc_release_ops_options_t *opt,
                        const fc_signkey_t *key, fc_release_ops_result_t *result);
/* Publishes on opt->channel, as its next serial signed with key, the content of opt->from's
   latest release (or its newest of opt->version). When the target's latest already is that
   version with that content nothing is published (result->already_current); the version
   on the target with other content is refused unless opt->force. */
int fc_release_copy(fc_client_t *client, const fc_release_ops_options_t *opt,
                    const fc_signkey_t *key, fc_release_ops_result_t *result);
/* Asks the broker to drop the releases of opt->channel beyond its newest opt->keep (the
   current one and the one before it always stay, and any an agent is fetching) and to
   collect the blobs no release needs any more. */
int fc_release_prune(fc_client_t *client, const fc_release_ops_options_t *opt,
                     fc_release_ops_result_t *result);

#endif
