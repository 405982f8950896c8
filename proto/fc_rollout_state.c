/* fc_rollout_state.c: rollout state names and values, from the one table in
   fc_rollout_state.h. */
#include "fc_rollout_state.h"
#include "fc_test_check.h"

#include <stdio.h>
#include <string.h>

#define S_NAME(value, name, meaning) [value] = name,
static const char *const s_names[FC_ROLLOUT_STATE_COUNT] = {FC_ROLLOUT_STATE_TABLE(S_NAME)};
#undef S_NAME
#define S_MEANING(value, name, meaning) [value] = meaning,
static const char *const s_meanings[FC_ROLLOUT_STATE_COUNT] = {FC_ROLLOUT_STATE_TABLE(S_MEANING)};
#undef S_MEANING

const char *fc_rollout_state_name(fc_rollout_state_t state)
{
    return (unsigned)state < FC_ROLLOUT_STATE_COUNT ? s_names[state] : "?";
}

const char *fc_rollout_state_meaning(fc_rollout_state_t state)
{
    return (unsigned)state < FC_ROLLOUT_STATE_COUNT ? s_meanings[state] : "";
}

bool fc_rollout_state_from_name(const char *name, fc_rollout_state_t *state)
{
    if (!name)
        return false;
    for (int i = 0; i < FC_ROLLOUT_STATE_COUNT; i++)
        if (strcmp(name, s_names[i]) == 0) {
            *state = (fc_rollout_state_t)i;
            return true;
        }
    return false;
}

void fc_rollout_state_test(bool verbose)
{
    printf(" * fc_rollout_state: ");
    for (int i = 0; i < FC_ROLLOUT_STATE_COUNT; i++) {
        fc_rollout_state_t s = FC_ROLLOUT_STATE_COUNT;
        FC_CHECK(fc_rollout_state_from_name(fc_rollout_state_name((fc_rollout_state_t)i), &s) &&
                 s == (fc_rollout_state_t)i);
        FC_CHECK(*fc_rollout_state_meaning((fc_rollout_state_t)i));
        if (verbose)
            printf("\n   %-16s %s", fc_rollout_state_name((fc_rollout_state_t)i),
                   fc_rollout_state_meaning((fc_rollout_state_t)i));
    }
    const char *bad[] = {"rolling", "", "DONE ", "WAITING_PROMOTE", "?"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fc_rollout_state_t s = FC_ROLLOUT_DONE;
        FC_CHECK(!fc_rollout_state_from_name(bad[i], &s) && s == FC_ROLLOUT_DONE);
    }
    FC_CHECK(!fc_rollout_state_from_name(NULL, NULL));
    FC_CHECK(!strcmp(fc_rollout_state_name(FC_ROLLOUT_STATE_COUNT), "?"));
    printf("%sOK\n", verbose ? "\n" : "");
}
