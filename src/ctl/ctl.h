/* What pipelitctl's files share: the options, the connection, and calls to the Manager. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "common/macro.h"

#define CTL_BUS_NAME "org.pipelit.Pipelit1"
#define CTL_MANAGER_PATH "/org/pipelit/Pipelit1"
#define CTL_MANAGER_INTERFACE "org.pipelit.Pipelit1.Manager"

/* A key's lifetime at most, in days (the daemon's limit). */
#define CTL_KEY_DAYS_MAX 36500

/* Exit codes (pipelitctl --help lists them). */
enum {
        CTL_EXIT_SUCCESS = 0,
        CTL_EXIT_FAILURE = 1,   /* the daemon refused, or the followed run failed or was cancelled */
        CTL_EXIT_USAGE = 2,     /* a bad command line */
        CTL_EXIT_NO_DAEMON = 3, /* no bus, or no daemon on it */
};

typedef struct CtlOptions {
        bool json;
        bool follow;
        const char *payload;    /* run: the request's payload object */
        const char *text;       /* run: the request's text */
        const char *workflow;   /* executions: only this workflow's */
        const char *status;     /* executions: only this status */
        int64_t limit;          /* executions: 0: the daemon's default */
        const char *role;       /* user create: "admin" or "normal" (NULL: the daemon's default) */
        uint32_t expires_in_days; /* key create: 0: never */
} CtlOptions;

/* Prints "pipelitctl: " and the message, and the hint to --help; returns CTL_EXIT_USAGE. */
int ctl_usage_error(const char *format, ...) _printf_(1, 2);

/* Calls member with "s"-typed arguments (n of them) and reads one string answer into
 * *ret_text (may be NULL for methods answering nothing). On failure prints the daemon's
 * message and returns the exit code. */
int ctl_call(sd_bus *bus, const char *member, char **ret_text, size_t n, ...);

/* ctl_call() whose answer is JSON: parsed into *ret. */
int ctl_call_json(sd_bus *bus, const char *member, json_t **ret, size_t n, ...);

/* Calls member with arguments of the D-Bus types given (as sd_bus_message_append() takes
 * them) and keeps the answer in *ret_reply (may be NULL). On failure prints the daemon's
 * message and returns the exit code. */
int ctl_call_typed(sd_bus *bus, const char *member, sd_bus_message **ret_reply, const char *types, ...);

/* The exit code for an sd-bus failure, after printing it. */
int ctl_fail(int r, const sd_bus_error *error, const char *what);

/* run SLUG, following the run with --follow (ctl-run.c). */
int ctl_run(sd_bus *bus, const char *slug, const CtlOptions *o);

/* user create|passwd|list, key create|list|revoke, reload (ctl-admin.c): args are the
 * command's n_args words after its name. */
int ctl_user(sd_bus *bus, char **args, int n_args, const CtlOptions *o);
int ctl_key(sd_bus *bus, char **args, int n_args, const CtlOptions *o);
int ctl_reload(sd_bus *bus, const CtlOptions *o);

/* schedules, pause ID and resume-schedule ID (ctl-schedules.c). */
int ctl_schedules(sd_bus *bus, const CtlOptions *o);
int ctl_schedule_pause(sd_bus *bus, const char *id, bool pausing);

/* A polkit agent (pkttyagent) on the terminal until ctl_agent_close(), so that polkit can
 * ask for a password there (ctl-agent.c). Does nothing without pkttyagent. */
void ctl_agent_open(void);
void ctl_agent_close(void);

/* worker list|start SLUG|stop SLUG (ctl-worker.c). */
int ctl_worker(sd_bus *bus, char **args, int n_args, const CtlOptions *o);
