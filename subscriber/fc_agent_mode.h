/* fc_agent_mode.h: how the agent engine runs (a daemon, one install, a check), which its
   classes (fc_follower.h, fc_reconf.h) behave by. Not public. */
#ifndef FC_AGENT_MODE_H
#define FC_AGENT_MODE_H

typedef enum { FC_AGENT_DAEMON, FC_AGENT_ONCE, FC_AGENT_CHECK } fc_agent_mode_t;

#endif
