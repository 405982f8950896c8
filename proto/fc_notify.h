/* fc_notify.h: the daemons' word to systemd (Type=notify units) through libsystemd's
   sd_notify: READY once serving, RELOADING and READY around a SIGHUP, STOPPING on the way
   out, WATCHDOG while alive. Without $NOTIFY_SOCKET (not started by systemd) every call
   does nothing; built without libsystemd, likewise. */
#ifndef FC_NOTIFY_H
#define FC_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/* "READY=1" with a STATUS= line (status may be NULL). */
void fc_notify_ready(const char *status);
void fc_notify_reloading(void);
void fc_notify_stopping(void);
/* The watchdog interval systemd asks for (WatchdogSec=), in ms; 0: none. */
uint64_t fc_notify_watchdog_ms(void);
/* "WATCHDOG=1": call at least every fc_notify_watchdog_ms() / 2. */
void fc_notify_watchdog(void);
/* Whether this build can speak to systemd at all. */
bool fc_notify_supported(void);

#endif
