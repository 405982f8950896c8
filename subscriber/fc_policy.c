/* fc_policy.c: the agent's install policy as a pure function, and its table of cases. */
#include "fc_policy.h"
#include "fc_error.h"
#include "fc_test_check.h"

#include <stdio.h>
#include <string.h>

static fc_policy_decision_t s_ends(fc_policy_action_t action, int exit_code, int error,
                                   bool remember)
{
    fc_policy_decision_t d = {
        action, FC_POLICY_REASON_NONE, exit_code, error, remember, false, false, false};
    return d;
}

static fc_policy_decision_t s_reject(fc_policy_reason_t reason, int error)
{
    fc_policy_decision_t d = s_ends(FC_POLICY_REJECT, FC_AGENT_EXIT_ERROR, error, true);
    d.reason = reason;
    return d;
}

fc_policy_decision_t fc_policy_decide(const fc_policy_input_t *in)
{
    fc_policy_decision_t d = s_ends(FC_POLICY_IGNORE, FC_AGENT_EXIT_OK, 0, false);
    if (in->none) {
        if (in->fetching)
            return d; /* keep going with what we were given before */
        return s_ends(FC_POLICY_NONE, FC_AGENT_EXIT_OK, 0, false);
    }
    if (in->known)
        return d; /* being fetched, or judged already: not parsed again */
    const fc_manifest_t *m = in->m;
    if (!m)
        return s_reject(FC_POLICY_REASON_UNVERIFIED, in->parse_err);
    if (strcmp(m->channel, in->channel) != 0)
        return s_reject(FC_POLICY_REASON_CHANNEL, FC_EINVAL);
    /* The broker serves a channel whatever the product: a release of another product pushed
       to this channel is signed and well formed, but not ours to install. */
    if (in->product && strcmp(m->product, in->product) != 0)
        return s_reject(FC_POLICY_REASON_PRODUCT, FC_EINVAL);
    if (in->fetching && m->serial <= in->target_serial)
        return d; /* not newer than what is being fetched */

    if (m->serial == in->installed_serial)
        d = s_ends(FC_POLICY_UP_TO_DATE, FC_AGENT_EXIT_OK, 0, true);
    else if (m->serial < in->installed_serial)
        d = s_reject(FC_POLICY_REASON_OLDER, FC_ESERIAL);
    else if (in->failed_before) {
        /* For --check there is nothing to install: the latest is known bad here. */
        d = s_ends(FC_POLICY_FAILED_BEFORE,
                   in->check_only ? FC_AGENT_EXIT_OK : FC_AGENT_EXIT_UNHEALTHY, FC_EUNHEALTHY,
                   true);
        d.available = !in->check_only;
    } else if (in->check_only) {
        d = s_ends(FC_POLICY_AVAILABLE, FC_AGENT_EXIT_AVAILABLE, 0, false);
        d.available = true;
    } else {
        const char *installed = in->installed_version ? in->installed_version : "";
        bool above_min = m->min_version[0] && fc_version_cmp(m->min_version, installed) > 0;
        bool allowed = in->policy == FC_AGENT_UPDATE_ALL ||
                       (in->policy == FC_AGENT_UPDATE_MANDATORY &&
                        (m->mandatory || above_min || in->installed_serial == 0));
        d = allowed ? s_ends(FC_POLICY_INSTALL, FC_AGENT_EXIT_OK, 0, false)
                    : s_ends(FC_POLICY_HOLD, FC_AGENT_EXIT_OK, 0, true);
        d.available = true;
    }
    d.shown = true;
    /* Only a newer release than the installed one takes the target's place. */
    d.replaces_target = in->fetching && m->serial > in->installed_serial;
    return d;
}

const char *fc_policy_action_name(fc_policy_action_t action)
{
    static const char *names[] = {"ignore",        "none",      "reject", "up-to-date",
                                  "failed-before", "available", "hold",   "install"};
    return (unsigned)action < sizeof names / sizeof names[0] ? names[action] : "?";
}

/* ---------------------------------------------------------------------------------------- */
/* Self-test: one row per way the decision can go. */

typedef enum { S_NONE, S_KNOWN, S_BAD, S_M } s_release_t;

typedef struct {
    const char *name;
    /* inputs */
    s_release_t release;
    const char *channel, *product; /* of the manifest */
    uint64_t serial;
    bool mandatory;
    const char *min_version;
    const char *agent_product; /* --product, NULL: any */
    bool check_only;
    fc_agent_policy_t policy;
    uint64_t installed_serial;
    const char *installed_version;
    bool failed_before;
    uint64_t target_serial; /* 0: nothing being fetched */
    /* expected */
    fc_policy_action_t action;
    fc_policy_reason_t reason;
    int exit_code, error;
    bool remember, available, shown, replaces_target;
} s_case_t;

#define ALL FC_AGENT_UPDATE_ALL
#define MAND FC_AGENT_UPDATE_MANDATORY
#define NEVER FC_AGENT_UPDATE_NONE
#define OK FC_AGENT_EXIT_OK
#define ERR FC_AGENT_EXIT_ERROR
#define SICK FC_AGENT_EXIT_UNHEALTHY
#define AVAIL FC_AGENT_EXIT_AVAILABLE
#define R(x) FC_POLICY_REASON_##x
#define A(x) FC_POLICY_##x

/* clang-format off */
static const s_case_t s_cases[] = {
    /* name                          release  chan    prod   serial mand  min    --product check  policy inst  version fail target   action            reason         exit   error        remember avail  shown  replaces */
    {"no release, nothing installed", S_NONE, "",     "",    0,     false, "",   NULL,     false, ALL,   0,    "",     false, 0,  A(NONE),          R(NONE),       OK,    0,           false, false, false, false},
    {"no release, one installed",     S_NONE, "",     "",    0,     false, "",   NULL,     false, ALL,   5,    "1.5",  false, 0,  A(NONE),          R(NONE),       OK,    0,           false, false, false, false},
    {"no release while fetching",     S_NONE, "",     "",    0,     false, "",   NULL,     false, ALL,   5,    "1.5",  false, 6,  A(IGNORE),        R(NONE),       OK,    0,           false, false, false, false},
    {"the target again, or decided",  S_KNOWN,"",     "",    0,     false, "",   NULL,     false, ALL,   5,    "1.5",  false, 6,  A(IGNORE),        R(NONE),       OK,    0,           false, false, false, false},
    {"does not verify",               S_BAD,  "",     "",    0,     false, "",   NULL,     false, ALL,   5,    "1.5",  false, 0,  A(REJECT),        R(UNVERIFIED), ERR,   FC_EBADSIG,  true,  false, false, false},
    {"does not verify while fetching",S_BAD,  "",     "",    0,     false, "",   NULL,     false, ALL,   5,    "1.5",  false, 6,  A(REJECT),        R(UNVERIFIED), ERR,   FC_EBADSIG,  true,  false, false, false},
    {"another channel",               S_M,    "beta", "app", 9,     true,  "",   NULL,     false, ALL,   5,    "1.5",  false, 0,  A(REJECT),        R(CHANNEL),    ERR,   FC_EINVAL,   true,  false, false, false},
    {"another product",               S_M,    "main", "db",  9,     true,  "",   "app",    false, ALL,   5,    "1.5",  false, 0,  A(REJECT),        R(PRODUCT),    ERR,   FC_EINVAL,   true,  false, false, false},
    {"any product without --product", S_M,    "main", "db",  9,     false, "",   NULL,     false, ALL,   5,    "1.5",  false, 0,  A(INSTALL),       R(NONE),       OK,    0,           false, true,  true,  false},
    {"our product",                   S_M,    "main", "app", 9,     false, "",   "app",    false, ALL,   5,    "1.5",  false, 0,  A(INSTALL),       R(NONE),       OK,    0,           false, true,  true,  false},
    {"not newer than the target",     S_M,    "main", "app", 6,     false, "",   NULL,     false, ALL,   5,    "1.5",  false, 6,  A(IGNORE),        R(NONE),       OK,    0,           false, false, false, false},
    {"older than the target",         S_M,    "main", "app", 4,     false, "",   NULL,     false, ALL,   5,    "1.5",  false, 6,  A(IGNORE),        R(NONE),       OK,    0,           false, false, false, false},
    {"the installed one",             S_M,    "main", "app", 5,     false, "",   NULL,     false, ALL,   5,    "1.5",  false, 0,  A(UP_TO_DATE),    R(NONE),       OK,    0,           true,  false, true,  false},
    {"the installed one, --check",    S_M,    "main", "app", 5,     true,  "",   NULL,     true,  ALL,   5,    "1.5",  false, 0,  A(UP_TO_DATE),    R(NONE),       OK,    0,           true,  false, true,  false},
    {"older than installed",          S_M,    "main", "app", 4,     true,  "",   NULL,     false, ALL,   5,    "1.5",  false, 0,  A(REJECT),        R(OLDER),      ERR,   FC_ESERIAL,  true,  false, true,  false},
    {"failed here before",            S_M,    "main", "app", 6,     false, "",   NULL,     false, ALL,   5,    "1.5",  true,  0,  A(FAILED_BEFORE), R(NONE),       SICK,  FC_EUNHEALTHY,true, true,  true,  false},
    {"failed here before, --check",   S_M,    "main", "app", 6,     false, "",   NULL,     true,  ALL,   5,    "1.5",  true,  0,  A(FAILED_BEFORE), R(NONE),       OK,    FC_EUNHEALTHY,true, false, true,  false},
    {"failed before, replaces target",S_M,    "main", "app", 7,     false, "",   NULL,     false, ALL,   5,    "1.5",  true,  6,  A(FAILED_BEFORE), R(NONE),       SICK,  FC_EUNHEALTHY,true, true,  true,  true},
    {"--check, newer",                S_M,    "main", "app", 6,     false, "",   NULL,     true,  NEVER, 5,    "1.5",  false, 0,  A(AVAILABLE),     R(NONE),       AVAIL, 0,           false, true,  true,  false},
    {"--check, first install",        S_M,    "main", "app", 1,     false, "",   NULL,     true,  ALL,   0,    "",     false, 0,  A(AVAILABLE),     R(NONE),       AVAIL, 0,           false, true,  true,  false},
    {"update all",                    S_M,    "main", "app", 6,     false, "",   NULL,     false, ALL,   5,    "1.5",  false, 0,  A(INSTALL),       R(NONE),       OK,    0,           false, true,  true,  false},
    {"update all, newer than target", S_M,    "main", "app", 7,     false, "",   NULL,     false, ALL,   5,    "1.5",  false, 6,  A(INSTALL),       R(NONE),       OK,    0,           false, true,  true,  true},
    {"update all, first install",     S_M,    "main", "app", 1,     false, "",   NULL,     false, ALL,   0,    "",     false, 0,  A(INSTALL),       R(NONE),       OK,    0,           false, true,  true,  false},
    {"mandatory only: optional",      S_M,    "main", "app", 6,     false, "",   NULL,     false, MAND,  5,    "1.5",  false, 0,  A(HOLD),          R(NONE),       OK,    0,           true,  true,  true,  false},
    {"mandatory only: mandatory",     S_M,    "main", "app", 6,     true,  "",   NULL,     false, MAND,  5,    "1.5",  false, 0,  A(INSTALL),       R(NONE),       OK,    0,           false, true,  true,  false},
    {"mandatory only: min above ours",S_M,    "main", "app", 6,     false, "1.6",NULL,     false, MAND,  5,    "1.5",  false, 0,  A(INSTALL),       R(NONE),       OK,    0,           false, true,  true,  false},
    {"mandatory only: min is ours",   S_M,    "main", "app", 6,     false, "1.5",NULL,     false, MAND,  5,    "1.5",  false, 0,  A(HOLD),          R(NONE),       OK,    0,           true,  true,  true,  false},
    {"mandatory only: min below ours",S_M,    "main", "app", 6,     false, "1.2",NULL,     false, MAND,  5,    "1.5",  false, 0,  A(HOLD),          R(NONE),       OK,    0,           true,  true,  true,  false},
    {"mandatory only: first install", S_M,    "main", "app", 1,     false, "",   NULL,     false, MAND,  0,    "",     false, 0,  A(INSTALL),       R(NONE),       OK,    0,           false, true,  true,  false},
    {"mandatory only, held, target",  S_M,    "main", "app", 7,     false, "",   NULL,     false, MAND,  5,    "1.5",  false, 6,  A(HOLD),          R(NONE),       OK,    0,           true,  true,  true,  true},
    {"none: mandatory",               S_M,    "main", "app", 6,     true,  "9",  NULL,     false, NEVER, 5,    "1.5",  false, 0,  A(HOLD),          R(NONE),       OK,    0,           true,  true,  true,  false},
    {"none: first install",           S_M,    "main", "app", 1,     true,  "",   NULL,     false, NEVER, 0,    "",     false, 0,  A(HOLD),          R(NONE),       OK,    0,           true,  true,  true,  false},
};
/* clang-format on */

void fc_policy_test(bool verbose)
{
    printf(" * fc_policy: ");
    size_t n = sizeof s_cases / sizeof s_cases[0];
    for (size_t i = 0; i < n; i++) {
        const s_case_t *c = &s_cases[i];
        fc_manifest_t m;
        memset(&m, 0, sizeof m);
        snprintf(m.channel, sizeof m.channel, "%s", c->channel);
        snprintf(m.product, sizeof m.product, "%s", c->product);
        snprintf(m.version, sizeof m.version, "2.%llu", (unsigned long long)c->serial);
        snprintf(m.min_version, sizeof m.min_version, "%s", c->min_version);
        m.serial = c->serial;
        m.mandatory = c->mandatory;
        fc_policy_input_t in = {
            .none = c->release == S_NONE,
            .known = c->release == S_KNOWN,
            .m = c->release == S_M ? &m : NULL,
            .parse_err = c->release == S_BAD ? FC_EBADSIG : 0,
            .channel = "main",
            .product = c->agent_product,
            .check_only = c->check_only,
            .policy = c->policy,
            .installed_serial = c->installed_serial,
            .installed_version = c->installed_version,
            .failed_before = c->failed_before,
            .fetching = c->target_serial != 0,
            .target_serial = c->target_serial,
        };
        fc_policy_decision_t d = fc_policy_decide(&in);
        if (verbose)
            printf("\n   %-32s -> %s", c->name, fc_policy_action_name(d.action));
        bool ends = d.action != FC_POLICY_IGNORE && d.action != FC_POLICY_INSTALL;
        bool sets_available = d.shown || d.action == FC_POLICY_NONE;
        if (d.action != c->action || d.reason != c->reason ||
            (ends && (d.exit_code != c->exit_code || d.error != c->error)) ||
            d.remember != c->remember || (sets_available && d.available != c->available) ||
            d.shown != c->shown || d.replaces_target != c->replaces_target) {
            fprintf(stderr,
                    "\nfc_policy case '%s': got %s reason %d exit %d error %d remember %d "
                    "available %d shown %d replaces %d\n",
                    c->name, fc_policy_action_name(d.action), (int)d.reason, d.exit_code, d.error,
                    d.remember, d.available, d.shown, d.replaces_target);
            FC_CHECK(!"fc_policy case failed");
        }
        /* Pure: the same inputs decide the same again. */
        fc_policy_decision_t again = fc_policy_decide(&in);
        FC_CHECK(again.action == d.action && again.reason == d.reason &&
                 again.exit_code == d.exit_code && again.error == d.error &&
                 again.remember == d.remember && again.available == d.available &&
                 again.shown == d.shown && again.replaces_target == d.replaces_target);
    }
    /* Every action is reached by some row. */
    for (int a = FC_POLICY_IGNORE; a <= FC_POLICY_INSTALL; a++) {
        bool seen = false;
        for (size_t i = 0; i < n && !seen; i++)
            seen = s_cases[i].action == (fc_policy_action_t)a;
        FC_CHECK(seen);
    }
    FC_CHECK(!strcmp(fc_policy_action_name(FC_POLICY_INSTALL), "install"));
    FC_CHECK(!strcmp(fc_policy_action_name((fc_policy_action_t)99), "?"));
    printf("%sOK (%zu cases)\n", verbose ? "\n" : "", n);
}
