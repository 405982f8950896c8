/* fc_rollout.c: a release rollout's rules (fc_rollout.h), and their table of cases. */
#include "fc_rollout.h"
#include "fc_hash.h"
#include "fc_limits.h"
#include "fc_msg.h"
#include "fc_test_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t fc_rollout_rank(const char *id)
{
    uint8_t h[FC_HASH_LEN];
    fc_hash_buf(h, id, strlen(id));
    uint64_t rank = 0;
    for (int i = 0; i < 8; i++)
        rank = rank << 8 | h[i];
    return rank;
}

size_t fc_rollout_share(uint32_t percent, size_t n)
{
    if (percent == 0 || n == 0)
        return 0;
    if (percent >= 100)
        return n;
    size_t k = ((uint64_t)percent * n + 99) / 100;
    return k ? k : 1;
}

/* An id with its rank, hashed once: sorting compares each element many times. */
typedef struct {
    uint64_t rank;
    const char *id;
} s_ranked_t;

static int s_cmp(uint64_t rx, const char *x, uint64_t ry, const char *y)
{
    if (rx != ry)
        return rx < ry ? -1 : 1;
    return strcmp(x, y);
}

static int s_by_rank(const void *a, const void *b)
{
    const s_ranked_t *x = a, *y = b;
    return s_cmp(x->rank, x->id, y->rank, y->id);
}

/* Without memory for the ranks: hashing in the comparison, slower, same order. */
static int s_by_id_rank(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    return s_cmp(fc_rollout_rank(x), x, fc_rollout_rank(y), y);
}

void fc_rollout_order(const char **ids, size_t n)
{
    if (n < 2)
        return;
    s_ranked_t *r = malloc(n * sizeof *r);
    if (!r) {
        qsort(ids, n, sizeof *ids, s_by_id_rank);
        return;
    }
    for (size_t i = 0; i < n; i++)
        r[i] = (s_ranked_t){fc_rollout_rank(ids[i]), ids[i]};
    qsort(r, n, sizeof *r, s_by_rank);
    for (size_t i = 0; i < n; i++)
        ids[i] = r[i].id;
    free(r);
}

size_t fc_rollout_position(const char *id, const char **ids, size_t n)
{
    uint64_t mine = fc_rollout_rank(id);
    size_t before = 0;
    for (size_t i = 0; i < n; i++)
        before += strcmp(ids[i], id) != 0 && s_cmp(fc_rollout_rank(ids[i]), ids[i], mine, id) < 0;
    return before;
}

void fc_rollout_cut(uint32_t percent, const char *const *ids, size_t n, char *out)
{
    size_t k = fc_rollout_share(percent, n);
    const char *cut = percent >= 100 ? FC_ROLLOUT_CUT_ALL : k ? ids[k - 1] : FC_ROLLOUT_CUT_NONE;
    snprintf(out, FC_MAX_NAME + 1, "%s", cut);
}

bool fc_rollout_in_cut(const char *cut, const char *id)
{
    if (!strcmp(cut, FC_ROLLOUT_CUT_ALL))
        return true;
    if (!strcmp(cut, FC_ROLLOUT_CUT_NONE) || !*cut)
        return false;
    return s_cmp(fc_rollout_rank(id), id, fc_rollout_rank(cut), cut) <= 0;
}

bool fc_rollout_halts(uint32_t halt_percent, size_t members, size_t failed)
{
    return failed >= 1 && (uint64_t)failed * 100 > (uint64_t)halt_percent * members;
}

fc_outcome_t fc_rollout_outcome(const char *state, const char *version, const char *rollout_version)
{
    if (!strcmp(state, "rolled-back"))
        return FC_OUTCOME_ROLLED_BACK;
    if (!strcmp(state, "failed") || !strcmp(state, "rejected"))
        return FC_OUTCOME_FAILED;
    if (!strcmp(version, rollout_version) &&
        (!strcmp(state, "installed") || !strcmp(state, "up-to-date")))
        return FC_OUTCOME_HEALTHY;
    if (!strcmp(state, "checking") || !strcmp(state, "downloading") || !strcmp(state, "installing"))
        return FC_OUTCOME_BUSY;
    return FC_OUTCOME_NONE;
}

static const char *s_outcomes[FC_OUTCOME_COUNT] = {"none", "busy", "healthy", "failed",
                                                   "rolled-back"};

const char *fc_rollout_outcome_name(fc_outcome_t outcome)
{
    return (unsigned)outcome < FC_OUTCOME_COUNT ? s_outcomes[outcome] : "none";
}

fc_outcome_t fc_rollout_outcome_from_name(const char *name)
{
    for (int i = 0; name && i < FC_OUTCOME_COUNT; i++)
        if (!strcmp(name, s_outcomes[i]))
            return (fc_outcome_t)i;
    return FC_OUTCOME_NONE;
}

fc_rollout_step_t fc_rollout_decide(const fc_rollout_view_t *v)
{
    if (v->state == FC_ROLLOUT_HALTED || v->state == FC_ROLLOUT_DONE)
        return FC_ROLLOUT_STAY;
    if (fc_rollout_halts(v->halt_percent, v->members, v->failed))
        return FC_ROLLOUT_HALT;
    if (v->paused || v->state == FC_ROLLOUT_WAITING_PROMOTE)
        return FC_ROLLOUT_STAY;
    /* Every member has had its say: healthy, or failed within the threshold (a failed agent
       stays failed: waiting longer would stall the rollout, not change its verdict). A wave of
       nobody is done at once. */
    bool settled = v->healthy + v->failed >= v->members;
    bool waited =
        v->wave_wait_ms > 0 && v->elapsed_ms >= 0 && (uint64_t)v->elapsed_ms >= v->wave_wait_ms;
    if (!settled && !waited)
        return FC_ROLLOUT_STAY;
    return v->wave >= v->nwaves ? FC_ROLLOUT_FINISH : FC_ROLLOUT_NEXT;
}

const char *fc_rollout_step_name(fc_rollout_step_t step)
{
    static const char *names[] = {"stay", "halt", "next", "finish"};
    return (unsigned)step < sizeof names / sizeof names[0] ? names[step] : "?";
}

/* ---------------------------------------------------------------------------------------- */
/* Self-test: tables for the share, the halt rule and the decision; the order's stability. */

#define ROLL FC_ROLLOUT_ROLLING
#define WAIT FC_ROLLOUT_WAITING_PROMOTE
#define HALT FC_ROLLOUT_HALTED
#define DONE FC_ROLLOUT_DONE

static void s_test_share(void)
{
    static const struct {
        uint32_t percent;
        size_t n, want;
    } cases[] = {
        {0, 10, 0},    {5, 0, 0},     {5, 10, 1},    {20, 10, 2}, {25, 10, 3}, {34, 3, 2},
        {1, 1, 1},     {99, 3, 3},    {100, 10, 10}, {100, 0, 0}, {50, 7, 4},  {5, 100, 5},
        {25, 100, 25}, {1, 1000, 10}, {33, 100, 33}, {150, 4, 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t got = fc_rollout_share(cases[i].percent, cases[i].n);
        if (got != cases[i].want)
            fprintf(stderr, "\nshare(%u%%, %zu) = %zu, want %zu\n", cases[i].percent, cases[i].n,
                    got, cases[i].want);
        FC_CHECK(got == cases[i].want);
    }
}

static void s_test_halts(void)
{
    static const struct {
        uint32_t halt;
        size_t members, failed;
        bool want;
    } cases[] = {
        {20, 2, 2, true},   {20, 2, 0, false}, {20, 10, 2, false}, {20, 10, 3, true},
        {20, 5, 1, false},  {20, 4, 1, true},  {0, 10, 1, true},   {0, 10, 0, false},
        {100, 3, 3, false}, {50, 2, 1, false}, {50, 3, 2, true},   {20, 0, 0, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        FC_CHECK(fc_rollout_halts(cases[i].halt, cases[i].members, cases[i].failed) ==
                 cases[i].want);
}

static void s_test_decide(bool verbose)
{
    /* clang-format off */
    static const struct {
        const char *name;
        fc_rollout_view_t v;
        fc_rollout_step_t want;
    } cases[] = {
        /* name                             state paused wave of halt wait  elapsed mem ok fail */
        {"wave 1 installing",               {ROLL, false, 1, 3, 20, 0,     5000,  2, 1, 0}, FC_ROLLOUT_STAY},
        {"wave 1 all healthy",              {ROLL, false, 1, 3, 20, 0,     5000,  2, 2, 0}, FC_ROLLOUT_NEXT},
        {"last wave all healthy",           {ROLL, false, 3, 3, 20, 0,     5000, 10, 10, 0}, FC_ROLLOUT_FINISH},
        {"2 of 2 failed",                   {ROLL, false, 1, 3, 20, 0,     5000,  2, 0, 2}, FC_ROLLOUT_HALT},
        {"1 of 10 failed, within 20%",      {ROLL, false, 2, 3, 20, 0,     5000, 10, 9, 1}, FC_ROLLOUT_NEXT},
        {"3 of 10 failed",                  {ROLL, false, 2, 3, 20, 0,     5000, 10, 7, 3}, FC_ROLLOUT_HALT},
        {"wait not over",                   {ROLL, false, 1, 3, 20, 60000, 5000, 10, 8, 1}, FC_ROLLOUT_STAY},
        {"wait over, failures within",      {ROLL, false, 1, 3, 20, 60000, 60000, 10, 8, 1}, FC_ROLLOUT_NEXT},
        {"wait over on the last wave",      {ROLL, false, 3, 3, 20, 60000, 90000, 10, 8, 1}, FC_ROLLOUT_FINISH},
        {"no wait: one member silent",      {ROLL, false, 1, 3, 20, 0,     9999999, 10, 9, 0}, FC_ROLLOUT_STAY},
        {"paused, all healthy",             {ROLL, true,  1, 3, 20, 0,     5000,  2, 2, 0}, FC_ROLLOUT_STAY},
        {"paused, past the threshold",      {ROLL, true,  1, 3, 20, 0,     5000,  2, 0, 2}, FC_ROLLOUT_HALT},
        {"canary healthy, held",            {WAIT, false, 1, 2, 20, 0,     5000,  2, 2, 0}, FC_ROLLOUT_STAY},
        {"canary failing",                  {WAIT, false, 1, 2, 20, 0,     5000,  2, 1, 1}, FC_ROLLOUT_HALT},
        {"halted stays halted",             {HALT, false, 1, 3, 20, 0,     5000,  2, 2, 0}, FC_ROLLOUT_STAY},
        {"done stays done",                 {DONE, false, 3, 3, 20, 0,     5000,  2, 0, 2}, FC_ROLLOUT_STAY},
        {"a wave of nobody",                {ROLL, false, 1, 2, 20, 0,     0,     0, 0, 0}, FC_ROLLOUT_NEXT},
    };
    /* clang-format on */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fc_rollout_step_t got = fc_rollout_decide(&cases[i].v);
        if (verbose)
            printf("\n   %-32s -> %s", cases[i].name, fc_rollout_step_name(got));
        if (got != cases[i].want)
            fprintf(stderr, "\nfc_rollout case '%s': got %s, want %s\n", cases[i].name,
                    fc_rollout_step_name(got), fc_rollout_step_name(cases[i].want));
        FC_CHECK(got == cases[i].want);
        FC_CHECK(fc_rollout_decide(&cases[i].v) == got); /* pure */
    }
}

static void s_test_outcome(void)
{
    static const struct {
        const char *state, *version;
        fc_outcome_t want;
    } cases[] = {
        {"installed", "2.0", FC_OUTCOME_HEALTHY},       {"up-to-date", "2.0", FC_OUTCOME_HEALTHY},
        {"installed", "1.0", FC_OUTCOME_NONE},          {"up-to-date", "1.0", FC_OUTCOME_NONE},
        {"failed", "1.0", FC_OUTCOME_FAILED},           {"rejected", "1.0", FC_OUTCOME_FAILED},
        {"rolled-back", "1.0", FC_OUTCOME_ROLLED_BACK}, {"downloading", "1.0", FC_OUTCOME_BUSY},
        {"installing", "1.0", FC_OUTCOME_BUSY},         {"idle", "1.0", FC_OUTCOME_NONE},
        {"postponed", "1.0", FC_OUTCOME_NONE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fc_outcome_t got = fc_rollout_outcome(cases[i].state, cases[i].version, "2.0");
        FC_CHECK(got == cases[i].want);
        FC_CHECK(fc_rollout_outcome_from_name(fc_rollout_outcome_name(got)) == got);
    }
    FC_CHECK(fc_rollout_outcome_from_name("bogus") == FC_OUTCOME_NONE);
    FC_CHECK(fc_rollout_outcome_from_name(NULL) == FC_OUTCOME_NONE);
}

/* The order depends on the ids only: shuffled input sorts the same; a wave of k is a prefix,
   so a larger share contains a smaller one; and ranks spread (no share picks by name). */
static void s_test_order(void)
{
    enum { N = 200 };
    char names[N][16];
    const char *a[N], *b[N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "host-%03d", i);
        a[i] = names[i];
        b[N - 1 - i] = names[i];
    }
    fc_rollout_order(a, N);
    fc_rollout_order(b, N);
    for (int i = 0; i < N; i++)
        FC_CHECK(a[i] == b[i]);
    for (int i = 1; i < N; i++)
        FC_CHECK(fc_rollout_rank(a[i - 1]) <= fc_rollout_rank(a[i]));
    /* The first 10% are not simply the first names. */
    size_t k = fc_rollout_share(10, N), low = 0;
    for (size_t i = 0; i < k; i++)
        low += strcmp(a[i], "host-020") < 0;
    FC_CHECK(low < k);
    /* An id's position is its index in the order, whoever else is listed (itself or not). */
    for (int i = 0; i < N; i++) {
        FC_CHECK(fc_rollout_position(a[i], a, N) == (size_t)i);
        FC_CHECK(fc_rollout_position(a[i], a + i + 1, N - i - 1) == 0);
    }
    FC_CHECK(fc_rollout_position("nobody", a, 0) == 0);
    FC_CHECK(fc_rollout_rank("host-001") == fc_rollout_rank("host-001"));
    FC_CHECK(fc_rollout_rank("host-001") != fc_rollout_rank("host-002"));
}

/* A cut drawn over every agent selects, among any subset of them (the agents one relay
   holds), exactly the members of the whole share: the same set everywhere. */
static void s_test_cut(void)
{
    enum { N = 40 };
    char names[N][16];
    const char *all[N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "agent-%02d", i);
        all[i] = names[i];
    }
    fc_rollout_order(all, N);
    char cut[FC_MAX_NAME + 1];
    uint32_t percents[] = {1, 10, 25, 50, 99};
    for (size_t p = 0; p < sizeof percents / sizeof *percents; p++) {
        fc_rollout_cut(percents[p], all, N, cut);
        size_t k = fc_rollout_share(percents[p], N);
        FC_CHECK(!strcmp(cut, all[k - 1]));
        for (int i = 0; i < N; i++)
            FC_CHECK(fc_rollout_in_cut(cut, all[i]) == ((size_t)i < k));
        /* An agent the root never heard of is in when it ranks within the cut. */
        FC_CHECK(fc_rollout_in_cut(cut, "newcomer") ==
                 (fc_rollout_rank("newcomer") < fc_rollout_rank(cut)));
    }
    fc_rollout_cut(100, all, N, cut);
    FC_CHECK(!strcmp(cut, FC_ROLLOUT_CUT_ALL) && fc_rollout_in_cut(cut, "anyone"));
    fc_rollout_cut(50, all, 0, cut);
    FC_CHECK(!strcmp(cut, FC_ROLLOUT_CUT_NONE) && !fc_rollout_in_cut(cut, all[0]));
    FC_CHECK(!fc_rollout_in_cut("", all[0]));
}

void fc_rollout_test(bool verbose)
{
    printf(" * fc_rollout: ");
    s_test_share();
    s_test_halts();
    s_test_decide(verbose);
    s_test_outcome();
    s_test_order();
    s_test_cut();
    printf("%sOK\n", verbose ? "\n" : "");
}
