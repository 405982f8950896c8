/* fc_config_test.c: self-test of config values, revisions, schemas and the layered config. */
#include "fc_config.h"
#include "fc_envelope.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_mpack.h"
#include "fc_test_check.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------------- */
/* Helpers */

static char *s_json_of(const fc_value_t *v)
{
    fc_json_t *j = fc_json_new();
    fc_value_to_json(v, j);
    char *text = strdup(fc_json_text(j));
    fc_json_destroy(&j);
    FC_CHECK(text);
    return text;
}

static void s_assert_json(const fc_value_t *v, const char *want)
{
    char *got = s_json_of(v);
    if (strcmp(got, want))
        fprintf(stderr, "value JSON: got %s, want %s\n", got, want);
    FC_CHECK(!strcmp(got, want));
    free(got);
}

static void s_set_text(fc_revision_t *r, const char *key, const char *text)
{
    fc_value_t v;
    FC_CHECK(fc_value_from_text(&v, text) == 0);
    FC_CHECK(fc_revision_set(r, key, &v) == 0);
    fc_value_free(&v);
}

static fc_revision_t *s_set_rev(uint64_t rev, const char *scope)
{
    fc_revision_t *r = fc_revision_new(FC_REV_SET);
    r->rev = rev;
    snprintf(r->scope, sizeof r->scope, "%s", scope);
    r->created = 1700000000 + (int64_t)rev;
    return r;
}

/* Signs r (destroying it), then parses and adds it to each of the n configs. Returns the
   last fc_config_add result. */
static int s_publish(fc_revision_t **r_p, const fc_signkey_t *key, const fc_trust_t *trust,
                     fc_config_t **configs, size_t n)
{
    size_t len;
    uint8_t *bytes = fc_revision_sign(*r_p, key, &len);
    FC_CHECK(bytes);
    fc_revision_destroy(r_p);
    int rc = -1;
    for (size_t i = 0; i < n; i++) {
        int err = -1;
        fc_revision_t *parsed = fc_revision_parse(bytes, len, trust, &err);
        FC_CHECK(parsed && err == FC_OK);
        rc = fc_config_add(configs[i], &parsed, bytes, len);
        FC_CHECK(parsed == NULL);
    }
    free(bytes);
    return rc;
}

/* The effective value of key as JSON text, or "absent". */
static void s_assert_get(const fc_config_t *c, const char *key, const char *want)
{
    const fc_value_t *v = fc_config_get(c, key);
    if (!v) {
        if (strcmp(want, "absent"))
            fprintf(stderr, "config %s: absent, want %s\n", key, want);
        FC_CHECK(!strcmp(want, "absent"));
        return;
    }
    s_assert_json(v, want);
}

/* Signs body bytes as they are (a hostile publisher's tool) and parses the envelope. */
static int s_parse_body(const void *body, size_t body_len, const fc_signkey_t *key)
{
    size_t len;
    uint8_t *env = fc_envelope_seal(body, body_len, key, FC_MAX_REVISION, &len);
    FC_CHECK(env);
    int err = -1;
    fc_revision_t *r = fc_revision_parse(env, len, NULL, &err);
    FC_CHECK(r == NULL || err == FC_OK);
    fc_revision_destroy(&r);
    free(env);
    return err;
}

/* A SET body with one change, fields as given (no validation). */
static int s_parse_set_body(const char *scope, const char *key, uint64_t rev, uint32_t canary,
                            const fc_signkey_t *key_pair)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 11);
    msgpack_pack_uint32(&pk, 1);
    msgpack_pack_uint32(&pk, FC_REV_SET);
    msgpack_pack_uint64(&pk, rev);
    fc_mpack_pack_str(&pk, scope);
    fc_mpack_pack_str(&pk, "hostile");
    msgpack_pack_int64(&pk, 1);
    msgpack_pack_uint32(&pk, canary);
    msgpack_pack_uint32(&pk, 20);
    msgpack_pack_uint64(&pk, 0);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_array(&pk, 3);
    fc_mpack_pack_str(&pk, key);
    msgpack_pack_false(&pk);
    msgpack_pack_uint64(&pk, 5);
    fc_mpack_pack_str(&pk, "");
    int err = s_parse_body(sbuf.data, sbuf.size, key_pair);
    msgpack_sbuffer_destroy(&sbuf);
    return err;
}

/* ---------------------------------------------------------------------------------------- */
/* Values */

static void s_test_values(void)
{
    fc_value_t v;
    int64_t i;
    double d;
    bool b;
    char *s;

    FC_CHECK(fc_value_from_text(&v, "42") == 0 && fc_value_type(&v) == FC_VAL_INT);
    FC_CHECK(fc_value_get_int(&v, &i) == 0 && i == 42);
    FC_CHECK(fc_value_get_double(&v, &d) == 0 && d == 42.0); /* ints convert */
    FC_CHECK(fc_value_get_bool(&v, &b) == FC_EINVAL && fc_value_get_str(&v, &s) == FC_EINVAL);
    s_assert_json(&v, "42");
    fc_value_free(&v);

    FC_CHECK(fc_value_from_text(&v, "-1") == 0 && fc_value_type(&v) == FC_VAL_INT);
    FC_CHECK(fc_value_get_int(&v, &i) == 0 && i == -1);
    s_assert_json(&v, "-1");
    fc_value_free(&v);

    FC_CHECK(fc_value_from_text(&v, "1.5") == 0 && fc_value_type(&v) == FC_VAL_FLOAT);
    FC_CHECK(fc_value_get_double(&v, &d) == 0 && d == 1.5);
    FC_CHECK(fc_value_get_int(&v, &i) == FC_EINVAL);
    s_assert_json(&v, "1.5");
    fc_value_free(&v);

    FC_CHECK(fc_value_from_text(&v, "true") == 0 && fc_value_type(&v) == FC_VAL_BOOL);
    FC_CHECK(fc_value_get_bool(&v, &b) == 0 && b);
    s_assert_json(&v, "true");
    fc_value_free(&v);
    FC_CHECK(fc_value_from_text(&v, "false") == 0 && fc_value_get_bool(&v, &b) == 0 && !b);
    fc_value_free(&v);

    FC_CHECK(fc_value_from_text(&v, "null") == 0 && fc_value_type(&v) == FC_VAL_NIL);
    s_assert_json(&v, "null");
    fc_value_free(&v);

    FC_CHECK(fc_value_from_text(&v, "\"quoted \\\"x\\\"\"") == 0);
    FC_CHECK(fc_value_type(&v) == FC_VAL_STRING);
    FC_CHECK(fc_value_get_str(&v, &s) == 0 && !strcmp(s, "quoted \"x\""));
    free(s);
    s_assert_json(&v, "\"quoted \\\"x\\\"\"");
    fc_value_free(&v);

    /* Not JSON: the text itself, as a string. */
    const char *plain[] = {"info", "hello world", "[1,", "{a:1}", "", "1.2.3", "tru"};
    for (size_t k = 0; k < sizeof plain / sizeof *plain; k++) {
        FC_CHECK(fc_value_from_text(&v, plain[k]) == 0 && fc_value_type(&v) == FC_VAL_STRING);
        FC_CHECK(fc_value_get_str(&v, &s) == 0 && !strcmp(s, plain[k]));
        free(s);
        fc_value_free(&v);
    }
    /* Integers are int64 and floats float64: a number beyond them is not JSON to the
       reader, so it stays the text it was, digits intact, not a rounded float. */
    const char *huge[] = {"9223372036854775808", "-9223372036854775809", "1e400"};
    for (size_t k = 0; k < sizeof huge / sizeof *huge; k++) {
        FC_CHECK(fc_value_from_text(&v, huge[k]) == 0 && fc_value_type(&v) == FC_VAL_STRING);
        FC_CHECK(fc_value_get_str(&v, &s) == 0 && !strcmp(s, huge[k]));
        free(s);
        fc_value_free(&v);
    }
    FC_CHECK(fc_value_from_text(&v, "9223372036854775807") == 0 && fc_value_type(&v) == FC_VAL_INT);
    FC_CHECK(fc_value_get_int(&v, &i) == 0 && i == INT64_MAX);
    fc_value_free(&v);
    FC_CHECK(fc_value_from_text(&v, "9223372036854775808.0") == 0);
    FC_CHECK(fc_value_type(&v) == FC_VAL_FLOAT);
    fc_value_free(&v);

    FC_CHECK(fc_value_from_text(&v, "{\"a\": 1, \"b\": [true, null, \"x\"]}") == 0);
    FC_CHECK(fc_value_type(&v) == FC_VAL_STRUCT && fc_value_get_int(&v, &i) == FC_EINVAL);
    s_assert_json(&v, "{\"a\":1,\"b\":[true,null,\"x\"]}");
    fc_value_t copy;
    FC_CHECK(fc_value_copy(&copy, &v) == 0 && fc_value_equal(&copy, &v));
    fc_value_free(&copy);
    fc_value_free(&v);
    FC_CHECK(fc_value_from_text(&v, "[1,2]") == 0 && fc_value_type(&v) == FC_VAL_STRUCT);
    s_assert_json(&v, "[1,2]");
    fc_value_free(&v);

    FC_CHECK(!strcmp(fc_val_type_name(FC_VAL_INT), "integer"));
    FC_CHECK(!strcmp(fc_val_type_name(FC_VAL_STRING), "string"));
    FC_CHECK(!strcmp(fc_val_type_name(FC_VAL_BOOL), "boolean"));
    FC_CHECK(!strcmp(fc_val_type_name(FC_VAL_FLOAT), "float"));
    FC_CHECK(!strcmp(fc_val_type_name(FC_VAL_STRUCT), "struct"));

    /* One value, one encoding: 42 sent as a uint64 equals 42 parsed from text. */
    const uint8_t wide42[] = {0xcf, 0, 0, 0, 0, 0, 0, 0, 42};
    fc_value_t a, c;
    FC_CHECK(fc_value_from_msgpack(&a, wide42, sizeof wide42) == 0);
    FC_CHECK(fc_value_from_text(&c, "42") == 0 && fc_value_equal(&a, &c));
    FC_CHECK(a.len == 1);
    fc_value_free(&c);
    FC_CHECK(fc_value_from_text(&c, "43") == 0 && !fc_value_equal(&a, &c));
    fc_value_free(&c);
    FC_CHECK(fc_value_from_text(&c, "\"42\"") == 0 && !fc_value_equal(&a, &c));
    fc_value_free(&c);
    fc_value_free(&a);

    /* What a value may not hold, and what is not one object. */
    const uint8_t bin[] = {0xc4, 0x01, 0x00};
    const uint8_t trailing[] = {0x01, 0x02};
    const uint8_t intkey[] = {0x81, 0x01, 0x02}; /* {1: 2}: no JSON form */
    const uint8_t nul[] = {0xa3, 'a', 0, 'b'};
    const uint8_t cut[] = {0x92, 0x01};
    FC_CHECK(fc_value_from_msgpack(&a, bin, sizeof bin) == FC_EPROTO && !a.mp);
    FC_CHECK(fc_value_from_msgpack(&a, trailing, sizeof trailing) == FC_EPROTO);
    FC_CHECK(fc_value_from_msgpack(&a, intkey, sizeof intkey) == FC_EPROTO);
    FC_CHECK(fc_value_from_msgpack(&a, nul, sizeof nul) == FC_EPROTO);
    FC_CHECK(fc_value_from_msgpack(&a, cut, sizeof cut) == FC_EPROTO);
    FC_CHECK(fc_value_from_msgpack(&a, NULL, 0) == FC_EPROTO);
    /* The JSON parser refuses \u0000 (C strings), so that text is taken as a string. */
    FC_CHECK(fc_value_from_text(&a, "\"a\\u0000b\"") == 0 && fc_value_type(&a) == FC_VAL_STRING);
    FC_CHECK(fc_value_get_str(&a, &s) == 0 && !strcmp(s, "\"a\\u0000b\""));
    free(s);
    fc_value_free(&a);

    /* Size bound: FC_MAX_VALUE of msgpack. */
    size_t big = FC_MAX_VALUE;
    char *text = malloc(big + 1);
    FC_CHECK(text);
    memset(text, 'x', big);
    text[big] = '\0';
    FC_CHECK(fc_value_from_text(&a, text) == FC_ETOOBIG); /* 3 header bytes over */
    text[big - 3] = '\0';
    FC_CHECK(fc_value_from_text(&a, text) == 0 && a.len == FC_MAX_VALUE);
    fc_value_free(&a);
    free(text);

    /* Nested too deep for a value, though valid JSON: refused, not turned into a string. */
    char deep[64] = "";
    for (int k = 0; k < 20; k++)
        strcat(deep, "[");
    for (int k = 0; k < 20; k++)
        strcat(deep, "]");
    FC_CHECK(fc_value_from_text(&a, deep) == FC_EINVAL);
    fc_value_free(&v); /* safe on an empty value */
}

/* ---------------------------------------------------------------------------------------- */
/* Revisions */

static void s_test_names(void)
{
    const char *good[] = {"a", "log.level", "db-port", "x_1", "A.B.C"};
    for (size_t k = 0; k < sizeof good / sizeof *good; k++)
        FC_CHECK(fc_key_valid(good[k]));
    const char *bad[] = {"", "a b", "a/b", "a=b", "caf\xc3\xa9", "x\n", "_rev", "a:b"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++)
        FC_CHECK(!fc_key_valid(bad[k]));
    FC_CHECK(!fc_key_valid(NULL));
    char key[FC_MAX_KEY + 2];
    memset(key, 'k', sizeof key);
    key[FC_MAX_KEY] = '\0';
    FC_CHECK(fc_key_valid(key));
    key[FC_MAX_KEY] = 'k';
    key[FC_MAX_KEY + 1] = '\0';
    FC_CHECK(!fc_key_valid(key));

    FC_CHECK(fc_scope_valid("global") && fc_scope_valid("group:web") &&
             fc_scope_valid("agent:host-1.example"));
    const char *badscope[] = {"",         "Global",   "group:",    "agent:",   "group:a/b",
                              "planet:x", "group:..", "agent:a b", "global:x", "group"};
    for (size_t k = 0; k < sizeof badscope / sizeof *badscope; k++)
        FC_CHECK(!fc_scope_valid(badscope[k]));

    /* Each spelling's kind and name; the name is not checked here (fc_scope_valid does). */
    const struct {
        const char *scope;
        fc_scope_kind_t kind;
        const char *name;
    } kinds[] = {{"global", FC_SCOPE_GLOBAL, ""},
                 {"group:web", FC_SCOPE_GROUP, "web"},
                 {"agent:a1", FC_SCOPE_AGENT, "a1"},
                 {"group:", FC_SCOPE_GROUP, ""},
                 {"agent:x/y", FC_SCOPE_AGENT, "x/y"},
                 {"globalx", FC_SCOPE_NONE, ""},
                 {"Group:web", FC_SCOPE_NONE, ""},
                 {"", FC_SCOPE_NONE, ""},
                 {NULL, FC_SCOPE_NONE, ""}};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        const char *name = NULL;
        FC_CHECK(fc_scope_kind(kinds[k].scope, &name) == kinds[k].kind);
        FC_CHECK(name && !strcmp(name, kinds[k].name));
        FC_CHECK(fc_scope_kind(kinds[k].scope, NULL) == kinds[k].kind);
    }
    FC_CHECK(fc_scope_matches("global", "a1", ""));
    FC_CHECK(fc_scope_matches("group:web", "a1", "web"));
    FC_CHECK(!fc_scope_matches("group:web", "a1", "db"));
    FC_CHECK(!fc_scope_matches("group:web", "a1", ""));
    FC_CHECK(fc_scope_matches("agent:a1", "a1", "web"));
    FC_CHECK(!fc_scope_matches("agent:a1", "a2", "web"));
    FC_CHECK(!fc_scope_matches("agent:a1", "a10", ""));

    /* Canary membership: stable, nested (a 10% member is a 50% member), and about right. */
    FC_CHECK(fc_canary_member("anyone", 0) && fc_canary_member("anyone", 100));
    size_t in10 = 0, in50 = 0;
    for (int k = 0; k < 1000; k++) {
        char id[32];
        snprintf(id, sizeof id, "agent-%d", k);
        bool m10 = fc_canary_member(id, 10), m50 = fc_canary_member(id, 50);
        FC_CHECK(m10 == fc_canary_member(id, 10));
        FC_CHECK(!m10 || m50);
        in10 += m10;
        in50 += m50;
    }
    FC_CHECK(in10 > 50 && in10 < 150);
    FC_CHECK(in50 > 420 && in50 < 580);

    /* Widening: any percentage above 0 chooses at least one of the agents there are. */
    const char *few[3];
    char names[3][32];
    size_t nfew = 0;
    for (int k = 0; nfew < 3 && k < 1000; k++) {
        snprintf(names[nfew], sizeof names[nfew], "agent-%d", k);
        if (fc_canary_bucket(names[nfew]) >= 34) {
            few[nfew] = names[nfew];
            nfew++;
        }
    }
    FC_CHECK(nfew == 3);
    uint32_t lowest = 99;
    for (size_t i = 0; i < 3; i++) {
        FC_CHECK(!fc_canary_member(few[i], 34)); /* the bug: 34% chose none of them */
        if (fc_canary_bucket(few[i]) < lowest)
            lowest = fc_canary_bucket(few[i]);
    }
    uint32_t wide = fc_canary_widen(few, 3, 34);
    FC_CHECK(wide == lowest + 1);
    size_t chosen = 0;
    for (size_t i = 0; i < 3; i++)
        chosen += fc_canary_member(few[i], wide);
    FC_CHECK(chosen >= 1);
    FC_CHECK(fc_canary_widen(few, 3, lowest + 1) == lowest + 1); /* one chosen already */
    FC_CHECK(fc_canary_widen(few, 0, 34) == 34 && fc_canary_widen(few, 3, 0) == 0);
}

static void s_test_revisions(const fc_signkey_t *key, const fc_signkey_t *other,
                             const fc_trust_t *trust)
{
    fc_revision_t *r = s_set_rev(7, "group:web");
    strcpy(r->message, "raise limits");
    r->canary = 10;
    r->halt_percent = 30;
    s_set_text(r, "port", "8080");
    s_set_text(r, "log.level", "debug");
    s_set_text(r, "limits", "{\"rps\": 100}");
    s_set_text(r, "port", "8081"); /* replaces the earlier change */
    FC_CHECK(fc_revision_unset(r, "old.key") == 0);
    FC_CHECK(r->nchanges == 4);
    FC_CHECK(!strcmp(r->changes[0].key, "limits") && !strcmp(r->changes[1].key, "log.level"));
    FC_CHECK(!strcmp(r->changes[2].key, "old.key") && r->changes[2].unset);
    FC_CHECK(!strcmp(r->changes[3].key, "port"));

    /* Bad keys and values are refused when the change is made. */
    fc_value_t v;
    FC_CHECK(fc_value_from_text(&v, "1") == 0);
    FC_CHECK(fc_revision_set(r, "bad key", &v) == FC_EINVAL);
    FC_CHECK(fc_revision_set(r, "", &v) == FC_EINVAL);
    FC_CHECK(fc_revision_unset(r, "a/b") == FC_EINVAL);
    FC_CHECK(fc_revision_set(r, "k", NULL) == FC_EINVAL);
    fc_revision_t *schema_rev = fc_revision_new(FC_REV_SCHEMA);
    FC_CHECK(fc_revision_set(schema_rev, "k", &v) == FC_EINVAL); /* only SET revisions */
    fc_revision_destroy(&schema_rev);

    size_t len;
    uint8_t *env = fc_revision_sign(r, key, &len);
    FC_CHECK(env && len <= FC_MAX_REVISION);
    int err = -1;
    fc_revision_t *back = fc_revision_parse(env, len, trust, &err);
    FC_CHECK(back && err == FC_OK);
    FC_CHECK(back->rev == 7 && back->kind == FC_REV_SET && !strcmp(back->scope, "group:web"));
    FC_CHECK(!strcmp(back->message, "raise limits") && back->created == r->created);
    FC_CHECK(back->canary == 10 && back->halt_percent == 30 && back->target == 0);
    FC_CHECK(back->nchanges == 4 && !back->schema_json);
    FC_CHECK(!memcmp(back->signer, key->pk, FC_PUBKEY_LEN));
    for (size_t k = 0; k < 4; k++) {
        FC_CHECK(!strcmp(back->changes[k].key, r->changes[k].key));
        FC_CHECK(back->changes[k].unset == r->changes[k].unset);
        FC_CHECK(fc_value_equal(&back->changes[k].value, &r->changes[k].value));
    }
    fc_revision_destroy(&back);

    /* Tampering anywhere fails; in the body or the signature it is a bad signature. */
    for (size_t k = 0; k < len; k++) {
        env[k] ^= 0x01;
        back = fc_revision_parse(env, len, trust, &err);
        FC_CHECK(!back && err != FC_OK);
        env[k] ^= 0x01;
    }
    env[len / 3] ^= 0x40;
    FC_CHECK(!fc_revision_parse(env, len, trust, &err) && err == FC_EBADSIG);
    env[len / 3] ^= 0x40;
    env[len - 1] ^= 0x01;
    FC_CHECK(!fc_revision_parse(env, len, trust, &err) && err == FC_EBADSIG);
    env[len - 1] ^= 0x01;
    fc_trust_t *strangers = fc_trust_new();
    fc_trust_add(strangers, other->pk);
    FC_CHECK(!fc_revision_parse(env, len, strangers, &err) && err == FC_EUNTRUSTED);
    fc_trust_destroy(&strangers);
    back = fc_revision_parse(env, len, NULL, &err); /* no trust list: signature only */
    FC_CHECK(back && err == FC_OK);
    fc_revision_destroy(&back);

    /* Every truncation fails cleanly (exact-size copies, so ASan sees any overread). */
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        FC_CHECK(copy);
        memcpy(copy, env, cut);
        err = FC_OK;
        FC_CHECK(!fc_revision_parse(copy, cut, trust, &err) && err != FC_OK);
        free(copy);
    }
    FC_CHECK(!fc_revision_parse(NULL, 0, trust, &err) && err == FC_EPROTO);
    FC_CHECK(!fc_revision_parse(env, FC_MAX_REVISION + 1, trust, &err) && err == FC_ETOOBIG);
    free(env);

    /* Sign refuses what parse would refuse. */
    strcpy(r->scope, "group:");
    FC_CHECK(!fc_revision_sign(r, key, &len));
    strcpy(r->scope, "planet:mars");
    FC_CHECK(!fc_revision_sign(r, key, &len));
    strcpy(r->scope, "global");
    r->rev = 0;
    FC_CHECK(!fc_revision_sign(r, key, &len));
    r->rev = 7;
    r->canary = 101;
    FC_CHECK(!fc_revision_sign(r, key, &len));
    r->canary = 0;
    strcpy(r->changes[0].key, "bad key");
    FC_CHECK(!fc_revision_sign(r, key, &len));
    strcpy(r->changes[0].key, "zzz"); /* out of order */
    FC_CHECK(!fc_revision_sign(r, key, &len));
    strcpy(r->changes[0].key, "limits");
    uint8_t wide[] = {0xcf, 0, 0, 0, 0, 0, 0, 0, 1}; /* 1, not in its shortest form */
    fc_value_t hand = {wide, sizeof wide}, saved = r->changes[0].value;
    r->changes[0].value = hand;
    FC_CHECK(!fc_revision_sign(r, key, &len));
    wide[0] = 0xc4; /* bin: no value may hold it */
    FC_CHECK(!fc_revision_sign(r, key, &len));
    r->changes[0].value = saved;
    env = fc_revision_sign(r, key, &len);
    FC_CHECK(env);
    free(env);
    fc_revision_destroy(&r);
    fc_value_free(&v);

    /* Validly signed bodies that break one rule each. */
    FC_CHECK(s_parse_set_body("global", "port", 3, 0, key) == FC_OK);
    FC_CHECK(s_parse_set_body("global", "bad key", 3, 0, key) == FC_EPROTO);
    FC_CHECK(s_parse_set_body("global", "", 3, 0, key) == FC_EPROTO);
    FC_CHECK(s_parse_set_body("group:", "port", 3, 0, key) == FC_EPROTO);
    FC_CHECK(s_parse_set_body("nowhere", "port", 3, 0, key) == FC_EPROTO);
    FC_CHECK(s_parse_set_body("global", "port", 0, 0, key) == FC_EPROTO);
    FC_CHECK(s_parse_set_body("global", "port", 3, 150, key) == FC_EPROTO);
    const uint8_t huge_array[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    FC_CHECK(s_parse_body(huge_array, sizeof huge_array, key) == FC_EPROTO);
    FC_CHECK(!fc_revision_parse(huge_array, sizeof huge_array, NULL, &err) && err == FC_EPROTO);

    /* SCHEMA and PROMOTE revisions. */
    r = fc_revision_new(FC_REV_SCHEMA);
    r->rev = 8;
    r->schema_json = strdup("{\"keys\": {\"port\": {\"type\": \"integer\"}}, \"strict\": true}");
    env = fc_revision_sign(r, key, &len);
    FC_CHECK(env);
    back = fc_revision_parse(env, len, trust, &err);
    FC_CHECK(back && back->kind == FC_REV_SCHEMA && !strcmp(back->schema_json, r->schema_json));
    fc_revision_destroy(&back);
    free(env);
    free(r->schema_json);
    r->schema_json = strdup("{\"keys\": {\"port\": {\"type\": \"int\"}}}"); /* no such type */
    FC_CHECK(!fc_revision_sign(r, key, &len));
    free(r->schema_json);
    r->schema_json = NULL;
    FC_CHECK(!fc_revision_sign(r, key, &len));
    fc_revision_destroy(&r);

    r = fc_revision_new(FC_REV_PROMOTE);
    r->rev = 9;
    r->target = 7;
    env = fc_revision_sign(r, key, &len);
    FC_CHECK(env);
    back = fc_revision_parse(env, len, trust, &err);
    FC_CHECK(back && back->kind == FC_REV_PROMOTE && back->target == 7 && back->nchanges == 0);
    fc_revision_destroy(&back);
    free(env);
    r->target = 9; /* only an earlier revision can be promoted */
    FC_CHECK(!fc_revision_sign(r, key, &len));
    r->target = 0;
    FC_CHECK(!fc_revision_sign(r, key, &len));
    fc_revision_destroy(&r);
}

/* ---------------------------------------------------------------------------------------- */
/* The layered config */

/* An agent id in (member true) or out of the canary of percent. */
static void s_canary_id(char *out, size_t size, uint32_t percent, bool member)
{
    for (int k = 0;; k++) {
        snprintf(out, size, "host-%d", k);
        if (fc_canary_member(out, percent) == member)
            return;
    }
}

static void s_test_config(const fc_signkey_t *key, const fc_trust_t *trust)
{
    char in_id[32], out_id[32];
    s_canary_id(in_id, sizeof in_id, 30, true);
    s_canary_id(out_id, sizeof out_id, 30, false);
    fc_config_t *web = fc_config_new(in_id, "web");   /* a canary member */
    fc_config_t *web2 = fc_config_new(out_id, "web"); /* same group, not a member */
    fc_config_t *db = fc_config_new("db-1", "db");
    fc_config_t *all[] = {web, web2, db};
    FC_CHECK(web && web2 && db && fc_config_size(web) == 0 && fc_config_last_rev(web) == 0);
    FC_CHECK(!fc_config_get(web, "port") && !fc_config_schema(web));

    /* Layers: global, then group overrides, then agent overrides. */
    fc_revision_t *r = s_set_rev(1, "global");
    s_set_text(r, "port", "80");
    s_set_text(r, "log.level", "info");
    FC_CHECK(s_publish(&r, key, trust, all, 3) == 0);
    r = s_set_rev(2, "group:web");
    s_set_text(r, "port", "8080");
    FC_CHECK(s_publish(&r, key, trust, all, 3) == 0);
    char agent_scope[FC_MAX_SCOPE + 1];
    snprintf(agent_scope, sizeof agent_scope, "agent:%s", in_id);
    r = s_set_rev(3, agent_scope);
    s_set_text(r, "port", "9090");
    s_set_text(r, "only.me", "true");
    FC_CHECK(s_publish(&r, key, trust, all, 3) == 0);
    s_assert_get(web, "port", "9090");
    s_assert_get(web2, "port", "8080");
    s_assert_get(db, "port", "80");
    s_assert_get(web, "only.me", "true");
    s_assert_get(web2, "only.me", "absent");
    s_assert_get(db, "log.level", "\"info\"");
    FC_CHECK(fc_config_last_rev(web) == 3 && fc_config_last_rev(db) == 3); /* seen by all */
    FC_CHECK(fc_config_size(web) == 3 && fc_config_size(db) == 2);
    FC_CHECK(!strcmp(fc_config_key_at(web, 0), "log.level"));
    FC_CHECK(!strcmp(fc_config_key_at(web, 2), "port") && !fc_config_key_at(web, 3));

    /* A later global change does not beat a more specific layer. */
    fc_config_t *before = fc_config_dup(web);
    r = s_set_rev(4, "global");
    s_set_text(r, "port", "81");
    s_set_text(r, "log.level", "warn");
    FC_CHECK(s_publish(&r, key, trust, all, 3) == 0);
    s_assert_get(web, "port", "9090");
    s_assert_get(db, "port", "81");
    s_assert_get(before, "log.level", "\"info\""); /* the copy is its own */
    s_assert_get(web, "log.level", "\"warn\"");

    /* Unsetting in the agent layer reveals the group's value. */
    r = s_set_rev(5, agent_scope);
    FC_CHECK(fc_revision_unset(r, "port") == 0);
    FC_CHECK(s_publish(&r, key, trust, all, 3) == 0);
    s_assert_get(web, "port", "8080");
    r = s_set_rev(6, "group:web");
    FC_CHECK(fc_revision_unset(r, "port") == 0);
    FC_CHECK(s_publish(&r, key, trust, all, 3) == 0);
    s_assert_get(web, "port", "81");

    /* Replays and old revisions are refused; ownership is taken anyway. */
    r = s_set_rev(6, "global");
    s_set_text(r, "port", "1");
    FC_CHECK(s_publish(&r, key, trust, all, 1) == FC_ESERIAL);
    r = s_set_rev(2, "global");
    s_set_text(r, "port", "1");
    FC_CHECK(s_publish(&r, key, trust, all, 1) == FC_ESERIAL);
    s_assert_get(web, "port", "81");

    /* Canary: a member sees it at once, others only after the promotion. */
    r = s_set_rev(7, "group:web");
    r->canary = 30;
    s_set_text(r, "feature", "\"on\"");
    FC_CHECK(s_publish(&r, key, trust, all, 3) == 0);
    s_assert_get(web, "feature", "\"on\"");
    s_assert_get(web2, "feature", "absent");
    s_assert_get(db, "feature", "absent");
    /* The broker halts it: its values count for no one (copies keep the mark), and only an
       unpromoted canary SET the config holds can be halted. */
    fc_config_t *halted = fc_config_dup(web);
    FC_CHECK(!fc_config_halt(halted, 6) && !fc_config_halt(halted, 99));
    FC_CHECK(fc_config_halt(halted, 7) && !fc_config_halt(halted, 7));
    s_assert_get(halted, "feature", "absent");
    s_assert_get(halted, "port", "81");
    fc_config_t *copy = fc_config_dup(halted);
    s_assert_get(copy, "feature", "absent");
    size_t nrev = 0;
    fc_diff_entry_t *back = fc_config_diff(web, copy, &nrev);
    FC_CHECK(back && nrev == 1 && !strcmp(back[0].key, "feature") && back[0].old_value &&
             !back[0].new_value);
    free(back);
    fc_config_destroy(&copy);
    fc_config_destroy(&halted);
    fc_config_t *web2_before = fc_config_dup(web2);
    r = fc_revision_new(FC_REV_PROMOTE);
    r->rev = 8;
    r->target = 7;
    strcpy(r->scope, "group:web");
    FC_CHECK(s_publish(&r, key, trust, all, 3) == 0);
    s_assert_get(web2, "feature", "\"on\"");
    s_assert_get(web, "feature", "\"on\"");
    s_assert_get(db, "feature", "absent");
    FC_CHECK(!fc_config_halt(web2, 7)); /* promoted: meant for everyone, never taken back */
    s_assert_get(web2, "feature", "\"on\"");
    size_t n = 0;
    fc_diff_entry_t *d = fc_config_diff(web2_before, web2, &n);
    FC_CHECK(d && n == 1 && !strcmp(d[0].key, "feature") && !d[0].old_value && d[0].new_value);
    free(d);
    fc_config_destroy(&web2_before);

    /* Schema in force, and a diff: added, changed, removed, restart per that schema. */
    r = fc_revision_new(FC_REV_SCHEMA);
    r->rev = 9;
    r->schema_json = strdup("{\"keys\": {\"port\": {\"type\": \"integer\", \"reload\": "
                            "\"restart\"}, \"feature\": {\"type\": \"string\"}}}");
    FC_CHECK(s_publish(&r, key, trust, all, 3) == 0);
    FC_CHECK(fc_config_schema(web) && fc_schema_restart_only(fc_config_schema(web), "port"));
    d = fc_config_diff(before, web, &n);
    /* before: log.level info, only.me true, port 9090; now: feature on, log.level warn,
       only.me true, port 81. */
    FC_CHECK(d && n == 3);
    FC_CHECK(!strcmp(d[0].key, "feature") && !d[0].old_value && !d[0].restart_only);
    FC_CHECK(!strcmp(d[1].key, "log.level") && d[1].old_value && d[1].new_value);
    FC_CHECK(!strcmp(d[2].key, "port") && d[2].restart_only);
    fc_json_t *j = fc_json_new();
    fc_config_diff_json(d, n, fc_config_last_rev(web), j);
    FC_CHECK(!strcmp(fc_json_text(j),
                     "{\"rev\":9,\"changes\":["
                     "{\"key\":\"feature\",\"old\":null,\"new\":\"on\",\"restart\":false},"
                     "{\"key\":\"log.level\",\"old\":\"info\",\"new\":\"warn\",\"restart\":false},"
                     "{\"key\":\"port\",\"old\":9090,\"new\":81,\"restart\":true}]}"));
    fc_json_destroy(&j);
    free(d);
    d = fc_config_diff(web, before, &n); /* the other way: removed key */
    FC_CHECK(d && n == 3 && !strcmp(d[0].key, "feature") && !d[0].new_value);
    free(d);
    FC_CHECK(fc_config_diff(web, web, &n) == NULL && n == 0);
    fc_config_destroy(&before);

    j = fc_json_new();
    fc_config_to_json(web, j);
    FC_CHECK(!strcmp(fc_json_text(j), "{\"_rev\":9,\"feature\":\"on\",\"log.level\":\"warn\","
                                      "\"only.me\":true,\"port\":81}"));
    fc_json_destroy(&j);

    /* Save and load: the same effective config and last revision; a replay still fails. */
    char dir[] = "/tmp/fc_config_test.XXXXXX";
    FC_CHECK(mkdtemp(dir));
    char path[256], path2[256];
    snprintf(path, sizeof path, "%s/config.revs", dir);
    snprintf(path2, sizeof path2, "%s/db.revs", dir);
    FC_CHECK(fc_config_save(web, path) == 0);
    FC_CHECK(fc_config_save(db, path2) == 0);
    int err = -1;
    fc_config_t *loaded = fc_config_load(path, in_id, "web", trust, &err);
    FC_CHECK(loaded && err == FC_OK && fc_config_last_rev(loaded) == 9);
    d = fc_config_diff(web, loaded, &n);
    FC_CHECK(!d && n == 0);
    FC_CHECK(fc_config_schema(loaded));
    fc_config_t *dbl = fc_config_load(path2, "db-1", "db", trust, &err);
    FC_CHECK(dbl && fc_config_last_rev(dbl) == 9 && fc_config_size(dbl) == 2);
    s_assert_get(dbl, "port", "81");
    r = s_set_rev(9, "global");
    s_set_text(r, "port", "1");
    FC_CHECK(s_publish(&r, key, trust, &dbl, 1) == FC_ESERIAL);
    fc_config_destroy(&dbl);
    r = s_set_rev(10, "global");
    s_set_text(r, "port", "82");
    FC_CHECK(s_publish(&r, key, trust, &loaded, 1) == 0);
    s_assert_get(loaded, "port", "82");
    fc_config_destroy(&loaded);

    /* Loading as another agent re-filters; an untrusted signer or a damaged file fails. */
    loaded = fc_config_load(path, out_id, "web", trust, &err);
    FC_CHECK(loaded && fc_config_last_rev(loaded) == 9);
    s_assert_get(loaded, "only.me", "absent");
    s_assert_get(loaded, "feature", "\"on\""); /* promoted */
    fc_config_destroy(&loaded);
    fc_signkey_t stranger;
    fc_signkey_generate(&stranger);
    fc_trust_t *strangers = fc_trust_new();
    fc_trust_add(strangers, stranger.pk);
    FC_CHECK(!fc_config_load(path, in_id, "web", strangers, &err) && err == FC_EUNTRUSTED);
    fc_trust_destroy(&strangers);
    size_t flen;
    uint8_t *file = fc_read_file(path, 1u << 24, &flen);
    FC_CHECK(file && flen > 8);
    /* A cut between two records is an older file, and loads; any other cut fails. */
    size_t bounds[16], nbounds = 0;
    for (size_t at = 0; at < flen && nbounds < 16;) {
        at += 4 + ((size_t)file[at] << 24 | (size_t)file[at + 1] << 16 | (size_t)file[at + 2] << 8 |
                   file[at + 3]);
        bounds[nbounds++] = at;
    }
    FC_CHECK(nbounds == 9 && bounds[8] == flen); /* revisions 1 to 9 */
    for (size_t cut = 1, b = 0; cut < flen;) {
        FC_CHECK(fc_write_file_atomic(path2, file, cut, 0600) == 0);
        loaded = fc_config_load(path2, in_id, "web", trust, &err);
        if (cut == bounds[b])
            FC_CHECK(loaded && err == FC_OK && fc_config_last_rev(loaded) == b + 1);
        else
            FC_CHECK(!loaded && err != FC_OK);
        fc_config_destroy(&loaded);
        size_t next = cut + (cut < 64 ? 1 : 37);
        if (cut < bounds[b] && next > bounds[b])
            next = bounds[b]; /* visit every boundary */
        else if (cut == bounds[b])
            b++;
        cut = next;
    }
    file[flen / 2] ^= 0x10;
    FC_CHECK(fc_write_file_atomic(path2, file, flen, 0600) == 0);
    FC_CHECK(!fc_config_load(path2, in_id, "web", trust, &err) && err != FC_OK);
    free(file);
    FC_CHECK(fc_write_file_atomic(path2, "", 0, 0600) == 0); /* empty: nothing yet */
    loaded = fc_config_load(path2, in_id, "web", trust, &err);
    FC_CHECK(loaded && err == FC_OK && fc_config_last_rev(loaded) == 0);
    fc_config_destroy(&loaded);
    unlink(path2);
    FC_CHECK(!fc_config_load(path2, in_id, "web", trust, &err) && err == FC_ENOTFOUND);
    unlink(path);
    rmdir(dir);

    /* A revision added without its signed bytes cannot be saved. */
    fc_config_t *bare = fc_config_new("x", "");
    r = s_set_rev(1, "global");
    s_set_text(r, "a", "1");
    FC_CHECK(fc_config_add(bare, &r, NULL, 0) == 0 && !r);
    s_assert_get(bare, "a", "1");
    snprintf(path, sizeof path, "%s/never", dir);
    FC_CHECK(fc_config_save(bare, path) == FC_EINVAL);
    fc_config_destroy(&bare);
    FC_CHECK(
        !fc_config_new("toolong-toolong-toolong-toolong-toolong-toolong-toolong-toolong-x", ""));

    fc_signkey_wipe(&stranger);
    fc_config_destroy(&web);
    fc_config_destroy(&web2);
    fc_config_destroy(&db);
}

void fc_config_test(bool verbose)
{
    printf(" * fc_config: ");
    FC_CHECK(fc_crypto_init() == 0);
    s_test_values();
    s_test_names();

    fc_signkey_t key, other;
    fc_signkey_generate(&key);
    fc_signkey_generate(&other);
    fc_trust_t *trust = fc_trust_new();
    fc_trust_add(trust, key.pk);
    s_test_revisions(&key, &other, trust);
    fc_config_schema_test(verbose);
    s_test_config(&key, trust);

    fc_trust_destroy(&trust);
    fc_signkey_wipe(&key);
    fc_signkey_wipe(&other);
    if (verbose)
        printf("(values, revisions, hostile bodies, schemas, layers, canary, diff, save/load) ");
    printf("OK\n");
}
