/* fc_error.c: name and text of every fc_error_t, from the one table in fc_error.h. */
#include "fc_error.h"
#include "fc_test_check.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define S_NAME(name, value, text) [value] = #name,
static const char *const s_names[FC_ERROR_MAX] = {FC_ERROR_TABLE(S_NAME)};
#undef S_NAME
#define S_TEXT(name, value, text) [value] = text,
static const char *const s_texts[FC_ERROR_MAX] = {FC_ERROR_TABLE(S_TEXT)};
#undef S_TEXT
/* Values are written by hand in the table: one per row, none skipped, so that every slot
   of the arrays above is filled (a repeated value is -Woverride-init, an error). */
#define S_ONE(name, value, text) +1
_Static_assert(0 FC_ERROR_TABLE(S_ONE) == FC_ERROR_MAX, "fc_error.h: a value skipped");
#undef S_ONE

const char *fc_strerror(int code)
{
    return code >= 0 && code < FC_ERROR_MAX ? s_texts[code] : "unknown error";
}

const char *fc_error_name(int code)
{
    return code >= 0 && code < FC_ERROR_MAX ? s_names[code] : "FC_E?";
}

bool fc_error_from_name(const char *name, int *code)
{
    if (!name)
        return false;
    for (int i = 0; i < FC_ERROR_MAX; i++)
        if (strcmp(name, s_names[i]) == 0) {
            *code = i;
            return true;
        }
    return false;
}

int fc_errno_to_error(int err)
{
    if (err == ENOSPC || err == EDQUOT)
        return FC_ENOSPC;
    if (err == ENOMEM)
        return FC_ENOMEM;
    return FC_EIO;
}

void fc_error_test(bool verbose)
{
    printf(" * fc_error: ");
    /* Every code has a name that maps back to it, and a text of its own. */
    for (int i = 0; i < FC_ERROR_MAX; i++) {
        int c = -1;
        FC_CHECK(fc_error_from_name(fc_error_name(i), &c) && c == i);
        FC_CHECK(strncmp(fc_error_name(i), "FC_", 3) == 0);
        FC_CHECK(*fc_strerror(i) && strcmp(fc_strerror(i), fc_strerror(FC_ERROR_MAX)) != 0);
        for (int j = 0; j < i; j++)
            FC_CHECK(strcmp(fc_strerror(i), fc_strerror(j)) != 0);
        if (verbose)
            printf("\n   %2d %-14s %s", i, fc_error_name(i), fc_strerror(i));
    }
    /* The values the wire and other programs rely on. */
    FC_CHECK(FC_OK == 0 && FC_EPROTO == 1 && FC_EPERM == 13 && FC_EUNHEALTHY == 17);
    FC_CHECK(strcmp(fc_error_name(FC_EPERM), "FC_EPERM") == 0 && FC_EDENIED == FC_EPERM);
    FC_CHECK(strcmp(fc_strerror(FC_EPROTO), "malformed message or field") == 0);
    /* Codes outside the table (a newer peer's, or garbage off the wire). */
    const int out[] = {-1, FC_ERROR_MAX, 999, -2147483647 - 1};
    for (size_t i = 0; i < sizeof out / sizeof out[0]; i++) {
        FC_CHECK(strcmp(fc_error_name(out[i]), "FC_E?") == 0);
        FC_CHECK(strcmp(fc_strerror(out[i]), "unknown error") == 0);
    }
    const char *bad[] = {"FC_E?", "", "fc_eperm", "EPERM", "FC_EPERM ", "FC_EDENIED"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int c = 42;
        FC_CHECK(!fc_error_from_name(bad[i], &c) && c == 42);
    }
    FC_CHECK(!fc_error_from_name(NULL, &(int){0}));
    /* errno mapping. */
    FC_CHECK(fc_errno_to_error(ENOSPC) == FC_ENOSPC);
    FC_CHECK(fc_errno_to_error(EDQUOT) == FC_ENOSPC);
    FC_CHECK(fc_errno_to_error(EACCES) == FC_EIO);
    printf("OK\n");
}
