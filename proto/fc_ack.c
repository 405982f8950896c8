/* fc_ack.c: config ack outcome names, values and meanings, from the one table in fc_ack.h. */
#include "fc_ack.h"
#include "fc_test_check.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>

#define S_NAME(value, name, flags, meaning) [value] = name,
static const char *const s_names[FC_ACK_COUNT] = {FC_ACK_TABLE(S_NAME)};
#undef S_NAME
#define S_FLAGS(value, name, flags, meaning) [value] = flags,
static const unsigned s_flags[FC_ACK_COUNT] = {FC_ACK_TABLE(S_FLAGS)};
#undef S_FLAGS
#define S_MEANING(value, name, flags, meaning) [value] = meaning,
static const char *const s_meanings[FC_ACK_COUNT] = {FC_ACK_TABLE(S_MEANING)};
#undef S_MEANING

const char *fc_ack_name(fc_ack_t ack)
{
    return (unsigned)ack < FC_ACK_COUNT ? s_names[ack] : "?";
}

const char *fc_ack_meaning(fc_ack_t ack)
{
    return (unsigned)ack < FC_ACK_COUNT ? s_meanings[ack] : "";
}

bool fc_ack_is(fc_ack_t ack, unsigned flags)
{
    return (unsigned)ack < FC_ACK_COUNT && (s_flags[ack] & flags) == flags;
}

bool fc_ack_from_name(const char *name, fc_ack_t *ack)
{
    if (!name)
        return false;
    for (int i = 0; i < FC_ACK_COUNT; i++)
        if (strcmp(name, s_names[i]) == 0) {
            *ack = (fc_ack_t)i;
            return true;
        }
    return false;
}

bool fc_ack_from_agent(const char *name, fc_ack_t *ack)
{
    fc_ack_t found;
    if (!fc_ack_from_name(name, &found) || !fc_ack_is(found, FC_ACK_F_SENT))
        return false;
    *ack = found;
    return true;
}

void fc_ack_test(bool verbose)
{
    printf(" * fc_ack: ");
    /* Every value has a distinct name that maps back to it, and a meaning. */
    for (int i = 0; i < FC_ACK_COUNT; i++) {
        fc_ack_t a = FC_ACK_COUNT;
        FC_CHECK(fc_ack_from_name(fc_ack_name((fc_ack_t)i), &a) && a == (fc_ack_t)i);
        FC_CHECK(*fc_ack_meaning((fc_ack_t)i));
        if (verbose)
            printf("\n   %-17s %s", fc_ack_name((fc_ack_t)i), fc_ack_meaning((fc_ack_t)i));
    }
    /* The meanings the broker acts on: which acks halt a canary, which end a restart, and
       that only "pending" is not the agent's to send. */
    const struct {
        fc_ack_t ack;
        bool sent, failure, ends;
    } want[] = {
        {FC_ACK_APPLIED, true, false, false},
        {FC_ACK_RESTARTED, true, false, true},
        {FC_ACK_VETOED, true, true, true},
        {FC_ACK_FAILED, true, true, true},
        {FC_ACK_RESTART_REQUIRED, true, false, false},
        {FC_ACK_UNCHANGED, true, false, false},
        {FC_ACK_PENDING, false, false, false},
    };
    FC_CHECK(sizeof want / sizeof want[0] == FC_ACK_COUNT);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        FC_CHECK(fc_ack_is(want[i].ack, FC_ACK_F_SENT) == want[i].sent);
        FC_CHECK(fc_ack_is(want[i].ack, FC_ACK_F_FAILURE) == want[i].failure);
        FC_CHECK(fc_ack_is(want[i].ack, FC_ACK_F_ENDS) == want[i].ends);
        fc_ack_t a = FC_ACK_COUNT;
        FC_CHECK(fc_ack_from_agent(fc_ack_name(want[i].ack), &a) == want[i].sent);
        FC_CHECK(a == (want[i].sent ? want[i].ack : FC_ACK_COUNT));
    }
    FC_CHECK(fc_ack_is(FC_ACK_FAILED, FC_ACK_F_FAILURE | FC_ACK_F_ENDS));
    FC_CHECK(!fc_ack_is(FC_ACK_RESTARTED, FC_ACK_F_FAILURE | FC_ACK_F_ENDS));
    /* Names outside the table, near misses included, are refused and leave *ack alone. */
    const char *bad[] = {"bogus", "", "Applied", "failed ", "restart_required", "?"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fc_ack_t a = FC_ACK_UNCHANGED;
        FC_CHECK(!fc_ack_from_name(bad[i], &a) && a == FC_ACK_UNCHANGED);
        FC_CHECK(!fc_ack_from_agent(bad[i], &a) && a == FC_ACK_UNCHANGED);
    }
    FC_CHECK(!fc_ack_from_name(NULL, &(fc_ack_t){0}) && !fc_ack_from_agent(NULL, &(fc_ack_t){0}));
    FC_CHECK(streq(fc_ack_name(FC_ACK_COUNT), "?") && !*fc_ack_meaning(FC_ACK_COUNT));
    FC_CHECK(!fc_ack_is(FC_ACK_COUNT, 0));
    printf("OK\n");
}
