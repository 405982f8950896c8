/* fc_fuzz_replay.c: runs a fuzz target without libFuzzer over every file of its corpus, so
   ctest (and the sanitizer build) replays each checked-in input. */
#include "fc_file.h"
#include "fc_fuzz.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static int s_replay_file(const char *path)
{
    size_t len = 0;
    uint8_t *buf = fc_read_file(path, 64u * 1024 * 1024, &len);
    if (!buf) {
        fprintf(stderr, "fuzz replay: cannot read %s\n", path);
        return -1;
    }
    /* An exact-size copy, so the address sanitizer sees a read one byte past the input. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "fuzz replay: no such file or directory: %s\n", argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            failed += s_replay_file(argv[i]) != 0;
            files++;
            continue;
        }
        DIR *dir = opendir(argv[i]);
        if (!dir)
            return 1;
        struct dirent *de;
        while ((de = readdir(dir))) {
            if (de->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], de->d_name);
            failed += s_replay_file(path) != 0;
            files++;
        }
        closedir(dir);
    }
    printf("fuzz replay: %d inputs replayed, %d unreadable\n", files, failed);
    /* An empty corpus proves nothing: that is a broken checkout, not a pass. */
    return files > 0 && failed == 0 ? 0 : 1;
}
