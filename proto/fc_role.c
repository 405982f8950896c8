/* fc_role.c: HELLO role names and values, from the one table in fc_role.h. */
#include "fc_role.h"
#include "fc_test_check.h"

#include <stdio.h>
#include <string.h>

#define S_NAME(value, bit, name, meaning) [value] = name,
static const char *const s_names[FC_ROLE_END] = {FC_ROLE_TABLE(S_NAME)};
#undef S_NAME
#define S_MEANING(value, bit, name, meaning) [value] = meaning,
static const char *const s_meanings[FC_ROLE_END] = {FC_ROLE_TABLE(S_MEANING)};
#undef S_MEANING
/* Sets of roles are ORs of values (fc_role.h): each value must be a bit of its own. */
_Static_assert(FC_ROLE_AGENT == 1 && FC_ROLE_PUBLISHER == 2 && FC_ROLE_RELAY == 4 &&
                   FC_ROLE_END == 5,
               "fc_role.h: every role is a bit of its own");

bool fc_role_valid(fc_role_t role)
{
    return role > FC_ROLE_NONE && role < FC_ROLE_END && s_names[role] != NULL;
}

const char *fc_role_name(fc_role_t role)
{
    return fc_role_valid(role) ? s_names[role] : "?";
}

const char *fc_role_meaning(fc_role_t role)
{
    return fc_role_valid(role) ? s_meanings[role] : "";
}

bool fc_role_from_name(const char *name, fc_role_t *role)
{
    if (!name)
        return false;
    for (int i = FC_ROLE_NONE + 1; i < FC_ROLE_END; i++)
        if (s_names[i] && strcmp(name, s_names[i]) == 0) {
            *role = (fc_role_t)i;
            return true;
        }
    return false;
}

const char *fc_role_keys_dir(fc_role_t role)
{
    switch (role) {
    case FC_ROLE_AGENT:
        return "agents";
    case FC_ROLE_PUBLISHER:
        return "publishers";
    case FC_ROLE_RELAY:
        return "relays";
    default:
        return NULL;
    }
}

void fc_role_test(bool verbose)
{
    printf(" * fc_role: ");
    /* Every role has a distinct name that maps back to it, and a meaning. */
    for (int i = FC_ROLE_NONE + 1; i < FC_ROLE_END; i++) {
        fc_role_t r = FC_ROLE_NONE;
        if (i == 3) { /* between bits: no role */
            FC_CHECK(!fc_role_valid((fc_role_t)i) && !strcmp(fc_role_name((fc_role_t)i), "?"));
            continue;
        }
        FC_CHECK(fc_role_valid((fc_role_t)i));
        FC_CHECK(fc_role_from_name(fc_role_name((fc_role_t)i), &r) && r == (fc_role_t)i);
        FC_CHECK(*fc_role_meaning((fc_role_t)i));
        FC_CHECK(fc_role_keys_dir((fc_role_t)i) && *fc_role_keys_dir((fc_role_t)i));
        if (verbose)
            printf("\n   %-10s %s", fc_role_name((fc_role_t)i), fc_role_meaning((fc_role_t)i));
    }
    /* The names on the wire. */
    FC_CHECK(strcmp(fc_role_name(FC_ROLE_AGENT), "agent") == 0);
    FC_CHECK(strcmp(fc_role_name(FC_ROLE_PUBLISHER), "publisher") == 0);
    FC_CHECK(strcmp(fc_role_name(FC_ROLE_RELAY), "relay") == 0);
    /* No role, and values outside the table, have no name. */
    const fc_role_t out[] = {FC_ROLE_NONE, FC_ROLE_END, (fc_role_t)99, (fc_role_t)-1};
    for (size_t i = 0; i < sizeof out / sizeof out[0]; i++) {
        FC_CHECK(!fc_role_valid(out[i]));
        FC_CHECK(strcmp(fc_role_name(out[i]), "?") == 0 && !*fc_role_meaning(out[i]));
    }
    /* Names outside the table, near misses included, are refused and leave *role alone. */
    const char *bad[] = {"wizard", "", "Agent", "agent ", "publishers", "?", "broker"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fc_role_t r = FC_ROLE_PUBLISHER;
        FC_CHECK(!fc_role_from_name(bad[i], &r) && r == FC_ROLE_PUBLISHER);
    }
    FC_CHECK(!fc_role_from_name(NULL, &(fc_role_t){0}));
    printf("OK\n");
}
