/* fc_json_parse_test.c: self-test of the JSON to msgpack reader (fc_json_parse.c, over jansson). */

#include "fc_error.h"
#include "fc_json_parse.h"
#include "fc_test_check.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX (1u << 20)

/* Parses len bytes of text; returns the code, with the output (or NULL) and message. */
static int s_parse(const char *text, size_t len, uint8_t **out, size_t *outlen, char *msg,
                   size_t msgsize)
{
    int rc = fc_json_to_msgpack(text, len, S_MAX, out, outlen, msg, msgsize);
    if (rc)
        FC_CHECK(*out == NULL && *outlen == 0 && msg[0]);
    else
        FC_CHECK(*out && *outlen > 0);
    return rc;
}

/* text parses to exactly the msgpack bytes spelled in hex. */
static void s_good(const char *text, const char *hex)
{
    uint8_t *out;
    size_t outlen;
    char msg[160] = "untouched";
    int rc = s_parse(text, strlen(text), &out, &outlen, msg, sizeof msg);
    if (rc)
        fprintf(stderr, "%s: %s\n", text, msg);
    FC_CHECK(rc == 0 && msg[0] == '\0');
    char got[512];
    FC_CHECK(outlen * 2 < sizeof got);
    for (size_t i = 0; i < outlen; i++)
        snprintf(got + 2 * i, 3, "%02x", out[i]);
    if (strcmp(got, hex))
        fprintf(stderr, "%s: got %s, want %s\n", text, got, hex);
    FC_CHECK(!strcmp(got, hex));
    free(out);
}

/* len bytes of text are refused with code, and the message contains want. */
static void s_bad_len(const char *text, size_t len, int code, const char *want)
{
    uint8_t *out = (uint8_t *)"x";
    size_t outlen = 1;
    char msg[160] = "";
    int rc = s_parse(text, len, &out, &outlen, msg, sizeof msg);
    if (rc != code || !strstr(msg, want))
        fprintf(stderr, "%.*s: rc %d (want %d), \"%s\" (want \"%s\")\n", (int)len, text, rc, code,
                msg, want);
    FC_CHECK(rc == code && strstr(msg, want));
}

static void s_bad(const char *text, const char *want)
{
    s_bad_len(text, strlen(text), FC_EPROTO, want);
}

static void s_test_valid(void)
{
    s_good("null", "c0");
    s_good("true", "c3");
    s_good("false", "c2");
    s_good("0", "00");
    s_good("-0", "00");
    s_good("-1", "ff");
    s_good("42", "2a");
    s_good("-9223372036854775808", "d38000000000000000");
    s_good("9223372036854775807", "cf7fffffffffffffff");
    s_good("9223372036854775808.0", "cb43e0000000000000"); /* 2^63 as a float */
    s_good("-9223372036854775809.0", "cbc3e0000000000000");
    s_good("1.8446744073709551616e19", "cb43f0000000000000"); /* 2^64 */
    s_good("1.5", "cb3ff8000000000000");
    s_good("-1e3", "cbc08f400000000000");
    s_good("1E+2", "cb4059000000000000");
    s_good("2e-1", "cb3fc999999999999a");
    s_good("1.0", "cb3ff0000000000000");    /* a fraction makes a float, even when whole */
    s_good("1e-400", "cb0000000000000000"); /* underflow rounds to zero */
    s_good("\"\"", "a0");
    s_good("\"ab\"", "a26162");
    s_good("\"\\u00e9\\u20AC\"", "a5c3a9e282ac");
    s_good("\"\\ud83d\\ude00\"", "a4f09f9880");
    s_good("\"\\uD834\\uDD1E\"", "a4f09d849e");
    s_good("\"\\uFFFF\"", "a3efbfbf");
    s_good("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "a8225c2f080c0a0d09");
    s_good("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f\"", "aac3a9e282acf09f98807f");
    s_good("\"\xf4\x8f\xbf\xbf\"", "a4f48fbfbf"); /* U+10FFFF */
    s_good("[]", "90");
    s_good("{}", "80");
    s_good(" \t\r\n[ 1 , 2 ]\n ", "920102");
    s_good("[1,[2,{}],{\"k\":[]}]", "930192028081a16b90");
    s_good("{\"z\":1,\"a\":2,\"m\":3}", "83a17a01a16102a16d03"); /* document order */
    s_good("{\"a\":{\"a\":1},\"b\":{\"a\":2}}", "82a16181a16101a16281a16102");
    s_good("{\"\":0}", "81a000");

    double big = 0;
    uint8_t *out;
    size_t outlen;
    char msg[160];
    const char *text = "123456789012345678901234567890.0";
    FC_CHECK(s_parse(text, strlen(text), &out, &outlen, msg, sizeof msg) == 0);
    FC_CHECK(outlen == 9 && out[0] == 0xcb);
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    msgpack_object obj;
    FC_CHECK(msgpack_unpack((const char *)out, outlen, NULL, &zone, &obj) ==
             MSGPACK_UNPACK_SUCCESS);
    big = obj.via.f64;
    FC_CHECK(big == 123456789012345678901234567890.0);
    free(out);
    msgpack_zone_destroy(&zone);

    /* errmsg is optional */
    FC_CHECK(fc_json_to_msgpack("[1]", 3, 3, &out, &outlen, NULL, 0) == 0 && outlen == 2);
    free(out);
    FC_CHECK(fc_json_to_msgpack("[1", 2, 3, &out, &outlen, NULL, 0) == FC_EPROTO && !out);
}

static void s_test_syntax(void)
{
    /* Messages are jansson's, after our line and column: those of the last character read,
       which ends the token the message names ("near"). */
    s_bad("", "line 1, column 1: unexpected token near end of file");
    s_bad(" \n ", "line 2, column 1: unexpected token near end of file");
    s_bad("1 2", "line 1, column 3: end of file expected near '2'");
    s_bad("[] x", "column 4: end of file expected near 'x'");
    s_bad("{}}", "column 3: end of file expected near '}'");
    s_bad("nulll", "column 5: invalid token near 'nulll'");
    s_bad("truex", "column 5");
    s_bad("trUe", "column 4: invalid token near 'trUe'");
    s_bad("nul", "invalid token near 'nul'");
    s_bad("[1,]", "column 4: unexpected token near ']'");
    s_bad("{\"a\":1,}", "column 8: string or '}' expected near '}'");
    s_bad("{\"a\"}", "column 5: ':' expected near '}'");
    s_bad("{1:2}", "column 2: string or '}' expected near '1'");
    s_bad("{'a':2}", "string or '}' expected near '''");
    s_bad("[1 2]", "column 4: ']' expected near '2'");
    s_bad("{\"a\":1 \"b\":2}", "'}' expected near '\"b\"'");
    s_bad("'s'", "invalid token near '''");
    s_bad("01", "column 1: invalid token near '0'"); /* no leading zeros */
    s_bad("-01", "invalid token near '-0'");
    s_bad("1.", "invalid token near '1.'");
    s_bad("1.x", "column 2: invalid token near '1.'");
    s_bad(".5", "invalid token near '.'");
    s_bad("+1", "invalid token near '+'");
    s_bad("1e", "invalid token near '1e'");
    s_bad("1e+", "invalid token near '1e+'");
    s_bad("1ex", "invalid token near '1e'");
    s_bad("-", "invalid token near '-'");
    s_bad("--1", "column 1: invalid token near '-'");
    s_bad("0x10", "column 2: end of file expected near 'x'");
    s_bad("NaN", "invalid token near 'NaN'");
    s_bad("-Infinity", "invalid token near '-'");
    s_bad("[1,2", "']' expected near end of file");
    s_bad("\"abc", "premature end of input");
    s_bad("\xef\xbb\xbf{}", "column 1: invalid token"); /* BOM */
    /* A control byte in a message is shown escaped, never sent raw to a terminal. */
    s_bad("[1]\x01", "column 4: end of file expected near '\\x01'");
    /* NUL bytes: jansson alone would take the first for the end of the input, and accept
       "1\0" and "[1]\0 junk". */
    s_bad_len("[1,\0]", 5, FC_EPROTO, "column 4: unexpected byte 0x00");
    s_bad_len("\"a\0b\"", 5, FC_EPROTO, "column 3: unexpected byte 0x00");
    s_bad_len("1\0", 2, FC_EPROTO, "line 1, column 2: unexpected byte 0x00");
    s_bad_len("[1]\0 junk", 9, FC_EPROTO, "column 4: unexpected byte 0x00");
    s_bad_len("\"\\\0\"", 4, FC_EPROTO, "column 2: invalid escape"); /* a cut escape */
    /* An error before the NUL is reported first. */
    s_bad_len("[x,\0]", 5, FC_EPROTO, "column 2: invalid token near 'x'");
    /* Lines and columns (columns count characters, not bytes). */
    s_bad("{\n  \"a\": 1,\n  \"b\" 2\n}", "line 3, column 7: ':' expected near '2'");
    s_bad("\"\xc3\xa9\" x", "line 1, column 5: end of file expected near 'x'");
    s_bad("[\r\n1,\r\n\t2 3]", "line 3, column 4: ']' expected near '3'");
    s_bad("[\n", "line 2, column 1: ']' expected near end of file");
}

static void s_test_strings(void)
{
    s_bad("\"\\x\"", "column 3: invalid escape near '\"\\x'");
    s_bad("\"\\'\"", "invalid escape near '\"\\''");
    s_bad("\"\\U0041\"", "invalid escape near '\"\\U'");
    s_bad("\"\\u12\"", "column 6: invalid escape");
    s_bad("\"\\u12G4\"", "invalid escape near '\"\\u12G'");
    s_bad("\"\\ud800\"", "column 8: invalid Unicode '\\uD800'");
    s_bad("\"\\ud800\\u0041\"", "invalid Unicode '\\uD800\\u0041'");
    s_bad("\"\\ud800\\n\"", "invalid Unicode '\\uD800'");
    s_bad("\"\\ud800\\ud800\"", "invalid Unicode '\\uD800\\uD800'");
    s_bad("\"x\\udc00\"", "column 9: invalid Unicode '\\uDC00'");
    s_bad("\"\\u0000\"", "column 8: \\u0000 is not allowed in strings");
    s_bad("[\"a\\u0000b\"]", "\\u0000 is not allowed in strings");
    s_bad("{\"\\u0000\":1}", "\\u0000 is not allowed in strings");
    s_bad("\"a\x01\"", "column 2: control character 0x1 near '\"a'");
    s_bad("\"a\tb\"", "control character 0x9");
    s_bad("\"a\nb\"", "unexpected newline");
    /* Invalid UTF-8: bad continuation, overlong forms, surrogates, above U+10FFFF, stray
       continuation bytes, bytes that never occur. */
    const char *bad[] = {"\"\xc3\x28\"",
                         "\"\xc0\xaf\"",
                         "\"\xc1\xbf\"",
                         "\"\xe0\x80\xaf\"",
                         "\"\xe0\x9f\xbf\"",
                         "\"\xed\xa0\x80\"",
                         "\"\xed\xbf\xbf\"",
                         "\"\xf0\x80\x80\x80\"",
                         "\"\xf0\x8f\xbf\xbf\"",
                         "\"\xf4\x90\x80\x80\"",
                         "\"\xf5\x80\x80\x80\"",
                         "\"\x80\"",
                         "\"\xbf\"",
                         "\"\xfe\"",
                         "\"\xff\"",
                         "\"\xe2\x82\"",
                         "\"ok\xe2\x28\xa1\"",
                         "{\"\xff\":1}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        s_bad(bad[i], "invalid UTF-8 (byte 0x");
    /* The column is that of the bad sequence's first byte, which is named. */
    s_bad("\"\xc3\x28\"", "line 1, column 2: invalid UTF-8 (byte 0xc3)");
    s_bad("{\"\xff\":1}", "column 3: invalid UTF-8 (byte 0xff)");
    s_bad("\"ab\xc3\xa9\xe2\x82", "column 5: invalid UTF-8 (byte 0xe2)"); /* cut short */
    s_bad("[1,\n\xfe]", "line 2, column 1: invalid UTF-8 (byte 0xfe)");   /* outside strings */
}

static void s_test_numbers_and_limits(void)
{
    s_bad("1e400", "column 5: real number overflow near '1e400'");
    s_bad("[0, -1.5e309]", "column 12: real number overflow near '-1.5e309'");
    /* Integers are int64: beyond it jansson has no type to hold them, and a float would
       quietly round them, so they are refused; the same digits with a fraction or an
       exponent are a float. */
    s_bad("9223372036854775808", "line 1, column 19: too big integer");
    s_bad("-9223372036854775809", "column 20: too big negative integer");
    s_bad("18446744073709551615", "too big integer"); /* UINT64_MAX too */
    s_bad("[1, 123456789012345678901234567890]", "column 34: too big integer");
    char *num = (char *)malloc(2003);
    memset(num, '9', 2000);
    num[2000] = '\0';
    s_bad(num, "too big integer");
    memcpy(num + 2000, ".5", 3); /* 2000 digits and a fraction: a float, out of range */
    s_bad(num, "real number overflow");
    memset(num, '1', 300); /* 300 digits and a fraction: a float, in range */
    memcpy(num + 300, ".5", 3);
    uint8_t *out;
    size_t outlen;
    char msg[160];
    FC_CHECK(s_parse(num, 302, &out, &outlen, msg, sizeof msg) == 0 && out[0] == 0xcb);
    free(out);
    free(num);

    /* Size: at the limit is fine, one byte over is refused before parsing. */
    FC_CHECK(fc_json_to_msgpack("[1]", 3, 3, &out, &outlen, msg, sizeof msg) == 0);
    free(out);
    FC_CHECK(fc_json_to_msgpack("[1] ", 4, 3, &out, &outlen, msg, sizeof msg) == FC_ETOOBIG);
    FC_CHECK(!out && outlen == 0 && strstr(msg, "over the limit of 3"));

    /* Depth: 32 levels are fine, the 33rd is refused where it opens, however deep the
       document goes on (no recursion past the limit). */
    size_t deep = 100000;
    char *d = (char *)malloc(2 * deep + 1);
    for (size_t i = 0; i < deep; i++) {
        d[i] = '[';
        d[2 * deep - 1 - i] = ']';
    }
    FC_CHECK(s_parse(d + deep - 32, 64, &out, &outlen, msg, sizeof msg) == 0);
    FC_CHECK(outlen == 32 && out[0] == 0x91 && out[31] == 0x90);
    free(out);
    s_bad_len(d + deep - 33, 66, FC_ETOOBIG, "line 1, column 33: nested deeper than 32 levels");
    s_bad_len(d, 2 * deep, FC_ETOOBIG, "column 33: nested deeper");
    free(d);
    char obj[400] = "";
    for (int i = 0; i < 33; i++)
        strcat(obj, "{\"a\":");
    strcat(obj, "1");
    for (int i = 0; i < 33; i++)
        strcat(obj, "}");
    s_bad_len(obj, strlen(obj), FC_ETOOBIG, "column 161: nested deeper");
    FC_CHECK(s_parse(obj + 5, strlen(obj) - 6, &out, &outlen, msg, sizeof msg) == 0);
    free(out);
    /* Brackets inside strings, after an escaped quote too, are no nesting. */
    char str[200] = "[\"\\\"";
    for (int i = 0; i < 40; i++)
        strcat(str, "[{");
    strcat(str, "\"]");
    FC_CHECK(s_parse(str, strlen(str), &out, &outlen, msg, sizeof msg) == 0);
    FC_CHECK(outlen == 84 && out[0] == 0x91 && out[1] == 0xd9 && out[2] == 81 && out[3] == '"');
    free(out);
    /* An error before the 33rd level is reported, not the depth; the depth before a later
       error. */
    char order[200] = "[1 x, ";
    for (int i = 0; i < 40; i++)
        strcat(order, "[");
    s_bad(order, "column 4: ']' expected near 'x'");
    memcpy(order, "[[[[[[", 6);
    strcat(order, "x");
    s_bad_len(order, strlen(order), FC_ETOOBIG, "column 33: nested deeper than 32 levels");

    /* A long array: the count goes in an array32 header, every element follows. */
    size_t n = 100000;
    char *arr = (char *)malloc(2 * n + 2);
    arr[0] = '[';
    for (size_t i = 0; i < n; i++) {
        arr[1 + 2 * i] = '7';
        arr[2 + 2 * i] = i + 1 < n ? ',' : ']';
    }
    FC_CHECK(s_parse(arr, 2 * n + 1, &out, &outlen, msg, sizeof msg) == 0);
    FC_CHECK(outlen == 5 + n && out[0] == 0xdd && out[5 + n - 1] == 7);
    free(out);
    free(arr);
}

static void s_test_duplicates(void)
{
    s_bad("{\"a\":1,\"a\":2}", "line 1, column 10: duplicate object key near '\"a\"'");
    s_bad("{\"a\":1,\"\\u0061\":2}", "duplicate object key"); /* equal once decoded */
    s_bad("{\"\":1,\"\":2}", "duplicate object key near '\"\"'");
    s_bad("{\"a\":1,\"b\":{\"a\":1},\"a\":2}", "column 22: duplicate object key");
    s_bad("[{\"x\":[{\"y\":1,\"y\":2}]}]", "column 17: duplicate object key near '\"y\"'");
    s_bad("{\"\\n\\u00e9\":1,\"\\n\xc3\xa9\":2}", "duplicate object key near '\"\\n\xc3\xa9\"'");

    /* Many keys: every key in document order (jansson keeps insertion order); a late
       duplicate is still found. */
    size_t n = 2000;
    char *doc = (char *)malloc(n * 16 + 64);
    size_t len = 0;
    doc[len++] = '{';
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(doc + len, "%s\"k%zu\":%zu", i ? "," : "", i, i % 100);
    size_t open_len = len;
    doc[len++] = '}';
    uint8_t *out;
    size_t outlen;
    char msg[160];
    FC_CHECK(s_parse(doc, len, &out, &outlen, msg, sizeof msg) == 0);
    FC_CHECK(out[0] == 0xde && out[1] == 0x07 && out[2] == 0xd0); /* map16 of 2000 */
    msgpack_zone zone;
    msgpack_zone_init(&zone, 4096);
    msgpack_object o;
    FC_CHECK(msgpack_unpack((const char *)out, outlen, NULL, &zone, &o) == MSGPACK_UNPACK_SUCCESS);
    FC_CHECK(o.type == MSGPACK_OBJECT_MAP && o.via.map.size == n);
    for (size_t i = 0; i < n; i++) {
        char want[16];
        int wlen = snprintf(want, sizeof want, "k%zu", i);
        const msgpack_object_kv *kv = &o.via.map.ptr[i];
        FC_CHECK(kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == (uint32_t)wlen);
        FC_CHECK(!memcmp(kv->key.via.str.ptr, want, (size_t)wlen));
        FC_CHECK(kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER && kv->val.via.u64 == i % 100);
    }
    msgpack_zone_destroy(&zone);
    free(out);
    len = open_len + (size_t)sprintf(doc + open_len, ",\"k1234\":0}");
    s_bad_len(doc, len, FC_EPROTO, "duplicate object key near '\"k1234\"'");
    free(doc);
}

/* A document using every construct, cut at every length: each prefix is refused where it
   was cut (never accepted, never refused for something earlier). jansson's words for a
   cut vary with what was cut ("premature end of input", "']' expected near end of file",
   "invalid token near 'tru'"); its position does not: the last character, a partial one
   counted, of the prefix. */
static void s_test_truncations(void)
{
    const char *doc = "{\"name\":\"w\\u00e9b \\ud83d\\ude00 \xc3\xa9\xf0\x9f\x98\x80\","
                      "\"n\":[0,-12,3.25e-2,1E+2,true,false,null],"
                      "\"o\":{\"k\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"},\"e\":[],\"x\":{}}";
    size_t len = strlen(doc);
    uint8_t *out;
    size_t outlen;
    char msg[160];
    FC_CHECK(s_parse(doc, len, &out, &outlen, msg, sizeof msg) == 0);
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    msgpack_object o;
    FC_CHECK(msgpack_unpack((const char *)out, outlen, NULL, &zone, &o) == MSGPACK_UNPACK_SUCCESS);
    FC_CHECK(o.type == MSGPACK_OBJECT_MAP && o.via.map.size == 5);
    msgpack_object_kv *kv = o.via.map.ptr;
    const char want_name[] = "w\xc3\xa9"
                             "b \xf0\x9f\x98\x80 \xc3\xa9\xf0\x9f\x98\x80";
    FC_CHECK(kv[0].val.type == MSGPACK_OBJECT_STR);
    FC_CHECK(kv[0].val.via.str.size == sizeof want_name - 1);
    FC_CHECK(!memcmp(kv[0].val.via.str.ptr, want_name, sizeof want_name - 1));
    msgpack_object_array nums = kv[1].val.via.array;
    FC_CHECK(nums.size == 7 && nums.ptr[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER);
    FC_CHECK(nums.ptr[1].type == MSGPACK_OBJECT_NEGATIVE_INTEGER && nums.ptr[1].via.i64 == -12);
    FC_CHECK(nums.ptr[2].type == MSGPACK_OBJECT_FLOAT64 && nums.ptr[2].via.f64 == 3.25e-2);
    FC_CHECK(nums.ptr[3].type == MSGPACK_OBJECT_FLOAT64 && nums.ptr[3].via.f64 == 100.0);
    FC_CHECK(nums.ptr[6].type == MSGPACK_OBJECT_NIL);
    FC_CHECK(kv[4].key.via.str.ptr[0] == 'x' && kv[4].val.type == MSGPACK_OBJECT_MAP);
    msgpack_zone_destroy(&zone);
    free(out);

    for (size_t cut = 0; cut < len; cut++) {
        size_t chars = 0;
        for (size_t i = 0; i < cut; i++)
            chars += ((unsigned char)doc[i] & 0xc0) != 0x80;
        char want[48];
        snprintf(want, sizeof want, "line 1, column %zu: ", chars ? chars : 1);
        msg[0] = '\0';
        int rc = s_parse(doc, cut, &out, &outlen, msg, sizeof msg);
        if (rc != FC_EPROTO || strncmp(msg, want, strlen(want)))
            fprintf(stderr, "cut %zu: %d %s (want %s)\n", cut, rc, msg, want);
        FC_CHECK(rc == FC_EPROTO && !strncmp(msg, want, strlen(want)));
    }
}

void fc_json_parse_test(bool verbose)
{
    printf(" * fc_json_parse: ");
    if (verbose)
        printf("\n");
    s_test_valid();
    s_test_syntax();
    s_test_strings();
    s_test_numbers_and_limits();
    s_test_duplicates();
    s_test_truncations();
    if (verbose)
        printf("   valid, syntax, strings, limits, duplicates, truncations: ok\n");
    printf("OK\n");
}
