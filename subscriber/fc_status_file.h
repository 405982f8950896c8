/* fc_status_file.h: the agent's status as a JSON file for node-level tools
   (fleetcast-agent --status-file): state, version, download progress, last error; rewritten
   atomically (a reader sees the old file or the new one, never half of one). */
#ifndef FC_STATUS_FILE_H
#define FC_STATUS_FILE_H

#include <fleetcast/fleetcast.h>
#include <stdbool.h>
#include <stdint.h>

/* While only the progress moves, the file is rewritten at most this often (seconds). */
#define FC_STATUS_FILE_PROGRESS_S 1.0

typedef struct fc_status_file_t fc_status_file_t;

/* For path (copied). Writes nothing yet. */
fc_status_file_t *fc_status_file_new(const char *path);
void fc_status_file_destroy(fc_status_file_t **self_p);

/* The agent's status r (its state, message, version, error, config), done of total bytes of
   the release being fetched, at time now (fc_now, seconds): rewrites the file if anything
   but the progress changed, or the progress did and the last write is
   FC_STATUS_FILE_PROGRESS_S old. A state "failed", "rejected" or "rolled-back" becomes the last
   error (with r->error's name, if set), kept until another. 0, or -1 with errno if the write failed
   (the next call tries again). */
int fc_status_file_update(fc_status_file_t *self, const fc_agent_result_t *r, uint64_t done,
                          uint64_t total, double now);

void fc_status_file_test(bool verbose);

#endif
