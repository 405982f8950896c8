/* fc_version.c: the version string of --version (fc_version.h). */
#include "fc_version.h"
#include "fc_test_check.h"
#include "fc_version_gen.h"

#include <stdio.h>
#include <string.h>

const char *fc_version(void)
{
    return FC_VERSION_GIT[0] ? FC_VERSION_PROJECT " (git " FC_VERSION_GIT ")" : FC_VERSION_PROJECT;
}

void fc_version_test(bool verbose)
{
    printf(" * fc_version: ");
    const char *v = fc_version();
    /* Starts with the project's x.y.z, whatever follows. */
    int major = -1, minor = -1, patch = -1;
    FC_CHECK(sscanf(v, "%d.%d.%d", &major, &minor, &patch) == 3 && major >= 0 && minor >= 0);
    FC_CHECK(strncmp(v, FC_VERSION_PROJECT, strlen(FC_VERSION_PROJECT)) == 0);
    if (verbose)
        printf("(%s) ", v);
    printf("OK\n");
}
