/* fc_check.h: fleetcast-check, the invariant checker of a broker data dir and agent dirs. */
#ifndef FC_CHECK_H
#define FC_CHECK_H
#include "fc_key.h"
#include "fc_limits.h"
#include "fc_manifest.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The latest release of a channel, as the broker's database holds it. */
typedef struct {
    char channel[FC_MAX_NAME + 1];
    uint64_t serial;
    char version[FC_MAX_NAME + 1];
} fc_check_latest_t;

/* One run: the options and the problems found so far. */
typedef struct {
    const fc_trust_t *trust;   /* NULL: signatures checked against their embedded signer */
    bool expect_latest;        /* agents must be at the latest release and config revision */
    const char *channel;       /* agents with nothing installed follow this channel */
    fc_check_latest_t *latest; /* from the broker's database (with --data) */
    size_t nlatest;
    bool have_broker;
    /* The data dir is a relay's (--relay): a blob its releases name may not be fetched yet
       (a relay fetches blobs when an agent first asks), which is counted, not a problem. */
    bool relay;
    size_t not_fetched;
    uint64_t latest_rev; /* highest config revision (0: none) */
    /* problems: kind, where (a path, blob or release), detail */
    char **kinds, **wheres, **details;
    size_t nproblems, cap;
    size_t checked_releases, checked_blobs, checked_revisions, checked_agents;
} fc_check_t;

/* Records a problem (the strings are copied). */
void fc_check_problem(fc_check_t *self, const char *kind, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Checks the broker data directory: the database's integrity, every release's manifest and
   blobs, the config revisions. Fills self->latest and self->latest_rev. The database is
   store (a SQLite path or PostgreSQL connection string, fc_db_open) or, NULL,
   DIR/fleetcast.db. */
void fc_check_broker(fc_check_t *self, const char *data_dir, const char *store);

/* Checks one agent: install and state directories. */
void fc_check_agent(fc_check_t *self, const char *install_dir, const char *state_dir);

/* Verifies the file at path against a manifest file entry: size, every chunk hash (which
   together make the file hash). 0 if it matches; otherwise -1 with a reason in why. */
int fc_check_file_content(const char *path, const fc_file_t *file, char *why, size_t whysize);
#endif
