/* fc_brokers.h: a list of broker endpoints ("tcp://a:7400,tcp://b:7400") that agents and the
   CLI take in --broker and their config files, to move to the next broker when theirs is lost. */
#ifndef FC_BROKERS_H
#define FC_BROKERS_H

#include <stdbool.h>
#include <stddef.h>

/* At most this many brokers in one list. */
#define FC_MAX_BROKERS 16

/* Entries of a comma-separated list (1 for a single endpoint, 0 for NULL or ""). */
size_t fc_brokers_count(const char *list);
/* Copies entry i (from 0) of list into buf. Returns 0, or FC_EINVAL when there is no entry
   i or it does not fit in size. */
int fc_brokers_nth(const char *list, size_t i, char *buf, size_t size);
/* Checks a list as option name: 1 to FC_MAX_BROKERS entries, none empty, each an endpoint
   fc_optval_endpoint admits with flags. Returns 0, or FC_EINVAL with one line in msg. */
int fc_brokers_check(const char *name, const char *list, int flags, char *msg, size_t msgsize);

void fc_brokers_test(bool verbose);

#endif
