/* fc_clock.h: the monotonic clock the programs time deadlines and rates with. */
#ifndef FC_CLOCK_H
#define FC_CLOCK_H

#include <stdbool.h>

/* Seconds since an arbitrary point, monotonic, as double. */
double fc_now(void);

void fc_clock_test(bool verbose);

#endif
