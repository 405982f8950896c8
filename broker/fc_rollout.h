/* fc_rollout.h: the rules of a release rollout as pure functions: who is in which wave, what
   a report says about the rollout, and when a wave halts, waits or gives way to the next. */
#ifndef FC_ROLLOUT_H
#define FC_ROLLOUT_H

#include "fc_rollout_state.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An agent's place in every rollout: the first 8 bytes of BLAKE2b-256(id), big-endian. The
   same id always ranks the same, so a re-run picks the same machines. */
uint64_t fc_rollout_rank(const char *id);
/* How many of n agents a cumulative share of percent selects: ceil(percent * n / 100), and at
   least one when percent > 0 and n > 0 (a 5% wave of 10 agents is one agent, not none). */
size_t fc_rollout_share(uint32_t percent, size_t n);
/* Sorts ids (borrowed strings) into offer order: by rank, then by id. A wave of share k is
   the first k of them. */
void fc_rollout_order(const char **ids, size_t n);
/* How many of ids (n, id itself among them or not) come before id in offer order: id is in
   a wave of share k if this is below k. */
size_t fc_rollout_position(const char *id, const char **ids, size_t n);
/* The root's share as a rank cut (docs/PROTOCOL.md 3.16, "Rollouts"), written to out
   (FC_MAX_NAME + 1 bytes): FC_ROLLOUT_CUT_ALL at percent 100, FC_ROLLOUT_CUT_NONE when the
   share of n is no one, else the id of its last member; ids (n) are in offer order. */
void fc_rollout_cut(uint32_t percent, const char *const *ids, size_t n, char *out);
/* Whether id is within a cut: at or before the cut's id in offer order (rank, then id). */
bool fc_rollout_in_cut(const char *cut, const char *id);
/* The halt rule: at least one agent of the current wave failed or rolled back, and they are
   more than halt_percent of its members. */
bool fc_rollout_halts(uint32_t halt_percent, size_t members, size_t failed);

/* What an offered agent's latest REPORT says about the rollout. */
typedef enum {
    FC_OUTCOME_NONE,        /* nothing yet (idle, postponed, stale, ...) */
    FC_OUTCOME_BUSY,        /* checking, downloading, installing */
    FC_OUTCOME_HEALTHY,     /* runs the rollout's version, installed / up-to-date */
    FC_OUTCOME_FAILED,      /* failed or rejected */
    FC_OUTCOME_ROLLED_BACK, /* installed it, failed the health check, swapped back */
    FC_OUTCOME_COUNT
} fc_outcome_t;
/* state: an agent state name (fc_state.h); version: the version it runs. */
fc_outcome_t fc_rollout_outcome(const char *state, const char *version,
                                const char *rollout_version);
/* The outcome's name as the broker stores it ("healthy", ...); fc_rollout_outcome_from_name
   reads it back (FC_OUTCOME_NONE for anything else). */
const char *fc_rollout_outcome_name(fc_outcome_t outcome);
fc_outcome_t fc_rollout_outcome_from_name(const char *name);

/* What a rollout looks like when the broker asks what to do next. */
typedef struct {
    fc_rollout_state_t state; /* ROLLING, WAITING-PROMOTE, HALTED or DONE (never PAUSED) */
    bool paused;
    uint32_t wave; /* 1-based */
    uint32_t nwaves;
    uint32_t halt_percent;
    uint64_t wave_wait_ms; /* 0: no time limit */
    int64_t elapsed_ms;    /* since the wave started */
    size_t members;        /* of the current wave */
    size_t healthy;        /* of those */
    size_t failed;         /* of those, failed or rolled back */
} fc_rollout_view_t;

typedef enum {
    FC_ROLLOUT_STAY,   /* nothing to do yet */
    FC_ROLLOUT_HALT,   /* past the threshold: halt */
    FC_ROLLOUT_NEXT,   /* the wave is done: offer the next */
    FC_ROLLOUT_FINISH, /* the last wave is done: DONE */
} fc_rollout_step_t;

/* A wave is done when every member reported healthy or failed (failures within the
   threshold), or wave_wait_ms passed. A halt is checked first, even while paused or waiting for
   promote; a paused or WAITING-PROMOTE rollout never moves on by itself. */
fc_rollout_step_t fc_rollout_decide(const fc_rollout_view_t *v);
const char *fc_rollout_step_name(fc_rollout_step_t step);

void fc_rollout_test(bool verbose);

#endif
