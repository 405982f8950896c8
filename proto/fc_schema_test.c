/* fc_schema_test.c: self-test of config schemas (run by fc_config_test). */
#include "fc_config.h"
#include "fc_error.h"
#include "fc_test_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_set_text(fc_revision_t *r, const char *key, const char *text)
{
    fc_value_t v;
    FC_CHECK(fc_value_from_text(&v, text) == 0);
    FC_CHECK(fc_revision_set(r, key, &v) == 0);
    fc_value_free(&v);
}

static const char *s_schema_text =
    "{\"keys\": {\"log.level\": {\"type\": \"string\", \"enum\": [\"debug\",\"info\",\"warn\"],"
    " \"reload\": \"hot\"},"
    " \"port\": {\"type\": \"integer\", \"min\": 1, \"max\": 65535, \"reload\": \"restart\"},"
    " \"ratio\": {\"type\": \"float\", \"min\": 0, \"max\": 1},"
    " \"debug\": {\"type\": \"boolean\"}, \"limits\": {\"type\": \"struct\"},"
    " \"anything\": {\"type\": \"any\"}},"
    " \"strict\": %s}";

/* Checks text as the value of key; returns the rc and leaves the message in msg. */
static int s_check(const fc_schema_t *s, const char *key, const char *text, char *msg, size_t size)
{
    fc_value_t v;
    FC_CHECK(fc_value_from_text(&v, text) == 0);
    int rc = fc_schema_check(s, key, &v, msg, size);
    fc_value_free(&v);
    FC_CHECK((rc == 0) == (msg[0] == '\0'));
    return rc;
}

static void s_assert_violation(const fc_schema_t *s, const char *key, const char *text,
                               const char *want)
{
    char msg[256];
    int rc = s_check(s, key, text, msg, sizeof msg);
    if (rc != FC_EINVAL || strcmp(msg, want))
        fprintf(stderr, "schema %s=%s: rc %d '%s', want '%s'\n", key, text, rc, msg, want);
    FC_CHECK(rc == FC_EINVAL && !strcmp(msg, want));
}

void fc_config_schema_test(bool verbose)
{
    char text[1024], msg[256];
    snprintf(text, sizeof text, s_schema_text, "false");
    fc_schema_t *s = fc_schema_parse(text, msg, sizeof msg);
    FC_CHECK(s && msg[0] == '\0');

    const char *ok[][2] = {{"port", "1"},           {"port", "65535"},        {"port", "8080"},
                           {"log.level", "info"},   {"ratio", "0.5"},         {"ratio", "1"},
                           {"ratio", "0"},          {"debug", "true"},        {"limits", "[1]"},
                           {"limits", "{\"a\":1}"}, {"anything", "null"},     {"anything", "x"},
                           {"unlisted", "5"},       {"log.level", "\"warn\""}};
    for (size_t k = 0; k < sizeof ok / sizeof *ok; k++)
        FC_CHECK(s_check(s, ok[k][0], ok[k][1], msg, sizeof msg) == 0);

    s_assert_violation(s, "port", "70000", "port: 70000 is above the maximum 65535");
    s_assert_violation(s, "port", "0", "port: 0 is below the minimum 1");
    s_assert_violation(s, "port", "-3", "port: -3 is below the minimum 1");
    s_assert_violation(s, "port", "abc", "port: 'abc' is not of type integer (got string)");
    s_assert_violation(s, "port", "80.5", "port: 80.5 is not of type integer (got float)");
    s_assert_violation(s, "log.level", "loud", "log.level: 'loud' is not one of debug, info, warn");
    s_assert_violation(s, "log.level", "3", "log.level: 3 is not of type string (got integer)");
    s_assert_violation(s, "ratio", "1.5", "ratio: 1.5 is above the maximum 1");
    s_assert_violation(s, "ratio", "-0.25", "ratio: -0.25 is below the minimum 0");
    s_assert_violation(s, "debug", "yes", "debug: 'yes' is not of type boolean (got string)");
    s_assert_violation(s, "limits", "7", "limits: 7 is not of type struct (got integer)");
    s_assert_violation(s, "debug", "null", "debug: null is not of type boolean (got null)");

    FC_CHECK(fc_schema_restart_only(s, "port") && !fc_schema_restart_only(s, "log.level"));
    FC_CHECK(!fc_schema_restart_only(s, "ratio") && !fc_schema_restart_only(s, "unlisted"));
    FC_CHECK(!fc_schema_restart_only(NULL, "port"));
    FC_CHECK(fc_schema_check(NULL, "port", NULL, msg, sizeof msg) == 0); /* no schema */

    /* A revision: the first violation wins; unsetting is always allowed. */
    fc_revision_t *r = fc_revision_new(FC_REV_SET);
    r->rev = 1;
    s_set_text(r, "log.level", "info");
    s_set_text(r, "port", "99999");
    s_set_text(r, "ratio", "7");
    FC_CHECK(fc_schema_check_revision(s, r, msg, sizeof msg) == FC_EINVAL);
    FC_CHECK(!strcmp(msg, "port: 99999 is above the maximum 65535"));
    s_set_text(r, "port", "99");
    s_set_text(r, "ratio", "0.7");
    FC_CHECK(fc_schema_check_revision(s, r, msg, sizeof msg) == 0 && msg[0] == '\0');
    fc_schema_destroy(&s);

    /* Strict: keys the schema does not list are refused, but may be unset. */
    snprintf(text, sizeof text, s_schema_text, "true");
    s = fc_schema_parse(text, msg, sizeof msg);
    FC_CHECK(s);
    s_assert_violation(s, "unlisted", "5", "unlisted: not in the schema (strict)");
    FC_CHECK(s_check(s, "port", "443", msg, sizeof msg) == 0);
    FC_CHECK(fc_revision_unset(r, "unlisted") == 0);
    FC_CHECK(fc_schema_check_revision(s, r, msg, sizeof msg) == 0);
    s_set_text(r, "zz.unlisted", "1");
    FC_CHECK(fc_schema_check_revision(s, r, msg, sizeof msg) == FC_EINVAL);
    FC_CHECK(!strcmp(msg, "zz.unlisted: not in the schema (strict)"));
    fc_revision_destroy(&r);
    fc_schema_destroy(&s);
    fc_schema_destroy(&s); /* safe twice */

    /* Broken schemas are refused with a reason. */
    const char *bad[] = {
        "",
        "not json",
        "[1, 2]",
        "{\"keys\": {\"port\": {\"type\": \"int\"}}}",
        "{\"keys\": {\"port\": {\"type\": \"integer\", \"maximum\": 5}}}",
        "{\"keys\": {\"port\": {\"type\": \"integer\", \"min\": \"1\"}}}",
        "{\"keys\": {\"port\": {\"type\": \"integer\", \"min\": 9, \"max\": 1}}}",
        "{\"keys\": {\"port\": {\"type\": \"string\", \"max\": 5}}}",
        "{\"keys\": {\"port\": {\"enum\": []}}}",
        "{\"keys\": {\"port\": {\"type\": \"integer\", \"enum\": [\"a\"]}}}",
        "{\"keys\": {\"port\": {\"reload\": \"sometimes\"}}}",
        "{\"keys\": {\"bad key\": {}}}",
        "{\"keys\": {\"a\": {}, \"a\": {}}}",
        "{\"keys\": [], \"strict\": false}",
        "{\"strict\": \"yes\"}",
        "{\"keys\": {}, \"extra\": 1}",
        "{\"keys\": {\"port\": 5}}",
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        msg[0] = '\0';
        s = fc_schema_parse(bad[k], msg, sizeof msg);
        if (s || !msg[0])
            fprintf(stderr, "schema accepted or no reason: %s\n", bad[k]);
        FC_CHECK(!s && msg[0] != '\0');
    }
    s = fc_schema_parse("{\"keys\": {\"port\": {\"type\": \"integer\", \"maximum\": 5}}}", msg,
                        sizeof msg);
    FC_CHECK(!s && strstr(msg, "port") && strstr(msg, "maximum"));
    s = fc_schema_parse("{}", NULL, 0); /* empty schema: everything allowed */
    FC_CHECK(s && s_check(s, "x", "1", msg, sizeof msg) == 0);
    fc_schema_destroy(&s);
}
