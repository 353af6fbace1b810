/* Waiting for executions to end, on the I/O thread: a sync webhook answers when its
 * execution is over. The broker delivers every live event on the I/O thread (events.h);
 * those that end an execution (execution_completed, execution_failed, execution_cancelled
 * on "execution:<id>") wake the watches registered for that id.
 *
 * Events are a live view and may be lost, and an execution may end before its watch is
 * registered: a caller registers first, then reads the execution's status from the
 * database, and treats a timeout as "look again". Everything here runs on the I/O thread. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "common/macro.h"
#include "common/time-util.h"

typedef struct ExecutionWatch ExecutionWatch;
typedef struct ExecutionWatcher ExecutionWatcher;

typedef enum ExecutionWatchReason {
        EXECUTION_WATCH_ENDED,          /* an event said the execution ended */
        EXECUTION_WATCH_TIMEOUT,        /* the time given ran out first */
        EXECUTION_WATCH_ABORTED,        /* the registry went away (the daemon exits) */
        _EXECUTION_WATCH_REASON_MAX,
        _EXECUTION_WATCH_REASON_INVALID = -22,
} ExecutionWatchReason;

/* Called once per watch; the watch is gone when it is called. event: the envelope of the
 * event that ended it (EXECUTION_WATCH_ENDED; borrowed), else NULL. */
typedef void (*ExecutionWatchFunc)(const char *execution_id, ExecutionWatchReason reason, json_t *event,
                                   void *userdata);

int execution_watch_new(sd_event *event, ExecutionWatch **ret);
/* Ends every watch left with EXECUTION_WATCH_ABORTED. */
ExecutionWatch *execution_watch_free(ExecutionWatch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(ExecutionWatch *, execution_watch_free);

/* Watches execution_id for at most timeout_usec. *ret (may be NULL) gets a handle for
 * execution_watcher_remove(), valid until done is called. */
int execution_watch_add(ExecutionWatch *w, const char *execution_id, usec_t timeout_usec, ExecutionWatchFunc done,
                        void *userdata, ExecutionWatcher **ret);
/* Removes a watch whose done has not been called yet; done is not called. */
void execution_watcher_remove(ExecutionWatcher *watcher);

/* Watches registered and not ended yet. */
size_t execution_watch_count(const ExecutionWatch *w);

/* Looks at one event as the broker delivers it: channel, envelope text and, when the
 * publisher handed it over, the envelope itself (parsed may be NULL). */
void execution_watch_message(ExecutionWatch *w, const char *channel, const char *message, size_t len, json_t *parsed);
