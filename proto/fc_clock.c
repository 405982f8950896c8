/* fc_clock.c: the monotonic clock the programs time deadlines and rates with. */
#include "fc_clock.h"
#include "fc_test_check.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double fc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void fc_clock_test(bool verbose)
{
    (void)verbose;
    printf(" * fc_clock: ");
    /* Monotonic clock moves forward. */
    double t0 = fc_now();
    usleep(2000);
    FC_CHECK(fc_now() > t0);
    printf("OK\n");
}
