/* fc_store_config.h: the broker's durable config state: revisions, agent groups, acks, audit. */
#ifndef FC_STORE_CONFIG_H
#define FC_STORE_CONFIG_H

#include "fc_ack.h"
#include "fc_msg.h"
#include "fc_store.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Tables in the store's database (all created with IF NOT EXISTS, so a database written by
   a broker without config support opens unchanged; meta 'config_schema' records their
   version):
     config_revisions  every accepted signed revision, by rev, with its halt state
     config_acks       (rev, agent) -> group, state, text, time
     agent_groups      agent id -> the group it last told us, last heard from
     audit             time, who, action, detail, result (every config push, release commit)
   Every write is one transaction with synchronous=FULL: what was answered OK is on disk. */

/* Hex prefix of a signer key used as "who" in the audit log. */
#define FC_STORE_WHO_HEX 16

/* What the broker keeps about one revision beside its signed bytes. */
typedef struct {
    uint64_t rev;
    int kind; /* fc_rev_kind_t */
    char scope[FC_MAX_SCOPE + 1];
    char signer[FC_STORE_WHO_HEX + 1];
    int64_t created;   /* the revision's own timestamp */
    int64_t committed; /* when the broker stored it */
    uint32_t canary;   /* SET: canary percent, 0 = none */
    uint32_t halt_percent;
    uint64_t target;      /* PROMOTE: the promoted revision */
    uint64_t promoted_by; /* SET: the PROMOTE revision that widened it, 0 if none */
    bool halted;
    char reason[FC_MAX_TEXT + 1]; /* why it halted */
    uint64_t seq;                 /* the announcement that carried it */
} fc_store_rev_t;

/* Creates the config tables inside the store's open transaction (fc_store.c calls it while
   opening). FC_EPROTO if they were written by a newer broker. */
int fc_store_config_init(fc_store_t *self);

/* --- revisions (fc_store_config.c) ------------------------------------------------------ */

/* The latest revision number, 0 if none. */
uint64_t fc_store_config_latest(fc_store_t *self);

/* CONFIG_PUSH. Parses the signed revision (signature against its embedded signer), then,
   in one transaction: rev must be latest + 1 (FC_ESERIAL, text names the latest; pushing
   bytes identical to a stored revision answers FC_OK again with *seq 0, so a re-sent
   request is harmless); a SET is checked against the schema in force, the latest SCHEMA
   revision (FC_EINVAL, text names key and rule); a SCHEMA must parse (FC_EINVAL); a
   PROMOTE's target must be a canary SET revision not yet promoted (FC_EINVAL /
   FC_ENOTFOUND) and not halted (FC_EREFUSED, text = the halt reason). Stores it, bumps the
   announcement sequence (*seq) and writes the audit entry, accepted or refused.
   info (may be NULL) is filled on FC_OK. bytes borrowed; text gets a one-line reason. */
int fc_store_config_push(fc_store_t *self, const uint8_t *bytes, size_t len, fc_store_rev_t *info,
                         uint64_t *seq, char *text, size_t textsize);

/* Facts about one stored revision; FC_ENOTFOUND if none. */
int fc_store_config_rev(fc_store_t *self, uint64_t rev, fc_store_rev_t *info);
/* The latest SET revision's number in *rev; FC_ENOTFOUND if there is none. */
int fc_store_config_latest_set(fc_store_t *self, uint64_t *rev);

/* CONFIG_SYNC. Signed revisions with rev > after, in rev order, into *items (malloc'd array
   of malloc'd copies; free with fc_store_items_free). If id is non-empty only those whose
   scope matches (id, group) — PROMOTE and SCHEMA revisions match everyone. Stops before
   max_items items or max_bytes bytes in all; *more then says whether a further matching
   revision exists. */
int fc_store_config_sync(fc_store_t *self, const char *id, const char *group, uint64_t after,
                         size_t max_items, size_t max_bytes, fc_item_t **items, size_t *n,
                         bool *more);
void fc_store_items_free(fc_item_t **items, size_t n);

/* The scope the agents of a revision are matched against: a SET's own scope, a PROMOTE's
   target's, "global" for a SCHEMA. */
int fc_store_config_rev_scope(fc_store_t *self, const fc_store_rev_t *info, char *scope,
                              size_t size);

/* --- agents, acks, status (fc_store_rollout.c) ------------------------------------------ */

/* Records that agent id is in group (a non-empty group replaces the one recorded; an empty
   one only marks the agent as heard from). FC_EINVAL on a bad id or group name. */
int fc_store_agent_group_set(fc_store_t *self, const char *id, const char *group);
/* The group agent id last told the broker ("" if none or unknown). */
void fc_store_agent_group(fc_store_t *self, const char *id, char *group, size_t size);

/* Records that the broker has heard of agent id (HELLO, CONFIG_SYNC, an ack or a restart
   slot), with the announcement sequence of the time, unless it had heard of it before. */
int fc_store_agent_known_mark(fc_store_t *self, const char *id);
/* The announcement sequence when the broker first heard of id: an agent known before a
   revision has since_seq < the revision's seq. FC_ENOTFOUND for an id never heard of. */
int fc_store_agent_known_since(fc_store_t *self, const char *id, uint64_t *since_seq);
/* Whether agent id, in the group the broker recorded for it (not one a request claims), is
   in the scope of revision info. */
bool fc_store_config_in_scope(fc_store_t *self, const fc_store_rev_t *info, const char *id);

/* CONFIG_ACK. Records (rev, id, group, state, text, now), replacing the agent's earlier
   ack of rev. FC_ENOTFOUND unknown rev, FC_EINVAL bad id, group or state (a state not one
   an agent may send, fc_ack_from_agent), FC_EPERM (nothing recorded) if the revision's
   scope does not name the agent as the broker knows it (its id, the group it last told
   before this ack): acks belong to the agents a revision is for. For a canary SET revision
   not promoted nor halted, re-counts the acks of canary members known before the revision
   (fc_store_agent_known_since; an agent first heard of later is listed but does not count)
   and marks it halted when F * 100 > halt_percent * acks with F >= 1, F the acks that are
   FC_ACK_F_FAILURE (failed, vetoed): *halted_now (may be NULL) is then set and reason
   filled, and the halt is audited. */
int fc_store_config_ack(fc_store_t *self, uint64_t rev, const char *id, const char *group,
                        const char *state, const char *text, bool *halted_now, char *reason,
                        size_t reasonsize);

/* CONFIG_STATUS. Every agent the broker knows (HELLO, or a config request) whose recorded
   group matches the revision's scope, plus any that acked it, by id, at most max: id,
   channel = group, state = its ack or "pending", message = ack text (prefixed with
   FC_STORE_NOT_COUNTED for an agent first heard of after the revision), last_seen = when it
   was last heard from. *info gets the revision (halted, reason). */
#define FC_STORE_NOT_COUNTED "not counted (agent first heard of after this revision): "
int fc_store_config_status(fc_store_t *self, uint64_t rev, size_t max, fc_store_rev_t *info,
                           fc_agent_status_t **list, size_t *n);
/* One page of it: agents whose id sorts after after ("" = from the first) and whose state is
   state ("" = any), by id, at most max; *more says whether agents follow the last one. */
int fc_store_config_status_page(fc_store_t *self, uint64_t rev, const char *after,
                                const char *state, size_t max, fc_store_rev_t *info,
                                fc_agent_status_t **list, size_t *n, bool *more);
/* CONFIG_SUMMARY: the same agents as fc_store_config_status, counted per ack state
   (counts[ack], named; FC_ACK_PENDING: no answer), with those not heard since online_since
   (unix seconds) counted offline too. Counted by one SQL statement: no row per agent
   reaches C, nothing is held per agent. */
int fc_store_config_summary(fc_store_t *self, uint64_t rev, int64_t online_since,
                            fc_store_rev_t *info, fc_fleet_count_t counts[FC_ACK_COUNT]);
/* Number of known agents that scope applies to. */
int fc_store_config_matching(fc_store_t *self, const char *scope, size_t *count);
/* The halted canary revisions, at most FC_MAX_LIST (the newest), ascending, into *revs
   (malloc'd, caller frees; NULL when none). Every CONFIG_SNAPSHOT names them, so agents and
   publishers leave their values out. */
int fc_store_config_halted(fc_store_t *self, uint64_t **revs, size_t *n);
/* A relay: marks halted each of revs (n of them, the upstream's CONFIG_SNAPSHOT `halted`)
   that it holds as a canary neither halted nor promoted, with the reason "halted at the
   upstream broker UPSTREAM", audited (config.halt); *halted gets how many, and when any a
   new announcement sequence number is taken (agents sync on the next heartbeat).
   fc_store_relay_halt.c. */
int fc_store_config_halt_upstream(fc_store_t *self, const uint64_t *revs, size_t n,
                                  const char *upstream, size_t *halted);
/* CONFIG_AGENTS: the known agents scope applies to, by id, after the id after ("" from the
   first), at most max: id, channel = the group recorded for it, state "pending", last_seen.
   *more: whether more follow. *list malloc'd (caller frees). */
int fc_store_config_agents(fc_store_t *self, const char *scope, const char *after, size_t max,
                           fc_agent_status_t **list, size_t *n, bool *more);
/* A canary SET revision of percent over scope must choose at least one of the known agents
   the scope matches (fc_canary_widen), all of them however many (read page by page):
   FC_EINVAL with text saying so and how many it matches when it chooses none, FC_OK
   otherwise (no agents known, or percent 0 or 100). */
int fc_store_config_canary_check(fc_store_t *self, const char *scope, uint32_t percent, char *text,
                                 size_t textsize);

/* --- audit (fc_store_audit.c) ----------------------------------------------------------- */

/* Appends an entry (time = now), durably. Strings are truncated to their fc_audit_entry_t
   sizes. */
int fc_store_audit_add(fc_store_t *self, const char *who, const char *action, const char *detail,
                       const char *result);
/* Newest first, at most max. *list malloc'd (caller frees; NULL when empty). */
int fc_store_audit_list(fc_store_t *self, size_t max, fc_audit_entry_t **list, size_t *n);
/* One page of the log, newest first: entries older than id before (0: from the newest), at
   most max; *more says whether older ones follow, *last is the id of the last one listed
   (the next page's before; 0 if none listed). */
int fc_store_audit_page(fc_store_t *self, uint64_t before, size_t max, fc_audit_entry_t **list,
                        size_t *n, bool *more, uint64_t *last);
/* "who" for a signed envelope [body, signer, signature] (manifest or revision): the hex
   prefix of the signer it claims, or "unknown" if it has none. Does not verify. */
void fc_store_audit_who(const uint8_t *envelope, size_t len, char *who, size_t size);

void fc_store_config_test(bool verbose);

#endif
