/* fc_notify.c: sd_notify for Type=notify units (fc_notify.h). */
#include "fc_notify.h"

#include <stdio.h>
#ifdef FC_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

bool fc_notify_supported(void)
{
#ifdef FC_HAVE_SYSTEMD
    return true;
#else
    return false;
#endif
}

#ifdef FC_HAVE_SYSTEMD
void fc_notify_ready(const char *status)
{
    if (status)
        sd_notifyf(0, "READY=1\nSTATUS=%s", status);
    else
        sd_notify(0, "READY=1");
}

void fc_notify_reloading(void)
{
    sd_notify(0, "RELOADING=1");
}

void fc_notify_stopping(void)
{
    sd_notify(0, "STOPPING=1");
}

uint64_t fc_notify_watchdog_ms(void)
{
    uint64_t usec = 0;
    return sd_watchdog_enabled(0, &usec) > 0 ? usec / 1000 : 0;
}

void fc_notify_watchdog(void)
{
    sd_notify(0, "WATCHDOG=1");
}
#else
void fc_notify_ready(const char *status)
{
    (void)status;
}

void fc_notify_reloading(void)
{
}

void fc_notify_stopping(void)
{
}

uint64_t fc_notify_watchdog_ms(void)
{
    return 0;
}

void fc_notify_watchdog(void)
{
}
#endif
