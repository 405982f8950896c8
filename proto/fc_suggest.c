/* fc_suggest.c: the closest known word to a typo, and getopt_long's failures told in one line
   (fc_suggest.h). */
#include "fc_suggest.h"
#include "fc_test_check.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>

#define S_MAX_WORD 64 /* longer words are not typos of an option or command */

/* Optimal string alignment distance (Levenshtein plus adjacent swaps). */
static size_t s_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > S_MAX_WORD || lb > S_MAX_WORD)
        return SIZE_MAX;
    size_t d[S_MAX_WORD + 1][S_MAX_WORD + 1];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

const char *fc_suggest(const char *word, const char *const *candidates, size_t n)
{
    if (!word || !*word)
        return NULL;
    size_t len = strlen(word);
    size_t limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        if (!candidates[i])
            continue;
        size_t d = s_distance(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best_d <= limit ? best : NULL;
}

const char *fc_suggest_option(const struct option *opts, int argc, char *const *argv, char *buf,
                              size_t size)
{
    const char *arg = optind >= 1 && optind - 1 < argc ? argv[optind - 1] : "";
    if (strncmp(arg, "--", 2) != 0) {
        snprintf(buf, size, "unknown option '%s'", arg);
        return buf;
    }
    char name[S_MAX_WORD + 1];
    size_t len = strcspn(arg + 2, "=");
    snprintf(name, sizeof name, "%.*s", (int)(len < S_MAX_WORD ? len : S_MAX_WORD), arg + 2);
    size_t n = 0;
    while (opts[n].name)
        n++;
    const char *names[n ? n : 1];
    for (size_t i = 0; i < n; i++) {
        names[i] = opts[i].name;
        if (streq(opts[i].name, name)) {
            /* Known: it wanted a value and got none, or got one it takes none of. */
            snprintf(buf, size,
                     opts[i].has_arg == no_argument ? "option --%s takes no value"
                                                    : "option --%s needs a value",
                     name);
            return buf;
        }
    }
    const char *like = fc_suggest(name, names, n);
    if (like)
        snprintf(buf, size, "unknown option '--%s' (did you mean --%s?)", name, like);
    else
        snprintf(buf, size, "unknown option '--%s'", name);
    return buf;
}

void fc_suggest_test(bool verbose)
{
    printf(" * fc_suggest: ");
    const char *cmds[] = {"status", "release", "config", "keys", "audit", NULL, "keygen"};
    size_t n = sizeof cmds / sizeof cmds[0];
    FC_CHECK(streq(fc_suggest("stauts", cmds, n), "status"));  /* a swap */
    FC_CHECK(streq(fc_suggest("relase", cmds, n), "release")); /* a deletion */
    FC_CHECK(streq(fc_suggest("keyss", cmds, n), "keys"));
    FC_CHECK(streq(fc_suggest("keygne", cmds, n), "keygen"));
    FC_CHECK(fc_suggest("deploy", cmds, n) == NULL); /* nothing close */
    FC_CHECK(fc_suggest("", cmds, n) == NULL && fc_suggest(NULL, cmds, n) == NULL);
    FC_CHECK(fc_suggest("x", cmds, 0) == NULL);
    const char *chans[] = {"stable", "beta"};
    FC_CHECK(streq(fc_suggest("stabel", chans, 2), "stable"));
    FC_CHECK(fc_suggest("canary", chans, 2) == NULL);
    char longword[200];
    memset(longword, 'a', sizeof longword - 1);
    longword[sizeof longword - 1] = 0;
    FC_CHECK(fc_suggest(longword, cmds, n) == NULL);

    static const struct option opts[] = {{"broker", required_argument, NULL, 1},
                                         {"broker-key", required_argument, NULL, 2},
                                         {"verbose", no_argument, NULL, 3},
                                         {NULL, 0, NULL, 0}};
    char buf[256];
    char *argv1[] = {"prog", "--brokr", "x"};
    optind = 2;
    FC_CHECK(streq(fc_suggest_option(opts, 3, argv1, buf, sizeof buf),
                   "unknown option '--brokr' (did you mean --broker?)"));
    char *argv2[] = {"prog", "--broker"};
    optind = 2;
    FC_CHECK(
        streq(fc_suggest_option(opts, 2, argv2, buf, sizeof buf), "option --broker needs a value"));
    char *argv3[] = {"prog", "--verbose=1"};
    optind = 2;
    FC_CHECK(streq(fc_suggest_option(opts, 2, argv3, buf, sizeof buf),
                   "option --verbose takes no value"));
    char *argv4[] = {"prog", "--wholly-unlike=3"};
    optind = 2;
    FC_CHECK(streq(fc_suggest_option(opts, 2, argv4, buf, sizeof buf),
                   "unknown option '--wholly-unlike'"));
    char *argv5[] = {"prog", "-x"};
    optind = 2;
    FC_CHECK(streq(fc_suggest_option(opts, 2, argv5, buf, sizeof buf), "unknown option '-x'"));
    optind = 1;
    if (verbose)
        printf("(commands, channels, options) ");
    printf("OK\n");
}
