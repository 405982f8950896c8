/* fc_state.c: agent state names and values, from the one table in fc_state.h. */
#include "fc_state.h"
#include "fc_test_check.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>

#define S_NAME(value, name, meaning) [value] = name,
static const char *const s_names[FC_STATE_COUNT] = {FC_STATE_TABLE(S_NAME)};
#undef S_NAME
#define S_MEANING(value, name, meaning) [value] = meaning,
static const char *const s_meanings[FC_STATE_COUNT] = {FC_STATE_TABLE(S_MEANING)};
#undef S_MEANING

const char *fc_state_name(fc_state_t state)
{
    return (unsigned)state < FC_STATE_COUNT ? s_names[state] : "?";
}

const char *fc_state_meaning(fc_state_t state)
{
    return (unsigned)state < FC_STATE_COUNT ? s_meanings[state] : "";
}

bool fc_state_from_name(const char *name, fc_state_t *state)
{
    if (!name)
        return false;
    for (int i = 0; i < FC_STATE_COUNT; i++)
        if (strcmp(name, s_names[i]) == 0) {
            *state = (fc_state_t)i;
            return true;
        }
    return false;
}

void fc_state_test(bool verbose)
{
    printf(" * fc_state: ");
    /* Every value has a distinct name that maps back to it. */
    for (int i = 0; i < FC_STATE_COUNT; i++) {
        fc_state_t s = FC_STATE_COUNT;
        FC_CHECK(fc_state_from_name(fc_state_name((fc_state_t)i), &s) && s == (fc_state_t)i);
        FC_CHECK(*fc_state_meaning((fc_state_t)i));
        if (verbose)
            printf("\n   %-12s %s", fc_state_name((fc_state_t)i), fc_state_meaning((fc_state_t)i));
    }
    /* Names outside the table, near misses included, are refused and leave *state alone. */
    const char *bad[] = {"bogus-state", "", "Failed", "failed ", "up_to_date", "?"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fc_state_t s = FC_STATE_IDLE;
        FC_CHECK(!fc_state_from_name(bad[i], &s) && s == FC_STATE_IDLE);
    }
    FC_CHECK(!fc_state_from_name(NULL, &(fc_state_t){0}));
    FC_CHECK(streq(fc_state_name(FC_STATE_COUNT), "?") && !*fc_state_meaning(FC_STATE_COUNT));
    printf("OK\n");
}
