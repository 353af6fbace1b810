/* Who may call the Manager's privileged methods: root and the daemon's own user always;
 * anyone else when polkit grants the method's action (data/org.pipelit.Pipelit1.policy).
 *
 * polkit is asked over the bus without waiting (CheckAuthorization, the subject being the
 * caller's bus name): the method's handler returns at once, and when polkit has answered the
 * call is dispatched again, the answer waiting for it. Where polkit is not on the bus (a
 * minimal system, the tests' private bus) or cannot decide, only root and the daemon's own
 * user may call. */
#pragma once

#include <systemd/sd-bus.h>

typedef struct Manager Manager;

#define BUS_ACTION_MANAGE_USERS "org.pipelit.Pipelit1.manage-users"
#define BUS_ACTION_MANAGE_KEYS "org.pipelit.Pipelit1.manage-keys"
#define BUS_ACTION_MANAGE_WORKFLOWS "org.pipelit.Pipelit1.manage-workflows"
#define BUS_ACTION_MANAGE_SCHEDULES "org.pipelit.Pipelit1.manage-schedules"
#define BUS_ACTION_RUN "org.pipelit.Pipelit1.run"
#define BUS_ACTION_RELOAD "org.pipelit.Pipelit1.reload"
#define BUS_ACTION_MANAGE_WORKERS "org.pipelit.Pipelit1.manage-workers"

/* 1: the sender of message may go on. 0: polkit was asked; the handler returns 1 (handled)
 * and runs again with the answer. Negative errno with error set (AccessDenied,
 * InteractiveAuthorizationRequired) when it may not, or on failure. */
int bus_authorize(Manager *m, sd_bus_message *message, const char *action, sd_bus_error *error);

/* Drops the questions still open and the answers not fetched; at bus_stop(). */
void bus_polkit_queries_free(Manager *m);
