/* fc_manifest_diff.c: whether two manifests install the same tree, and their first difference;
   a private part of fc_manifest (its self-test runs from fc_manifest_test). */
#include "fc_hash.h"
#include "fc_manifest.h"
#include "fc_test_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes what differs between two entries of one path into why (nothing if equal). */
typedef void(s_cmp_fn)(const void *a, const void *b, bool times, char *why, size_t size);

/* Walks two sorted arrays of one kind side by side, naming the first difference. elem is the
   entry size; every entry struct starts with its path. */
static void s_walk(const void *a, uint32_t na, const void *b, uint32_t nb, size_t elem,
                   const char *kind, bool times, s_cmp_fn *cmp, char *why, size_t size)
{
    uint32_t i = 0, j = 0;
    while (!*why && (i < na || j < nb)) {
        const void *ea = i < na ? (const char *)a + i * elem : NULL;
        const void *eb = j < nb ? (const char *)b + j * elem : NULL;
        const char *pa = ea ? *(char *const *)ea : NULL, *pb = eb ? *(char *const *)eb : NULL;
        int order = !pa ? 1 : !pb ? -1 : strcmp(pa, pb);
        if (order < 0)
            snprintf(why, size, "%s%s is not in the published release", kind, pa);
        else if (order > 0)
            snprintf(why, size, "%s%s is only in the published release", kind, pb);
        else
            cmp(ea, eb, times, why, size);
        i += order <= 0;
        j += order >= 0;
    }
}

static bool s_same_time(fc_mtime_t a, fc_mtime_t b)
{
    return a.sec == b.sec && a.nsec == b.nsec;
}

static void s_cmp_file(const void *a, const void *b, bool times, char *why, size_t size)
{
    const fc_file_t *x = a, *y = b;
    if (x->size != y->size || !fc_hash_equal(x->hash, y->hash))
        snprintf(why, size, "%s has other content", x->path);
    else if (x->mode != y->mode)
        snprintf(why, size, "%s has mode %03o, published %03o", x->path, x->mode, y->mode);
    else if (times && !s_same_time(x->mtime, y->mtime))
        snprintf(why, size, "%s has another modification time", x->path);
}

static void s_cmp_dir(const void *a, const void *b, bool times, char *why, size_t size)
{
    const fc_dir_t *x = a, *y = b;
    if (x->mode != y->mode)
        snprintf(why, size, "directory %s has mode %03o, published %03o", x->path, x->mode,
                 y->mode);
    else if (times && !s_same_time(x->mtime, y->mtime))
        snprintf(why, size, "directory %s has another modification time", x->path);
}

static void s_cmp_link(const void *a, const void *b, bool times, char *why, size_t size)
{
    const fc_link_t *x = a, *y = b;
    if (strcmp(x->target, y->target) != 0 || x->external != y->external)
        snprintf(why, size, "symlink %s points at %s, published %s", x->path, x->target, y->target);
    else if (times && !s_same_time(x->mtime, y->mtime))
        snprintf(why, size, "symlink %s has another modification time", x->path);
}

bool fc_manifest_same_entries(const fc_manifest_t *a, const fc_manifest_t *b, char *why,
                              size_t size)
{
    *why = '\0';
    /* Format 1 said nothing of directories, links or times: a tree that still has the same
       files is the release it published. */
    bool both2 = a->format >= 2 && b->format >= 2;
    s_walk(a->files, a->nfiles, b->files, b->nfiles, sizeof(fc_file_t), "", both2, s_cmp_file, why,
           size);
    if (both2 && !*why)
        s_walk(a->dirs, a->ndirs, b->dirs, b->ndirs, sizeof(fc_dir_t), "directory ", true,
               s_cmp_dir, why, size);
    if (both2 && !*why)
        s_walk(a->links, a->nlinks, b->links, b->nlinks, sizeof(fc_link_t), "symlink ", true,
               s_cmp_link, why, size);
    return !*why;
}

/* ---------------------------------------------------------------------------------------- */
/* Self-test */

void fc_manifest_diff_test(bool verbose)
{
    printf(" * fc_manifest_diff: ");
    fc_manifest_t *a = fc_manifest_new(), *b = fc_manifest_new();
    for (int k = 0; k < 2; k++) {
        fc_manifest_t *m = k ? b : a;
        fc_manifest_add_dir(m, "d", 0755, (fc_mtime_t){10, 0});
        fc_manifest_add_link(m, "l", "d", (fc_mtime_t){11, 0}, false);
    }
    char why[256];
    FC_CHECK(fc_manifest_same_entries(a, b, why, sizeof why) && !*why);
    free(b->links[0].target);
    b->links[0].target = strdup("e");
    FC_CHECK(!fc_manifest_same_entries(a, b, why, sizeof why));
    FC_CHECK(!strcmp(why, "symlink l points at d, published e"));
    b->format = 1; /* a format-1 release compares by its files alone */
    FC_CHECK(fc_manifest_same_entries(a, b, why, sizeof why));
    b->format = FC_MANIFEST_FORMAT;
    b->dirs[0].mtime.sec = 12;
    free(b->links[0].target);
    b->links[0].target = strdup("d");
    FC_CHECK(!fc_manifest_same_entries(a, b, why, sizeof why));
    FC_CHECK(!strcmp(why, "directory d has another modification time"));
    fc_manifest_add_dir(a, "e", 0700, (fc_mtime_t){0, 0});
    b->dirs[0].mtime.sec = 10;
    FC_CHECK(!fc_manifest_same_entries(a, b, why, sizeof why));
    FC_CHECK(!strcmp(why, "directory e is not in the published release"));
    fc_manifest_destroy(&a);
    fc_manifest_destroy(&b);
    if (verbose)
        printf("(kinds, times, format 1) ");
    printf("OK\n");
}
