/* fc_config_service.h: the broker's config requests: push, sync, acks, status, restart slots,
   audit. */
#ifndef FC_CONFIG_SERVICE_H
#define FC_CONFIG_SERVICE_H

#include "fc_msg.h"
#include "fc_store.h"
#include <stdbool.h>
#include <stdint.h>

/* Share of a revision's matching agents that may restart at once (--restart-share). */
#define FC_CONFIG_RESTART_SHARE 25
/* A restart slot not released by an ack (restarted, failed, vetoed) is taken back after
   this long: an agent that died mid-restart must not block the next wave for ever. */
#define FC_CONFIG_SLOT_TTL_MS 60000
/* Restart slots held at once by the agent ids of one agent key, whatever the revisions: a
   machine has one key and one id, so this only bounds a key that speaks for many ids (a
   stolen one making ids up, or a simulator). Of one revision a key holds at most one. */
#define FC_CONFIG_SLOTS_PER_KEY 8
/* CONFIG_SNAPSHOT pages stop before their revisions pass this many bytes, well inside
   FC_MAX_FRAME with room for the envelope. */
#define FC_CONFIG_SYNC_BYTES (12u * 1024u * 1024u)

/* Handles the config message types for the broker actor, on the actor's thread. Restart
   slots are decided in the store's database (fc_store_slots.h), so brokers sharing one
   database grant one share of the fleet between them; nothing of them is kept here. */
typedef struct fc_config_service_t fc_config_service_t;

/* store is borrowed and must outlive the service. restart_share is a percent (1..100;
   0 means FC_CONFIG_RESTART_SHARE). quiet: log nothing (else commits and canary halts are
   logged with zsys). */
fc_config_service_t *fc_config_service_new(fc_store_t *store, uint32_t restart_share, bool quiet);
void fc_config_service_destroy(fc_config_service_t **self_p);
/* For tests: how long an unreleased restart slot is held. */
void fc_config_service_set_slot_ttl(fc_config_service_t *self, int64_t ttl_ms);

/* true for the request types handled here: CONFIG_PUSH, CONFIG_SYNC, CONFIG_ACK,
   CONFIG_STATUS, RESTART_SLOT, AUDIT. */
bool fc_config_service_handles(int type);

/* Handles one such request (borrowed) and returns the reply, never NULL: OK, ERROR, or the
   type's reply, with req copied. A push that stored a new revision also sets *announce to a
   CONFIG_ANNOUNCE (epoch, seq, serial = rev, text = scope) for the caller to publish; else
   *announce is NULL. epoch is the broker's, copied into snapshots and announcements. */
fc_msg_t *fc_config_service_handle(fc_config_service_t *self, const fc_msg_t *request,
                                   uint64_t epoch, fc_msg_t **announce);

/* Audits a RELEASE_COMMIT (accepted when err is FC_OK, info then filled; else text says
   why). manifest is borrowed. */
void fc_config_service_audit_release(fc_config_service_t *self, const uint8_t *manifest, size_t len,
                                     int err, const char *text, const fc_release_info_t *info);

void fc_config_service_test(bool verbose);

#endif
