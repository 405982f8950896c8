/* fc_presence.h: when an agent counts as online, for every program that shows the fleet
   (the broker's metrics and page, fleetcast status). */
#ifndef FC_PRESENCE_H
#define FC_PRESENCE_H

/* Agents REPORT at least every 10 s (every 1 s while downloading): one not heard from (HELLO
   or REPORT) for this many seconds has missed three and counts as offline. */
#define FC_PRESENCE_ONLINE_S 30

#endif
