/* fc_install.h: the agent's install tree: staging a release chunk by chunk, reusing local
   chunks, and the atomic swap with hooks, health check and rollback. */
#ifndef FC_INSTALL_H
#define FC_INSTALL_H

#include "fc_key.h"
#include "fc_manifest.h"
#include "fc_objects.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Layout:
     <install>/releases/<version>@<serial>/  complete trees (current and previous are kept);
                                       '@' is never in a version, so names cannot collide
     <install>/releases/.staging-<serial>/  a release being downloaded
     <install>/current -> releases/<version>@<serial>   swapped atomically by rename
     <state>/installed.manifest        signed manifest of the installed release
     <state>/installed.release         "<serial> <dir name>": where it is installed
                                       (earlier agents named trees <version> or <version>+<serial>:
                                       such a tree is found once and recorded here)
     <state>/previous.manifest         ... of the previous one (for rollback)
     <state>/failed                    serials that failed their health check, one per line
     <state>/download-<serial>.manifest / .journal   the release being downloaded
   The install dir and releases/ are opened once, O_NOFOLLOW, and everything below is reached
   relative to those descriptors, never following a symlink (a local writer cannot redirect
   a write or a removal). */

typedef struct fc_install_t fc_install_t;
typedef struct fc_stage_t fc_stage_t;

typedef struct {
    const char *changing; /* may refuse: non-zero exit postpones the install */
    const char *changed;  /* after the swap: restart the application */
    const char *health;   /* after changed: non-zero exit swaps back */
    double timeout;       /* seconds each hook may run; one still running then is stopped
                             with its process group (fc_hook.h) and counts as a non-zero
                             exit. 0: no limit */
} fc_hooks_t;

/* Opens the install and state dirs (creating them, 0755/0700), loads the installed release
   (its manifest re-verified against trust; a manifest that no longer verifies counts as
   "nothing installed"). Refuses (FC_EPATH, "otherwise unsafe") an install dir or releases/
   that is a symlink, is owned by a user other than root and this process's euid, or is
   writable by group or others: whoever can write there could redirect what the agent
   installs or removes. NULL with *err on failure, and msg (may be NULL) saying what is wrong and
   what to do. trust is borrowed and must outlive it. */
fc_install_t *fc_install_new(const char *install_dir, const char *state_dir,
                             const fc_trust_t *trust, int *err, char *msg, size_t msgsize);
void fc_install_destroy(fc_install_t **self_p);
/* Fleet simulators only (many agents on one disk): every chunk is still fetched and verified
   against its hash and the release is committed as usual, but no chunk is written, so the
   installed files have the right sizes and read as zeros (sparse, taking no space). A real
   agent must never set it: what it installs is not the release. */
/* The format-3 manifest objects held in the state dir (borrowed, valid until destroy). */
fc_objects_t *fc_install_objects(fc_install_t *self);
/* The installed release's signed top level (borrowed, *len set) while its format-3 objects
   are missing or damaged on disk, so that it reads as nothing installed until they are
   fetched again; NULL otherwise. */
const uint8_t *fc_install_unread(const fc_install_t *self, size_t *len);
/* Reads the unread installed release again from the objects held: true if it is installed
   now (whole and trusted). */
bool fc_install_reread(fc_install_t *self);
/* Its objects cannot be had: it counts as nothing installed from now on. */
void fc_install_forget_unread(fc_install_t *self);
void fc_install_set_discard(fc_install_t *self, bool discard);
/* Installed release: serial 0 and version "" if none. The manifest is borrowed (NULL if none). */
uint64_t fc_install_serial(const fc_install_t *self);
const char *fc_install_version(const fc_install_t *self);
const fc_manifest_t *fc_install_manifest(const fc_install_t *self);
/* true if this serial failed its health check here before (not retried automatically). */
bool fc_install_failed(const fc_install_t *self, uint64_t serial);
/* Checks a parsed release against what is installed: FC_ESERIAL if its serial is not
   higher than the installed one, else 0. */
int fc_install_check(const fc_install_t *self, const fc_manifest_t *m);

/* Starts or resumes staging a release: saves the signed manifest in the state dir, creates
   the staging tree (files sized, parents made, nothing followed through symlinks), opens the
   journal and re-verifies every journaled chunk by reading and hashing it (a chunk that no
   longer verifies is fetched again). m is borrowed and must outlive the stage. Returns NULL
   with *err (FC_ENOSPC, FC_EIO, ...). */
fc_stage_t *fc_stage_open(fc_install_t *inst, const uint8_t *signed_manifest, size_t len,
                          const fc_manifest_t *m, int *err);
/* Closes the stage, keeping what is on disk for a later resume. Safe on NULL. */
void fc_stage_destroy(fc_stage_t **self_p);
/* Chunks are numbered across all files in manifest order. */
uint64_t fc_stage_nchunks(const fc_stage_t *self);
bool fc_stage_have(const fc_stage_t *self, uint64_t index);
/* True if a chunk before index has the same content and is missing too: fetching that one
   fills this one (every chunk with a hash is written from one copy), so a chunk shared by
   two files, or twice in one, is fetched once. */
bool fc_stage_dup_pending(const fc_stage_t *self, uint64_t index);
/* The chunk and (optionally) the file it belongs to; NULL if index is out of range. */
const fc_chunk_t *fc_stage_chunk(const fc_stage_t *self, uint64_t index, const fc_file_t **file);
/* Copies every missing chunk whose content exists in the installed release (found by chunk
   hash, re-verified after reading) into the stage. Adds the bytes copied to *reused. */
int fc_stage_reuse_local(fc_stage_t *self, uint64_t *reused);
/* Verifies data against chunk index's hash (FC_EHASH if not), writes it at its offset, and
   journals it; also fills any other missing chunk with the same hash. 0 or fc_error_t
   (FC_ENOSPC when the disk is full: nothing is marked, retry later). */
int fc_stage_write(fc_stage_t *self, uint64_t index, const void *data, size_t len);
uint64_t fc_stage_bytes_have(const fc_stage_t *self);
uint64_t fc_stage_bytes_total(const fc_stage_t *self);
bool fc_stage_complete(const fc_stage_t *self);

/* Installs a complete stage: checks every chunk is verified and every file hash matches its
   chunks, sets modes and times, fsyncs (one syncfs for a release of many entries), runs
   hooks->changing (non-zero: FC_EREFUSED, stage kept), moves the tree to
   releases/<version>@<serial>, swaps current atomically, runs hooks->changed and
   hooks->health (non-zero: swaps back, records the serial as failed, FC_EUNHEALTHY), then
   commits the state, removes the journal and releases older than the previous one. A hook
   still running after hooks->timeout seconds is stopped and fails as a non-zero exit would
   (msg says "timed out after N s"); the changed hook run again on the old release after a
   swap back has the same limit.
   Consumes *stage_p in every case. msg gets a human-readable outcome. Hooks run with
   /bin/sh -c in the install dir with FLEETCAST_VERSION, FLEETCAST_PREVIOUS_VERSION,
   FLEETCAST_RELEASE_DIR, FLEETCAST_INSTALL_DIR and FLEETCAST_CHANNEL set. */
int fc_install_commit(fc_install_t *self, fc_stage_t **stage_p, const fc_hooks_t *hooks, char *msg,
                      size_t msgsize);

void fc_install_test(bool verbose);

#endif
