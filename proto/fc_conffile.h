/* fc_conffile.h: the programs' config files (/etc/fleetcast/broker.conf, agent.conf, the
   CLI's cli.conf), read with CZMQ's zconfig (ZPL, "name = value" lines): every long option
   can be set there, and the command line wins, because the file's settings become options
   placed before the command line's and parsed by the program's own getopt_long loop (so
   its strict option parser, fc_optval, checks a file's values exactly as a flag's). */
#ifndef FC_CONFFILE_H
#define FC_CONFFILE_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct fc_conffile_t fc_conffile_t;

/* The path given with --config FILE or --config=FILE in argv, NULL if none (it does not
   change argv: the program's option table takes "config" and ignores it). */
const char *fc_conffile_arg(int argc, char *const *argv);

/* Reads path (ZPL). Every top-level name must be a long option of opts other than config,
   help and version; the value of an option without an argument is true or false (yes/no,
   1/0). NULL with one line in msg naming the file, the line and the key: unreadable, not
   ZPL, a section, an unknown key (with the closest), a bad true/false. */
fc_conffile_t *fc_conffile_load(const char *path, const struct option *opts, char *msg,
                                size_t msgsize);
void fc_conffile_destroy(fc_conffile_t **self_p);

/* A new argv (NULL-terminated, owned by self, valid while it lives): argv[0], the file's
   settings as "--name=value" (a false flag left out), then argv[1..]. *argc_out its
   length. self NULL: argv itself. NULL without memory. */
char **fc_conffile_argv(fc_conffile_t *self, int argc, char **argv, int *argc_out);

/* Where argument argi of that argv came from, for an error message: "FILE line N, key K: "
   for a setting of the file, "" for the command line's. Returns buf. */
const char *fc_conffile_where(const fc_conffile_t *self, int argi, char *buf, size_t size);

/* The file's value for name (borrowed; "true" for a flag set), NULL if it does not set it. */
const char *fc_conffile_value(const fc_conffile_t *self, const char *name);
/* The file's path (borrowed). */
const char *fc_conffile_path(const fc_conffile_t *self);
/* The names whose settings differ between old and new (set in one only, or to another
   value), ", "-separated into buf (cut at size); returns how many. Either may be NULL. */
int fc_conffile_changed(const fc_conffile_t *old, const fc_conffile_t *new_conf, char *buf,
                        size_t size);

/* SIGHUP: reads self's file again (opts as at start) and logs (fc_log) what changed, or
   why it cannot be read (the running settings stay). The programs read their settings at
   start, so changes apply at the next restart, except log-level and log-format: when the
   file sets them and the command line does not, *level and *format get them (they are
   left alone otherwise). Nothing when self is NULL (no file). */
void fc_conffile_reread(const fc_conffile_t *self, const struct option *opts, int *level,
                        int *format);

void fc_conffile_test(bool verbose);

#endif
