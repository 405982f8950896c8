/* fc_status_file_test.c: fc_status_file's self-test: atomic rewrites on a state change,
   progress at most once per interval, the last error kept, a failed write tried again. */
#include "fc_error.h"
#include "fc_file.h"
#include "fc_status_file.h"
#include "fc_test_check.h"

#include <czmq.h>
#include <sys/stat.h>

static char *s_read(const char *path)
{
    size_t len = 0;
    char *text = (char *)fc_read_file(path, 1 << 20, &len);
    if (text) {
        char *s = zmalloc(len + 1);
        memcpy(s, text, len);
        free(text);
        return s;
    }
    return NULL;
}

static ino_t s_inode(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_ino : 0;
}

void fc_status_file_test(bool verbose)
{
    (void)verbose;
    printf(" * fc_status_file: ");
    char dir[] = "/tmp/fc_status_file_test.XXXXXX";
    FC_CHECK(mkdtemp(dir));
    char path[300];
    snprintf(path, sizeof path, "%s/status.json", dir);
    fc_status_file_t *sf = fc_status_file_new(path);
    fc_agent_result_t r = {.id = "a1", .channel = "stable", .version = "1.0", .state = "idle"};
    FC_CHECK(fc_status_file_update(sf, &r, 0, 0, 100.0) == 0);
    char *text = s_read(path);
    FC_CHECK(text && strstr(text, "\"state\":\"idle\"") && strstr(text, "\"version\":\"1.0\""));
    FC_CHECK(strstr(text, "\"last_error\":null"));
    free(text);

    /* Downloading: the state change is written at once; progress alone waits a second. */
    snprintf(r.state, sizeof r.state, "downloading");
    FC_CHECK(fc_status_file_update(sf, &r, 10, 100, 100.1) == 0);
    text = s_read(path);
    FC_CHECK(strstr(text, "\"state\":\"downloading\"") && strstr(text, "\"done\":10"));
    free(text);
    ino_t before = s_inode(path);
    FC_CHECK(fc_status_file_update(sf, &r, 20, 100, 100.5) == 0);
    FC_CHECK(s_inode(path) == before); /* not rewritten */
    FC_CHECK(fc_status_file_update(sf, &r, 50, 100, 101.2) == 0);
    FC_CHECK(s_inode(path) != before); /* rewritten by rename: a new file */
    text = s_read(path);
    FC_CHECK(strstr(text, "\"done\":50,\"total\":100,\"fraction\":0.5"));
    free(text);

    /* A failure becomes the last error, and stays after the agent moves on. */
    snprintf(r.state, sizeof r.state, "failed");
    snprintf(r.message, sizeof r.message, "chunk 3: hash mismatch");
    r.error = FC_EHASH;
    FC_CHECK(fc_status_file_update(sf, &r, 50, 100, 101.3) == 0);
    snprintf(r.state, sizeof r.state, "up-to-date");
    snprintf(r.message, sizeof r.message, "all good");
    snprintf(r.version, sizeof r.version, "2.0");
    /* r.error stays set, as a daemon's does after it recovers: no new error for that. */
    FC_CHECK(fc_status_file_update(sf, &r, 0, 0, 101.4) == 0);
    text = s_read(path);
    FC_CHECK(strstr(text, "\"state\":\"up-to-date\"") && strstr(text, "\"version\":\"2.0\""));
    FC_CHECK(strstr(text, "\"last_error\":{\"state\":\"failed\",\"error\":\"FC_EHASH\","
                          "\"message\":\"chunk 3: hash mismatch\""));
    free(text);

    /* A write that fails (the directory is gone) is tried again by the next call. */
    FC_CHECK(fc_remove_tree(dir) == 0);
    snprintf(r.state, sizeof r.state, "checking");
    FC_CHECK(fc_status_file_update(sf, &r, 0, 0, 102.0) == -1);
    FC_CHECK(fc_mkdirs(dir, 0700) == 0);
    FC_CHECK(fc_status_file_update(sf, &r, 0, 0, 102.1) == 0);
    text = s_read(path);
    FC_CHECK(text && strstr(text, "\"state\":\"checking\""));
    free(text);
    fc_status_file_destroy(&sf);
    FC_CHECK(!sf);
    FC_CHECK(fc_remove_tree(dir) == 0);
    printf("OK\n");
}
